// Card capture with Stripe.js: the card goes from this page to Stripe, never to our server.
// Only the SetupIntent id (and through it the PaymentMethod id) comes back to us.
(function () {
  function showError(form, message) {
    var box = document.getElementById("card-errors");
    if (!box) {
      box = document.createElement("p");
      box.id = "card-errors";
      box.className = "flash flash-error";
      box.setAttribute("role", "alert");
      form.insertBefore(box, form.firstChild);
    }
    box.textContent = message;
  }

  function setupCapture(form) {
    var stripe = Stripe(form.getAttribute("data-stripe-key"));
    var card = stripe.elements().create("card");
    card.mount("#card-element");
    var busy = false;
    form.addEventListener("submit", function (event) {
      if (form.elements.setup_intent.value) { return; }
      event.preventDefault();
      if (busy) { return; }
      busy = true;
      var button = document.getElementById("capture-submit");
      button.disabled = true;
      stripe.confirmCardSetup(form.getAttribute("data-client-secret"), {
        payment_method: {card: card}
      }).then(function (result) {
        if (result.error) {
          showError(form, result.error.message || form.getAttribute("data-card-refused"));
          busy = false;
          button.disabled = false;
          return;
        }
        form.elements.setup_intent.value = result.setupIntent.id;
        form.submit();
      });
    });
  }

  function authenticate(form) {
    var stripe = Stripe(form.getAttribute("data-stripe-key"));
    stripe.confirmCardPayment(form.getAttribute("data-client-secret")).then(function () {
      form.submit();  // the server asks Stripe how it ended; never trusts this page
    });
  }

  var capture = document.getElementById("capture-form");
  if (capture && capture.hasAttribute("data-stripe-key")) { setupCapture(capture); }
  var auth = document.getElementById("authenticate-form");
  if (auth) { authenticate(auth); }
})();

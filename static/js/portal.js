// Keep the tab bar in step with the URL after htmx swaps, and close the phone menu.
(function () {
  function markActiveTab() {
    var path = window.location.pathname;
    document.querySelectorAll(".tabs a[data-tab]").forEach(function (link) {
      var href = link.getAttribute("href");
      var active = path === href || path.indexOf(href + "/") === 0;
      if (active) { link.setAttribute("aria-current", "page"); } else { link.removeAttribute("aria-current"); }
    });
    var toggle = document.getElementById("menu-toggle");
    if (toggle) { toggle.checked = false; }
  }
  document.addEventListener("htmx:afterSettle", markActiveTab);
  document.addEventListener("htmx:historyRestore", markActiveTab);
  // A confirmation on destructive or money-moving buttons, without inline script (CSP).
  document.addEventListener("htmx:confirm", function (event) {
    var message = event.detail.elt.getAttribute("data-confirm");
    if (!message) { return; }
    event.preventDefault();
    if (window.confirm(message)) { event.detail.issueRequest(true); }
  });
  // htmx swaps nothing on an error status: tell the person instead of doing nothing.
  function notify(text) {
    var box = document.getElementById("toast");
    if (!box) {
      box = document.createElement("div");
      box.id = "toast";
      box.className = "toast";
      box.setAttribute("role", "alert");
      document.body.appendChild(box);
    }
    box.textContent = text;
    box.classList.add("show");
    window.clearTimeout(notify.timer);
    notify.timer = window.setTimeout(function () { box.classList.remove("show"); }, 6000);
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    if (status === 404) { notify("That page no longer exists."); }
    else if (status === 429) { notify("Too many attempts. Please wait a minute and try again."); }
    else if (status === 400 || status === 403) { notify("Your session changed. Please reload the page and try again."); }
    else { notify("Something went wrong on our side. Please try again."); }
  });
  document.addEventListener("htmx:sendError", function () {
    notify("You seem to be offline. Check your connection and try again.");
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute("data-confirm");
    if (message && !form.hasAttribute("hx-post") && !window.confirm(message)) { event.preventDefault(); return; }
    // Confirmed here: the server's own confirmation page (for no JavaScript) is not needed.
    var flag = message && form.querySelector("input[name=confirmed]");
    if (flag) { flag.value = "1"; }
  });
})();

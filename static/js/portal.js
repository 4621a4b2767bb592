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
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute("data-confirm");
    if (message && !form.hasAttribute("hx-post") && !window.confirm(message)) { event.preventDefault(); }
  });
})();

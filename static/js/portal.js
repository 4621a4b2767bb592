// Keep the tab bar in step with the URL after htmx swaps, and run the phone menu.
(function () {
  // Without this class the CSS shows the navigation expanded, so a phone without
  // JavaScript still reaches every link.
  document.documentElement.classList.remove("no-js");
  document.documentElement.classList.add("js");
  function setMenu(button, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    var nav = document.getElementById(button.getAttribute("aria-controls"));
    if (nav) { nav.classList.toggle("open", open); }
  }
  function closeMenus() {
    document.querySelectorAll(".menu-button[aria-expanded=true]").forEach(function (b) { setMenu(b, false); });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".menu-button");
    if (button) { setMenu(button, button.getAttribute("aria-expanded") !== "true"); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.querySelector(".menu-button[aria-expanded=true]");
    if (open) { setMenu(open, false); open.focus(); }
  });
  function markActiveTab() {
    var path = window.location.pathname;
    document.querySelectorAll(".tabs a[data-tab]").forEach(function (link) {
      var href = link.getAttribute("href");
      var active = path === href || path.indexOf(href + "/") === 0;
      if (active) { link.setAttribute("aria-current", "page"); } else { link.removeAttribute("aria-current"); }
    });
    // The back office's links carry no data-tab: the longest matching href is current.
    document.querySelectorAll("nav[data-mark-current]").forEach(function (nav) {
      var best = null;
      nav.querySelectorAll("a[href]").forEach(function (link) {
        var href = link.getAttribute("href").replace(/\/$/, "");
        if ((path === href || path.indexOf(href + "/") === 0) &&
            (!best || href.length > best.getAttribute("href").length)) { best = link; }
        link.removeAttribute("aria-current");
      });
      if (best) { best.setAttribute("aria-current", "page"); }
    });
    closeMenus();
  }
  document.addEventListener("htmx:afterSettle", markActiveTab);
  // A page change by htmx (a swap of <main>, or of the body by hx-boost) starts at the new
  // page's top with the focus on its heading, so a screen reader announces it; a form sent
  // back with errors focuses its first invalid field instead. A history restore carries no
  // target: the browser's scroll position stays.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || (target.id !== "main" && target !== document.body)) { return; }
    var main = document.getElementById("main") || target;
    var invalid = main.querySelector("[aria-invalid=true]");
    // htmx already gave the focus back to a field with the same id (a filter that swapped
    // its page): the person stays where they were.
    var active = document.activeElement;
    if (!invalid && active && active !== document.body && main.contains(active)) { return; }
    var focus = invalid || main.querySelector("h1");
    if (!invalid) { window.scrollTo(0, 0); }
    if (!focus) { return; }
    if (!invalid && !focus.hasAttribute("tabindex")) { focus.setAttribute("tabindex", "-1"); }
    focus.focus({ preventScroll: !invalid });
  });
  document.addEventListener("DOMContentLoaded", markActiveTab);
  document.addEventListener("htmx:historyRestore", markActiveTab);
  // A confirmation on destructive or money-moving buttons, without inline script (CSP).
  document.addEventListener("htmx:confirm", function (event) {
    var message = event.detail.elt.getAttribute("data-confirm");
    if (!message) { return; }
    event.preventDefault();
    if (window.confirm(message)) { event.detail.issueRequest(true); }
  });
  // htmx swaps nothing on an error status: tell the person instead of doing nothing, in
  // their language (the layout carries the translated words as data-msg-* on <body>).
  function notify(name) {
    var text = document.body.getAttribute("data-msg-" + name) || "";
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
    if (status === 404) { notify("gone"); }
    else if (status === 429) { notify("busy"); }
    else if (status === 400 || status === 403) { notify("session"); }
    else { notify("failed"); }
  });
  document.addEventListener("htmx:sendError", function () { notify("offline"); });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute("data-confirm");
    if (message && !form.hasAttribute("hx-post") && !window.confirm(message)) { event.preventDefault(); return; }
    // Confirmed here: the server's own confirmation page (for no JavaScript) is not needed.
    var flag = message && form.querySelector("input[name=confirmed]");
    if (flag) { flag.value = "1"; }
  });
})();

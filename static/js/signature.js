// Signature pads: draw on a canvas, keep the PNG data: URL in the form's hidden input.
// A file of its own because the CSP forbids inline script; runs on load and on every htmx swap.
(function () {
  function setUp(pad) {
    if (pad.getAttribute("data-ready")) { return; }
    pad.setAttribute("data-ready", "1");
    var canvas = pad.querySelector("canvas");
    var input = pad.querySelector("input[name=signature]");
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var last = null;
    // Match the bitmap to the displayed size, so strokes land under the finger.
    // At most 2x: sharper than that only makes the stored PNG bigger.
    var ratio = Math.min(window.devicePixelRatio || 1, 2);
    var box = canvas.getBoundingClientRect();
    if (box.width > 0) {
      canvas.width = Math.round(box.width * ratio);
      canvas.height = Math.round(box.height * ratio);
    }
    function reset() {
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.scale(canvas.width / (box.width || canvas.width), canvas.height / (box.height || canvas.height));
      ctx.lineWidth = 2.2;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "#1b1f24";
      input.value = "";
    }
    function point(event) {
      var r = canvas.getBoundingClientRect();
      return { x: event.clientX - r.left, y: event.clientY - r.top };
    }
    canvas.addEventListener("pointerdown", function (event) {
      drawing = true;
      last = point(event);
      canvas.setPointerCapture(event.pointerId);
      ctx.beginPath();
      ctx.arc(last.x, last.y, 1, 0, Math.PI * 2);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fill();
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      var p = point(event);
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      last = p;
      event.preventDefault();
    });
    function finish() {
      if (!drawing) { return; }
      drawing = false;
      input.value = canvas.toDataURL("image/png");
      pad.classList.remove("invalid");
    }
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);
    var clear = pad.querySelector("[data-signature-clear]");
    if (clear) { clear.addEventListener("click", reset); }
    reset();
  }
  function scan(root) {
    (root || document).querySelectorAll("[data-signature-pad]").forEach(setUp);
  }
  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:load", function (event) { scan(event.target); });
  // A required signature: stop the submit early with a clear message instead of a round trip.
  document.addEventListener("submit", function (event) {
    var pad = event.target.querySelector && event.target.querySelector("[data-signature-pad]");
    if (!pad) { return; }
    var input = pad.querySelector("input[name=signature]");
    if (!input.value) {
      event.preventDefault();
      event.stopImmediatePropagation();
      pad.classList.add("invalid");
      var label = pad.querySelector("label");
      if (label) { label.textContent = pad.getAttribute("data-required-message"); }
      pad.scrollIntoView({ block: "center" });
    }
  }, true);
})();

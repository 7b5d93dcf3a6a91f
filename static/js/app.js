// eldercare page behaviour. No inline scripts anywhere (CSP): behaviour hangs on data- attributes.
(function () {
  "use strict";
  // A destructive action asks once, naming the person (UX.md).
  document.addEventListener("submit", function (ev) {
    var msg = ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { ev.preventDefault(); }
  }, true);

  // Progress bars take their width from data-value (inline styles are blocked by the CSP).
  function paintBars(root) {
    (root || document).querySelectorAll("[data-progress]").forEach(function (el) {
      el.style.width = Math.max(0, Math.min(100, parseFloat(el.getAttribute("data-progress")) || 0)) + "%";
    });
  }
  window.eldercarePaintBars = paintBars;
  document.addEventListener("DOMContentLoaded", function () { paintBars(); });

  // A table wider than its box scrolls inside it: the box must then take the keyboard's
  // focus (arrow keys scroll it) and say what it holds (WCAG 2.1.1; axe's
  // scrollable-region-focusable), as it does on a phone or at 200% zoom.
  function scrollables() {
    document.querySelectorAll(".table-responsive").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        if (!box.hasAttribute("aria-label")) {
          var cap = box.querySelector("caption");
          var head = cap || box.previousElementSibling;
          box.setAttribute("aria-label", (head && head.textContent.trim()) || document.title);
        }
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", scrollables);
  window.addEventListener("resize", scrollables);

  // Person form: the village select follows the township select.
  document.addEventListener("change", function (ev) {
    if (ev.target.id !== "township_code") { return; }
    var wrap = document.getElementById("village-wrap");
    var select = document.getElementById("village_code");
    if (!wrap || !select) { return; }
    var url = wrap.getAttribute("data-villages-url").replace("__code__", encodeURIComponent(ev.target.value));
    select.innerHTML = "<option value=\"\">—</option>";
    if (!ev.target.value) { return; }
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
      data.items.forEach(function (v) {
        var o = document.createElement("option");
        o.value = v.code; o.textContent = v.name; select.appendChild(o);
      });
    });
  });
})();

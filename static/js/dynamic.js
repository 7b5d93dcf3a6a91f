// Dynamic management pages: "select all" for the bulk decision on proposals (no inline
// scripts: the CSP forbids them).
(function () {
  "use strict";
  document.addEventListener("change", function (ev) {
    var name = ev.target.getAttribute && ev.target.getAttribute("data-select-all");
    if (!name) { return; }
    document.querySelectorAll("input[type=checkbox][name='" + name + "']").forEach(function (box) {
      box.checked = ev.target.checked;
    });
  });
  // The review form: the termination reason matters only when terminating.
  function syncReason() {
    var reason = document.getElementById("reason");
    var terminate = document.querySelector("input[name=outcome][value=terminate]");
    if (!reason || !terminate) { return; }
    reason.disabled = !terminate.checked;
  }
  document.addEventListener("change", function (ev) {
    if (ev.target.name === "outcome") { syncReason(); }
  });
  document.addEventListener("DOMContentLoaded", syncReason);
})();
// The notice's print button.
document.addEventListener("click", function (ev) {
  if (ev.target.hasAttribute && ev.target.hasAttribute("data-print")) { window.print(); }
});

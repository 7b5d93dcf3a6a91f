// eldercare: the print button of the QR card sheets (no inline handlers under the CSP).
document.addEventListener("click", function (ev) {
  "use strict";
  if (ev.target.closest("[data-print]")) { window.print(); }
});

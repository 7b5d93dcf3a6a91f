// Claims review page: the amount field shows only for "adjusted" (no inline scripts: CSP).
(function () {
  "use strict";
  function sync(form) {
    var select = form.querySelector(".js-decision");
    var amount = form.querySelector(".js-amount");
    if (select && amount) { amount.hidden = select.value !== "adjusted"; }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.js-override").forEach(sync);
  });
  document.addEventListener("change", function (ev) {
    if (ev.target.classList && ev.target.classList.contains("js-decision")) {
      sync(ev.target.form);
    }
  });
})();

// The year statement's print button.
document.addEventListener("click", function (ev) {
  if (ev.target.classList && ev.target.classList.contains("js-print")) { window.print(); }
});

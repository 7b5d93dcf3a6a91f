// Provider scorecards: one line chart per provider from its canvas's data-months JSON
// (no inline scripts: the CSP forbids them).
(function () {
  "use strict";
  function pct(v) { return v === null ? null : Math.round(parseFloat(v) * 1000) / 10; }
  function draw() {
    if (typeof Chart === "undefined") { return; }
    document.querySelectorAll("canvas.js-scorecard").forEach(function (el) {
      var months = JSON.parse(el.getAttribute("data-months") || "[]");
      new Chart(el, {
        type: "line",
        data: {
          labels: months.map(function (m) { return m.month; }),
          datasets: [
            { label: el.getAttribute("data-l-scan"), data: months.map(function (m) { return pct(m.scan_share); }), borderColor: "#0d6efd", tension: 0.2 },
            { label: el.getAttribute("data-l-approved"), data: months.map(function (m) { return pct(m.approved_share); }), borderColor: "#198754", tension: 0.2 },
            { label: el.getAttribute("data-l-confirmed"), data: months.map(function (m) { return pct(m.confirmation_rate); }), borderColor: "#ffc107", tension: 0.2 },
            { label: el.getAttribute("data-l-exceptions"), data: months.map(function (m) { return m.exceptions_per_100_visits === null ? null : parseFloat(m.exceptions_per_100_visits); }), borderColor: "#dc3545", borderDash: [4, 3], tension: 0.2 }
          ]
        },
        options: { animation: false, spanGaps: true, scales: { y: { suggestedMin: 0, suggestedMax: 100 } } }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();

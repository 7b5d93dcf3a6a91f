// Facilities pages: the occupancy trend and, beside it, the centralised-support rate,
// each drawn from its canvas's data-trend JSON (no inline scripts: the CSP forbids them).
(function () {
  "use strict";
  function line(el, rateKey, partKey, wholeKey, colour, min) {
    if (!el || typeof Chart === "undefined") { return; }
    var points = JSON.parse(el.getAttribute("data-trend") || "[]");
    new Chart(el, {
      type: "line",
      data: {
        labels: points.map(function (p) { return p.date; }),
        datasets: [{
          label: el.getAttribute("aria-label") || "",
          data: points.map(function (p) { return Math.round(parseFloat(p[rateKey]) * 1000) / 10; }),
          borderColor: colour, backgroundColor: colour + "26", fill: true, tension: 0.2
        }]
      },
      options: {
        animation: false,
        scales: { y: { suggestedMin: min, suggestedMax: 100, ticks: { callback: function (v) { return v + "%"; } } } },
        plugins: { tooltip: { callbacks: { label: function (c) {
          var p = points[c.dataIndex];
          return c.formattedValue + "%（" + p[partKey] + " / " + p[wholeKey] + "）";
        } } } }
      }
    });
  }
  function draw() {
    line(document.getElementById("occupancy-trend"), "rate", "residents", "beds", "#0d6efd", 50);
    line(document.getElementById("centralized-trend"), "centralized_rate", "centralized", "total", "#198754", 50);
  }
  document.addEventListener("DOMContentLoaded", draw);
})();

// Facilities pages: the occupancy trend chart, drawn from the canvas's data-trend JSON
// (no inline scripts: the CSP forbids them).
(function () {
  "use strict";
  function draw() {
    var el = document.getElementById("occupancy-trend");
    if (!el || typeof Chart === "undefined") { return; }
    var points = JSON.parse(el.getAttribute("data-trend") || "[]");
    new Chart(el, {
      type: "line",
      data: {
        labels: points.map(function (p) { return p.date; }),
        datasets: [{
          label: el.getAttribute("aria-label") || "",
          data: points.map(function (p) { return Math.round(parseFloat(p.rate) * 1000) / 10; }),
          borderColor: "#0d6efd", backgroundColor: "rgba(13,110,253,.15)", fill: true, tension: 0.2
        }]
      },
      options: {
        animation: false,
        scales: { y: { suggestedMin: 50, suggestedMax: 100, ticks: { callback: function (v) { return v + "%"; } } } },
        plugins: { tooltip: { callbacks: { label: function (c) {
          var p = points[c.dataIndex];
          return c.formattedValue + "%（" + p.residents + " / " + p.beds + "）";
        } } } }
      }
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();

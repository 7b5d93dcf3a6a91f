// Home-care dashboard: one bar chart per canvas from its data-chart JSON — labels (already
// translated by the server) and series; money comes as "123.45" and is drawn as a number.
// No inline scripts: the CSP forbids them.
(function () {
  "use strict";
  var COLOURS = ["#0d6efd", "#198754", "#dc3545", "#ffc107", "#6c757d"];
  function num(v) { return v === null || v === undefined ? null : parseFloat(v); }
  function draw() {
    if (typeof Chart === "undefined") { return; }
    document.querySelectorAll("canvas.js-hc-chart").forEach(function (el) {
      var chart = JSON.parse(el.getAttribute("data-chart") || "{}");
      var series = chart.series || [];
      // a series may ask for its own axis on the right (a few flagged visits beside thousands)
      var scales = { y: { beginAtZero: true } };
      series.forEach(function (s) {
        if (s.axis && s.axis !== "y") {
          scales[s.axis] = { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } };
        }
      });
      new Chart(el, {
        type: el.getAttribute("data-kind") || "bar",
        data: {
          labels: chart.labels || [],
          datasets: series.map(function (s, i) {
            return { label: s.label, data: (s.data || []).map(num), yAxisID: s.axis || "y",
                     backgroundColor: s.colour || COLOURS[i % COLOURS.length] };
          })
        },
        options: { animation: false, plugins: { legend: { display: series.length > 1 } },
                   scales: scales }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();

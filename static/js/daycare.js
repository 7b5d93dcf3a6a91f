// Day-care attendance per month: a bar chart drawn from the canvas's data-trend JSON
// (no inline scripts: the CSP forbids them). The table beside it holds the same figures.
(function () {
  "use strict";
  function draw() {
    var el = document.getElementById("daycare-trend");
    if (!el || typeof Chart === "undefined") { return; }
    var points = JSON.parse(el.getAttribute("data-trend") || "[]");
    new Chart(el, {
      type: "bar",
      data: {
        labels: points.map(function (p) { return p.month; }),
        datasets: [{
          label: el.getAttribute("data-label") || "",
          data: points.map(function (p) { return p.attendance_days; }),
          backgroundColor: "#6f42c1"
        }]
      },
      options: {
        animation: false,
        scales: { y: { beginAtZero: true } },
        plugins: { tooltip: { callbacks: { afterLabel: function (c) {
          return (el.getAttribute("data-elders") || "") + " " + points[c.dataIndex].elders;
        } } } }
      }
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();

// Roster import: poll the job (any worker answers from the database) and move the bar;
// when the job ends, reload the page so the server renders the report.
(function () {
  "use strict";
  var box = document.querySelector("[data-import-poll]");
  if (!box) { return; }
  var url = box.getAttribute("data-import-poll");
  var bar = box.querySelector("[data-progress]");
  var phase = box.querySelector("[data-import-phase]");
  var count = box.querySelector("[data-import-count]");
  var wrap = box.querySelector("[role=progressbar]");
  var failures = 0;

  function show(job) {
    var pct = job.percent || 0;
    if (bar) {
      bar.setAttribute("data-progress", String(pct));
      if (window.eldercarePaintBars) { window.eldercarePaintBars(box); }
    }
    if (wrap) { wrap.setAttribute("aria-valuenow", String(pct)); }
    if (phase) { phase.textContent = job.phase_label || job.status_label || ""; }
    if (count) { count.textContent = job.rows_total ? (job.rows_done + " / " + job.rows_total) : ""; }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error(String(r.status)); }
        return r.json();
      })
      .then(function (job) {
        failures = 0;
        show(job);
        if (job.status === "done" || job.status === "failed") {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        failures += 1;  // a restarting server or a lost connection: keep trying, slower
        window.setTimeout(poll, Math.min(10000, 1000 * Math.pow(2, failures)));
      });
  }
  window.setTimeout(poll, 500);
})();

// eldercare: /v/<token>, the worker's one screen. The forms work without JavaScript;
// with it, a scan goes to the API with the phone's position and waits in the offline
// queue when there is no signal.
(function () {
  "use strict";
  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
      return (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16);
    });
  }

  // The quantities typed, or null when one is not a number of 0 to 24 (the page says so).
  function picked(form) {
    var out = [], bad = false;
    form.querySelectorAll(".qty-input").forEach(function (input) {
      if (!input.value.trim()) { return; }
      var q = Number(input.value);
      if (!isFinite(q) || q < 0 || q > 24) { bad = true; return; }
      if (q > 0) { out.push({ code: input.name.replace(/^qty_/, ""), quantity: q }); }
    });
    return bad ? null : out;
  }

  function say(screen, text, kind) {
    var el = screen.querySelector("[data-scan-message]");
    el.textContent = text;
    el.className = "alert alert-" + kind + " fs-5";
  }

  function show(screen, which) {
    screen.querySelectorAll("[data-scan-form]").forEach(function (f) {
      f.classList.toggle("d-none", f.getAttribute("data-kind") !== which);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var screen = document.querySelector("[data-worker-screen]");
    if (!screen || !window.ecScanQueue) { return; }
    var qr = screen.getAttribute("data-qr"), url = screen.getAttribute("data-scan-url");
    var submitting = false;
    // Scans of this card sent from the queue in the background (the network came back):
    // the page is out of date (balance, open visit), draw it again from the server.
    document.addEventListener("ec-scans-flushed", function (ev) {
      if (submitting) { return; }  // the form's own answer decides below
      var sent = ev.detail.done.filter(function (d) {
        return d.item.body.qr === qr && d.result.state === "sent";
      });
      if (sent.length) { window.location.reload(); }
    });
    // A check-in still waiting on the phone: the visit is open, offer the check-out.
    window.ecScanQueue.pendingFor(qr).then(function (items) {
      var last = items[items.length - 1];
      if (last && last.body.kind === "check_in") { show(screen, "check_out"); }
    });
    screen.querySelectorAll("[data-scan-form]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var kind = form.getAttribute("data-kind");
        var body = { qr: qr, kind: kind, at: new Date().toISOString(),
                     client_id: form.querySelector("[name=client_id]").value };
        if (kind === "check_out") {
          body.services = picked(form);
          if (body.services === null) { say(screen, window.ecScanQueue.t("bad_quantity", "服务数量须是 0 到 24 之间的数字"), "danger"); return; }
          if (!body.services.length) { say(screen, window.ecScanQueue.t("pick_a_service", "请至少填写一项服务的数量"), "warning"); return; }
        }
        form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        submitting = true;
        function enable() {
          submitting = false;
          form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
        }
        // The time is the tap's; the position (or why there is none) is asked now.
        window.ecPlace.where(screen).then(function (place) {
          if (place === null) { return { state: "cancelled" }; }
          return window.ecScanQueue.submit(url, window.ecPlace.mark(body, place));
        }).then(function (res) {
          enable();
          if (res.state === "cancelled") { return; }
          if (res.state === "sent") { window.location.reload(); return; }
          if (res.state === "refused") { say(screen, res.error.message, "danger"); return; }
          form.querySelector("[name=client_id]").value = uuid();
          if (kind === "check_in") {
            say(screen, window.ecScanQueue.t("check_in_queued", "已记下开始时间，待联网后上传。服务结束时填写服务项目。"), "warning");
            show(screen, "check_out");
          } else {
            say(screen, window.ecScanQueue.t("check_out_queued", "已记下服务，待联网后上传。"), "warning");
            show(screen, "check_in");
          }
        });
      });
    });
    // The buttons now go through this script (position, reason, queue); before this, a tap
    // would post the plain form, without the phone's position.
    screen.setAttribute("data-ready", "1");
  });
})();

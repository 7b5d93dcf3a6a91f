// eldercare: where the phone is when a card is scanned (issue 14). The position is asked
// of the phone; when it gives none (refused, no fix, no GPS), the worker picks why from
// the page's short list before the scan is sent. Resolves with {lat, lng}, with
// {reason}, or with null when the worker cancels (nothing is sent then).
(function () {
  "use strict";
  // What the phone's error most likely means: the button the worker sees first.
  var LIKELY = { 1: "denied", 2: "no_gps", 3: "no_signal" };

  function position() {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) { resolve({ error: 2 }); return; }
      navigator.geolocation.getCurrentPosition(function (p) {
        var lat = p.coords.latitude, lng = p.coords.longitude;
        resolve(isFinite(lat) && isFinite(lng) ? { lat: lat, lng: lng } : { error: 2 });
      }, function (err) { resolve({ error: (err && err.code) || 2 }); },
      { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 });
    });
  }

  function ask(root, likely) {
    var panel = root.querySelector("[data-no-location]");
    if (!panel) { return Promise.resolve({ reason: likely || "other" }); }
    return new Promise(function (resolve) {
      var buttons = panel.querySelectorAll("[data-reason]");
      function done(value) {
        panel.classList.add("d-none");
        buttons.forEach(function (b) { b.onclick = null; });
        panel.querySelector("[data-reason-cancel]").onclick = null;
        resolve(value);
      }
      buttons.forEach(function (b) {
        var code = b.getAttribute("data-reason");
        b.classList.toggle("btn-warning", code === likely);
        b.classList.toggle("btn-outline-dark", code !== likely);
        b.onclick = function () { done({ reason: code }); };
      });
      panel.querySelector("[data-reason-cancel]").onclick = function () { done(null); };
      panel.classList.remove("d-none");
      panel.scrollIntoView({ block: "center" });
      (panel.querySelector(".btn-warning") || buttons[0]).focus();
    });
  }

  function where(root) {
    return position().then(function (pos) {
      return pos.error ? ask(root, LIKELY[pos.error]) : pos;
    });
  }

  // Add what `where` found to a scan's body.
  function mark(body, place) {
    if (place.reason) { body.no_location_reason = place.reason; }
    else { body.lat = place.lat; body.lng = place.lng; }
    return body;
  }

  window.ecPlace = { where: where, mark: mark };
})();

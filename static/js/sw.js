// eldercare service worker: keeps the scanner page and its scripts on the phone, so that
// /scan opens without signal. Pages with personal data (/v/<token>) are never cached.
"use strict";
var CACHE = "eldercare-scan-v1";
var SHELL = [
  "/scan",
  "/static/vendor/bootstrap/bootstrap.min.css",
  "/static/vendor/bootstrap/bootstrap.bundle.min.js",
  "/static/css/app.css",
  "/static/css/homecare.css",
  "/static/js/app.js",
  "/static/js/homecare-queue.js",
  "/static/js/scan.js",
  "/static/vendor/jsqr/jsQR.min.js"
];

self.addEventListener("install", function (ev) {
  ev.waitUntil(caches.open(CACHE).then(function (c) {
    return Promise.all(SHELL.map(function (url) {
      return fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (r.ok && !r.redirected) { return c.put(url, r); }
      }).catch(function () { /* fetched again next time */ });
    }));
  }));
  self.skipWaiting();
});

self.addEventListener("activate", function (ev) {
  ev.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (ev) {
  var req = ev.request;
  if (req.method !== "GET") { return; }  // scans go to the network; the page queues them
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) { return; }
  var cached = url.pathname === "/scan" || url.pathname.indexOf("/static/") === 0;
  if (!cached) { return; }
  // Network first (fresh pages and assets while online), the cache when offline.
  ev.respondWith(fetch(req).then(function (resp) {
    if (resp.ok && !resp.redirected) {
      var copy = resp.clone();
      caches.open(CACHE).then(function (c) { c.put(url.pathname, copy); });
    }
    return resp;
  }).catch(function () {
    return caches.match(url.pathname).then(function (r) { return r || Response.error(); });
  }));
});

// eldercare: the worker's offline queue. Scans are kept in IndexedDB with their original
// time and client_id and sent in order when the phone is online; the server counts a
// client_id once, so sending again after a lost answer is safe. No inline scripts (CSP).
// A phone may be shared: each scan remembers who made it and is sent only under that
// worker's own login (sent under another's, the visit would be theirs).
(function () {
  "use strict";
  var DB = "eldercare-scans", STORE = "pending";

  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "client_id" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function withStore(mode, fn) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var req = fn(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(req ? req.result : undefined); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }

  // The page's words (data from the server, in its language); Chinese when absent.
  var words = null;
  function t(key, fallback, n) {
    if (words === null) {
      var m = document.querySelector('meta[name="ec-messages"]');
      try { words = m ? JSON.parse(m.getAttribute("content")) : {}; } catch (e) { words = {}; }
    }
    return (words[key] || fallback).replace("{n}", String(n));
  }

  function me() {
    var m = document.querySelector('meta[name="ec-user"]');
    return m ? m.getAttribute("content") : "";
  }
  function everyone() {
    return withStore("readonly", function (s) { return s.getAll(); }).then(function (items) {
      return (items || []).sort(function (a, b) { return a.queued_at - b.queued_at; });
    });
  }
  // This worker's scans, oldest first (a scan queued before owners were kept is theirs).
  function all() {
    return everyone().then(function (items) {
      var u = me();
      return items.filter(function (i) { return !i.user || i.user === u; });
    });
  }
  function put(item) { return withStore("readwrite", function (s) { return s.put(item); }); }
  function remove(id) { return withStore("readwrite", function (s) { return s.delete(id); }); }

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  var note = "", loginNote = "";
  function banner(count, others) {
    document.querySelectorAll("[data-offline-banner]").forEach(function (el) {
      var parts = [];
      if (!navigator.onLine) { parts.push(t("offline", "手机没有网络。")); }
      if (count > 0) { parts.push(t("waiting", "有 {n} 条扫码记录等待上传，联网后自动发送。", count)); }
      if (others > 0) { parts.push(t("others_waiting", "本机还有 {n} 条其他服务人员的扫码记录，待其本人登录后上传。", others)); }
      if (loginNote) { parts.push(loginNote); }
      if (note) { parts.push(note); }
      el.textContent = parts.join(" ");
      el.setAttribute("data-pending", String(count));
      el.setAttribute("data-others", String(others || 0));
      el.classList.toggle("d-none", parts.length === 0);
    });
  }
  function refresh() {
    return everyone().then(function (items) {
      var u = me();
      var own = items.filter(function (i) { return !i.user || i.user === u; });
      banner(own.length, items.length - own.length);
      return own;
    });
  }

  // One scan to the server: "sent", "refused" (the server said no: keep it off the queue and
  // say why) or "wait" (no network, logged out, server busy: try again later).
  function sendOne(item) {
    return fetch(item.url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(item.body)
    }).then(function (r) {
      if (r.status === 200 || r.status === 201) {
        loginNote = "";
        return r.json().then(function (v) { return { state: "sent", visit: v }; });
      }
      if (r.status === 401) { loginNote = t("login_expired", "登录已过期：请重新登录后，待传记录会自动发送。"); }
      if (r.status === 401 || r.status === 429 || r.status >= 500) { return { state: "wait" }; }
      return r.json().catch(function () { return {}; }).then(function (e) {
        return { state: "refused", error: (e && e.error) || { message: t("refused", "提交失败") } };
      });
    }, function () { return { state: "wait" }; });
  }

  // Send what waits, oldest first, one at a time (a visit's check-out never overtakes its
  // check-in); stop at the first "wait". Resolves with the answers by client_id, and tells
  // the page ("ec-scans-flushed") which scans went, so that it can show the server's state.
  var flushing = null;
  function flush() {
    if (flushing) { return flushing; }
    var answers = {}, done = [];
    flushing = all().then(function (items) {
      var chain = Promise.resolve();
      var stop = false;
      items.forEach(function (item) {
        chain = chain.then(function () {
          if (stop) { return; }
          return sendOne(item).then(function (res) {
            if (res.state === "wait") { stop = true; return; }
            if (res.state === "refused") { note = t("one_refused", "有一条记录被拒绝：") + res.error.message; }
            answers[item.client_id] = res;
            done.push({ item: item, result: res });
            return remove(item.client_id);
          });
        });
      });
      return chain;
    }).then(refresh, refresh).then(function () {
      flushing = null;
      if (done.length) {
        document.dispatchEvent(new CustomEvent("ec-scans-flushed", { detail: { done: done } }));
      }
      return answers;
    });
    return flushing;
  }

  // Queue a scan and send the queue now, oldest first. A flush already under way read the
  // queue before this scan was in it: wait for it, then flush again. Resolves with this
  // scan's own answer, "sent", "refused" or "wait" (not "wait" merely because an older
  // scan was queued too: both may well have gone).
  function submit(url, body) {
    var item = { client_id: body.client_id, url: url, body: body, queued_at: Date.now(), user: me() };
    return put(item).then(function () {
      return (flushing || Promise.resolve()).then(function () { return flush(); });
    }).then(function (answers) { return answers[item.client_id] || { state: "wait" }; });
  }

  function pendingFor(qr) {
    return all().then(function (items) { return items.filter(function (i) { return i.body.qr === qr; }); });
  }

  window.ecScanQueue = { submit: submit, flush: flush, pendingFor: pendingFor, refresh: refresh, t: t };
  window.addEventListener("online", flush);
  window.addEventListener("offline", refresh);
  document.addEventListener("DOMContentLoaded", function () { flush(); });
  setInterval(flush, 30000);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* plain HTTP: no worker */ });
  }
})();

// eldercare: /scan, the in-browser scanner. The camera (jsQR on video frames), a photo
// when the camera is not allowed (plain HTTP), or the card number typed in. A decoded
// card of this server opens its /v/ page; offline, the scan waits in the queue.
(function () {
  "use strict";
  var screen, video, canvas, status, stream = null, busy = false;

  function say(text) { status.textContent = text; }
  function t(key, fallback) { return window.ecScanQueue ? window.ecScanQueue.t(key, fallback) : fallback; }

  function sameOrigin(text) {
    try {
      var u = new URL(text, window.location.href);
      return u.origin === window.location.origin && u.pathname.indexOf("/v/") === 0 ? u : null;
    } catch (e) { return null; }
  }

  function found(text) {
    if (busy) { return; }
    var u = sameOrigin(text);
    if (!u) {
      // A card printed with another address (ELDERCARE_BASE_URL): keep its token.
      var m = /\/v\/([A-Za-z0-9_.\-]+)/.exec(text || "");
      if (!m) { say(t("not_our_card", "这不是本系统的服务卡，请重试或输入卡号。")); return; }
      u = new URL("/v/" + m[1], window.location.href);
    }
    busy = true;
    stop();
    if (navigator.onLine) { window.location.href = u.pathname; return; }
    // No signal: record the check-in now, with its time and place; it is sent when online.
    var body = { qr: u.href, kind: "check_in", at: new Date().toISOString(), client_id: uuid() };
    window.ecPlace.where(screen).then(function (place) {
      if (place === null) { busy = false; return; }
      return window.ecScanQueue.submit(screen.getAttribute("data-scan-url"),
                                       window.ecPlace.mark(body, place)).then(function () {
        say(t("scan_offline", "没有网络：已记下开始服务的时间，联网后自动上传。结束时请在有网络时扫卡。"));
        busy = false;
      });
    });
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
      return (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16);
    });
  }

  function decode(source, width, height) {
    canvas.width = width; canvas.height = height;
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(source, 0, 0, width, height);
    var img = ctx.getImageData(0, 0, width, height);
    var code = window.jsQR(img.data, width, height, { inversionAttempts: "dontInvert" });
    return code ? code.data : null;
  }

  function tick() {
    if (!stream) { return; }
    if (video.readyState === video.HAVE_ENOUGH_DATA) {
      var text = decode(video, video.videoWidth, video.videoHeight);
      if (text) { found(text); return; }
    }
    window.requestAnimationFrame(tick);
  }

  function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say(t("no_camera_http", "此页面不能使用摄像头（需要 HTTPS）。请用“拍照识别”或输入卡号。"));
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.classList.remove("d-none");
      video.play();
      say(t("aim", "把服务卡上的二维码对准取景框。"));
      window.requestAnimationFrame(tick);
    }, function () { say(t("no_camera_permission", "没有摄像头权限。请用“拍照识别”或输入卡号。")); });
  }

  function stop() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    stream = null;
  }

  function photo(file) {
    if (!file) { return; }
    var img = new Image();
    img.onload = function () {
      var scale = Math.min(1, 1280 / Math.max(img.width, img.height));
      var text = decode(img, Math.round(img.width * scale), Math.round(img.height * scale));
      URL.revokeObjectURL(img.src);
      if (text) { found(text); } else { say(t("no_code_in_photo", "照片里没有找到二维码，请靠近一点重拍，或输入卡号。")); }
    };
    img.src = URL.createObjectURL(file);
  }

  document.addEventListener("DOMContentLoaded", function () {
    screen = document.querySelector("[data-scanner]");
    if (!screen) { return; }
    video = screen.querySelector("[data-video]");
    canvas = screen.querySelector("[data-canvas]");
    status = screen.querySelector("[data-scan-status]");
    screen.querySelector("[data-start-camera]").addEventListener("click", start);
    screen.querySelector("[data-photo]").addEventListener("change", function (ev) {
      photo(ev.target.files && ev.target.files[0]);
    });
  });
  window.ecScanFound = found;  // for tests and the camera-less
})();

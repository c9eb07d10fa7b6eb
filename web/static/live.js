// Live broadcast from the browser: MediaRecorder slices posted in order to the server.
(function () {
  "use strict";
  var box = document.getElementById("live");
  if (!box) { return; }
  var csrf = box.dataset.csrf, state = document.getElementById("live-state"), err = document.getElementById("live-error");
  var startBtn = document.getElementById("live-start"), stopBtn = document.getElementById("live-stop");
  var meter = document.getElementById("live-level");
  var rec = null, stream = null, sessionId = null, chain = Promise.resolve(), audioCtx = null, failed = false;

  function post(url, body, type) {
    var headers = {"X-CSRF-Token": csrf};
    if (type) { headers["Content-Type"] = type; }
    return fetch(url, {method: "POST", headers: headers, body: body, credentials: "same-origin"});
  }
  function show(text) { err.textContent = text || ""; }
  function mimeType() {
    var kinds = ["audio/webm;codecs=opus", "audio/webm", "audio/mp4"];
    for (var i = 0; i < kinds.length; i++) {
      if (window.MediaRecorder && MediaRecorder.isTypeSupported(kinds[i])) { return kinds[i]; }
    }
    return "";
  }
  function level(s) {
    try {
      audioCtx = new (window.AudioContext || window.webkitAudioContext)();
      var an = audioCtx.createAnalyser(), buf = new Uint8Array(256);
      audioCtx.createMediaStreamSource(s).connect(an);
      (function tick() {
        if (!rec) { meter.value = 0; return; }
        an.getByteTimeDomainData(buf);
        var peak = 0;
        for (var i = 0; i < buf.length; i++) { peak = Math.max(peak, Math.abs(buf[i] - 128) / 128); }
        meter.value = peak;
        requestAnimationFrame(tick);
      })();
    } catch (e) { /* the meter is optional */ }
  }
  function finish(message) {
    if (rec && rec.state !== "inactive") { rec.stop(); }
    rec = null;
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    if (audioCtx) { audioCtx.close(); audioCtx = null; }
    startBtn.disabled = false; stopBtn.disabled = true;
    state.textContent = box.dataset.offAir;
    show(message);
  }
  document.getElementById("live-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    show("");
    startBtn.disabled = true;
    failed = false;
    navigator.mediaDevices.getUserMedia({audio: true}).then(function (s) {
      stream = s;
      return post("/live/sessions", JSON.stringify({
        areas: document.getElementById("live-areas").value, title: document.getElementById("live-title").value,
        emergency: document.getElementById("live-emergency").checked}), "application/json");
    }, function () { throw new Error(box.dataset.noMic); }).then(function (resp) {
      return resp.json().then(function (body) {
        if (!resp.ok) { throw new Error(body.error || resp.statusText); }
        sessionId = body.id;
        var type = mimeType();
        rec = type ? new MediaRecorder(stream, {mimeType: type}) : new MediaRecorder(stream);
        rec.ondataavailable = function (e) {
          if (!e.data || !e.data.size || failed) { return; }
          var id = sessionId, blob = e.data;
          chain = chain.then(function () {
            return post("/live/sessions/" + id + "/audio", blob, "application/octet-stream").then(function (r) {
              if (!r.ok && !failed) {
                failed = true;
                r.json().then(function (b) { finish(b.error || box.dataset.dropped); }, function () { finish(box.dataset.dropped); });
              }
            });
          }).catch(function () { if (!failed) { failed = true; finish(box.dataset.dropped); } });
        };
        rec.start(250);
        level(stream);
        state.textContent = box.dataset.onAir;
        box.dataset.session = String(sessionId);
        stopBtn.disabled = false;
      });
    }).catch(function (e) { finish(e.message); });
  });
  stopBtn.addEventListener("click", function () {
    var id = sessionId;
    stopBtn.disabled = true;
    if (rec && rec.state !== "inactive") { rec.stop(); }  // the last slice is posted before the stop
    setTimeout(function () {
      chain.then(function () { return post("/live/sessions/" + id + "/stop", "", null); }).then(function () {
        finish("");
        box.dataset.stopped = String(id);
      });
    }, 300);
  });
})();

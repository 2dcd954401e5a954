// tocsin console: the declare dialog, keyboard shortcuts and relative times. No inline script
// anywhere (CSP), so pages mark behaviour with ids and data- attributes.
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  function openDialog(dialog, focusId) {
    if (!dialog || dialog.open) return;
    if (typeof dialog.showModal === "function") dialog.showModal(); else dialog.setAttribute("open", "");
    var target = focusId && $(focusId);
    if (target) target.focus();
  }

  function typing(event) {
    var el = event.target;
    var tag = el && el.tagName ? el.tagName.toLowerCase() : "";
    return tag === "input" || tag === "textarea" || tag === "select" || (el && el.isContentEditable);
  }

  // fetch helper for pages that post without reloading: url-encoded body + CSRF header.
  window.tocsin = window.tocsin || {};
  window.tocsin.csrf = function () { return document.body.getAttribute("data-csrf") || ""; };
  window.tocsin.postForm = function (form) {
    var body = new URLSearchParams(new FormData(form));
    return fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": window.tocsin.csrf(), "X-Requested-With": "fetch", "Accept": "application/json" }
    });
  };

  // Relative times: <time class="ago" datetime="ISO">5 min ago</time> refresh every 30 s.
  function span(seconds) {
    var s = Math.abs(Math.round(seconds));
    if (s < 60) return "just now";
    var m = Math.floor(s / 60);
    var text;
    if (m < 60) text = m + " min";
    else if (m < 1440) { var h = Math.floor(m / 60); text = h + " h" + (m % 60 ? " " + (m % 60) + " min" : ""); }
    else { var d = Math.floor(m / 1440); var hh = Math.floor((m % 1440) / 60); text = d + " d" + (hh ? " " + hh + " h" : ""); }
    return seconds >= 0 ? text + " ago" : "in " + text;
  }
  var skew = 0;  // server clock minus browser clock, from <body data-now>
  function refreshTimes() {
    var nodes = document.querySelectorAll("time.ago[datetime]");
    var now = Date.now() + skew;
    for (var i = 0; i < nodes.length; i++) {
      var t = Date.parse(nodes[i].getAttribute("datetime"));
      if (!isNaN(t)) nodes[i].textContent = span((now - t) / 1000);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var serverNow = Date.parse(document.body.getAttribute("data-now") || "");
    if (!isNaN(serverNow)) skew = serverNow - Date.now();
    var declare = $("declare-dialog");
    var help = $("help-dialog");
    var opener = $("declare-open");
    if (opener) opener.addEventListener("click", function () { openDialog(declare, "declare-title-input"); });
    var cancel = $("declare-cancel");
    if (cancel) cancel.addEventListener("click", function () { declare.close(); });

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
      if (document.querySelector("dialog[open]")) return;
      if (event.key === "d" && declare) { event.preventDefault(); openDialog(declare, "declare-title-input"); }
      else if (event.key === "n") {
        var note = $("note-text");
        if (note) { event.preventDefault(); note.focus(); }
      } else if (event.key === "?" && help) { event.preventDefault(); openDialog(help); }
    });

    // Ctrl+Enter (Cmd+Enter) submits the note box.
    var noteBox = $("note-text");
    if (noteBox) noteBox.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && noteBox.form) {
        event.preventDefault();
        if (typeof noteBox.form.requestSubmit === "function") noteBox.form.requestSubmit(); else noteBox.form.submit();
      }
    });

    // Buttons that need a confirmation: <button data-confirm="Really?">
    document.addEventListener("submit", function (event) {
      var btn = event.submitter;
      var msg = (btn && btn.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
      if (msg && !window.confirm(msg)) event.preventDefault();
    });

    refreshTimes();
    setInterval(refreshTimes, 30000);
  });
})();

// tocsin incident room: the live timeline (server-sent events) and posting forms without a reload.
// Without JavaScript every form still posts normally and the server answers with a 303 back here.
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : (document.body.getAttribute("data-csrf") || "");
  }

  // Entries are ordered by when they happened, then id (as the server lists them); a back-dated
  // note arriving live is put where it belongs rather than at the bottom.
  function key(li) { return [Date.parse(li.getAttribute("data-occurred") || "") || 0, li.getAttribute("data-id") || ""]; }
  function before(a, b) { return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]); }

  function insertEntry(list, li) {
    var k = key(li);
    var node = list.lastElementChild;
    while (node && before(k, key(node))) node = node.previousElementSibling;
    list.insertBefore(li, node ? node.nextElementSibling : list.firstElementChild);
  }

  function announce(text) {
    var region = $("timeline-announcer");
    if (!region) return;
    var p = document.createElement("p");
    p.textContent = text;
    region.appendChild(p);
    while (region.childElementCount > 5) region.removeChild(region.firstElementChild);
  }

  function addEntries(html) {
    var list = $("timeline");
    if (!list || !html) return;
    var holder = document.createElement("ol");
    holder.innerHTML = html;  // server-rendered with autoescaping, from our own origin
    var items = holder.querySelectorAll("li.entry");
    for (var i = 0; i < items.length; i++) {
      var li = items[i];
      var id = li.getAttribute("data-id");
      if (!id) continue;
      var shown = list.querySelector('li.entry[data-id="' + id + '"]');
      if (shown) {  // an edited note: show its new text in place
        if (shown.innerHTML !== li.innerHTML) shown.replaceWith(li);
        continue;
      }
      insertEntry(list, li);
      var actor = li.querySelector(".entry-actor");
      var text = li.querySelector(".entry-text");
      announce((actor ? actor.textContent + ": " : "") + (text ? text.textContent : ""));
    }
  }

  function replaceHeader(html) {
    var header = $("room-header");
    if (header && html) header.innerHTML = html;
    refreshClocks();
  }

  // Elapsed time and the update deadline move with the clock between server messages.
  function span(seconds) {
    var m = Math.floor(Math.max(0, seconds) / 60);
    if (m < 1) return Math.floor(Math.max(0, seconds)) + " s";
    if (m < 60) return m + " min";
    var h = Math.floor(m / 60);
    if (h < 24) return h + " h" + (m % 60 ? " " + (m % 60) + " min" : "");
    return Math.floor(h / 24) + " d" + (h % 24 ? " " + (h % 24) + " h" : "");
  }
  function refreshClocks() {
    var now = Date.now();
    var elapsed = $("room-elapsed");
    if (elapsed && !elapsed.getAttribute("data-frozen")) {
      var since = Date.parse(elapsed.getAttribute("data-since") || "");
      if (!isNaN(since)) elapsed.textContent = span((now - since) / 1000);
    }
    var target = $("room-target");
    var overdue = $("room-overdue");
    if (target && overdue) {
      var due = Date.parse(target.getAttribute("data-due") || "");
      if (!isNaN(due) && now > due) overdue.hidden = false;
    }
  }

  function setState(text) {
    var state = $("live-state");
    if (!state) return;
    state.textContent = text;
    state.hidden = !text;
  }

  function connect(room) {
    if (!window.EventSource) return;
    var url = room.getAttribute("data-events");
    var after = room.getAttribute("data-after");
    if (after) url += "?after=" + encodeURIComponent(after);
    var source = new EventSource(url);
    source.addEventListener("timeline", function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      addEntries(data.html);
      replaceHeader(data.header);
      setState("");
    });
    source.addEventListener("open", function () { setState(""); });
    source.addEventListener("error", function () {
      // The browser reconnects by itself (sending Last-Event-ID); a closed stream means the
      // session ended or the incident is no longer visible: reloading shows why.
      setState(source.readyState === EventSource.CLOSED ? "Live updates stopped: reload the page." :
               "Reconnecting for live updates…");
    });
  }

  function showError(form, message) {
    var box = form.querySelector(".form-error");
    if (!box) {
      box = document.createElement("p");
      box.className = "error form-error";
      box.setAttribute("role", "alert");
      form.insertBefore(box, form.firstChild);
    }
    box.textContent = message;
  }

  // Note and acknowledge forms post with fetch, so typing in the room is not interrupted by a
  // reload; the new entry arrives through the event stream like everyone else's.
  function enhance(form) {
    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.URLSearchParams) return;  // plain POST
      event.preventDefault();
      var button = form.querySelector('button[type="submit"]');
      if (button) button.disabled = true;
      fetch(form.action, {
        method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
        headers: { "X-CSRF-Token": csrfToken(), "X-Requested-With": "fetch", "Accept": "application/json" }
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.ok) {
            var old = form.querySelector(".form-error");
            if (old) old.parentNode.removeChild(old);
            if (form.id === "note-form") { form.reset(); var box = $("note-text"); if (box) box.focus(); }
            if (form.id === "ack-form") form.hidden = true;
          } else {
            showError(form, (body.error && body.error.message) || ("The server refused this (" + response.status + ")."));
          }
        });
      }).catch(function () {
        showError(form, "Could not reach the server; nothing was saved. Try again.");
      }).then(function () { if (button) button.disabled = false; });
    });
  }

  // The suggested severity follows the impact fields as they are filled in: the server computes it
  // (GET /severity-suggestion, read only) with the same rules it judges the saved form by.
  function suggestSeverity() {
    var form = $("severity-form");
    var out = $("suggested-severity");
    if (!form || !out || !window.fetch || !window.URLSearchParams) return;
    var names = ["customers_affected", "revenue_at_risk_per_hour", "data_sensitivity", "customer_facing"];
    var timer = null, asked = 0;
    function ask() {
      var params = new URLSearchParams();
      names.forEach(function (n) { var f = form.elements[n]; if (f && f.value) params.set(n, f.value); });
      var mine = ++asked;
      fetch(out.getAttribute("data-url") + "?" + params.toString(), {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); }).then(function (res) {
        if (mine !== asked) return;  // a newer answer is coming
        var ok = res[0], body = res[1];
        var chosen = form.elements.severity ? form.elements.severity.value : "";
        out.textContent = "";
        if (!ok) { out.textContent = (body.error && body.error.message) || "Cannot suggest a severity yet."; return; }
        if (!body.severity) { out.textContent = "No impact assessed yet: fill in what you know and tocsin suggests a severity."; return; }
        out.appendChild(document.createTextNode("The impact suggests "));
        var strong = document.createElement("strong");
        strong.textContent = body.severity;
        out.appendChild(strong);
        out.appendChild(document.createTextNode(" (" + body.reasons.join("; ") + ")" +
          (chosen && chosen !== body.severity ? "; saving " + chosen + " needs a reason." : ".")));
      }).catch(function () {});
    }
    function later() { clearTimeout(timer); timer = setTimeout(ask, 250); }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
  }

  document.addEventListener("DOMContentLoaded", function () {
    suggestSeverity();
    var room = $("room");
    if (!room) return;
    var forms = document.querySelectorAll("form.live-form");
    for (var i = 0; i < forms.length; i++) enhance(forms[i]);
    connect(room);
    refreshClocks();
    setInterval(refreshClocks, 15000);
  });
})();

/* Web Push for "this device", on /me (templates/me_push.html). Needs a browser with service workers
   and the Push API, on HTTPS or localhost; without them the section says why and the form stays hidden.
   Enabling: ask for permission, register /sw.js, subscribe with the server's VAPID public key
   (GET /me/push/key), then submit the section's ordinary form (CSRF token included) with the
   subscription's endpoint and keys. The server answers with a redirect and a message, as every form. */
(function () {
  "use strict";
  var form = document.getElementById("push-form");
  var status = document.getElementById("push-status");
  if (!form || !status) { return; }
  function say(text) { status.textContent = text; }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say("This browser cannot receive push notifications from tocsin. On an iPhone or iPad, add tocsin to the " +
        "home screen (Share, then Add to Home Screen), open it from there and come back to this page.");
    return;
  }
  if (!window.isSecureContext) {
    say("Push needs tocsin to be opened over HTTPS (or on localhost).");
    return;
  }

  function decode(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }
  function sameKey(buffer, text) {
    if (!buffer) { return false; }
    var a = new Uint8Array(buffer), b = decode(text);
    if (a.length !== b.length) { return false; }
    for (var i = 0; i < a.length; i++) { if (a[i] !== b[i]) { return false; } }
    return true;
  }

  var key = null;
  navigator.serviceWorker.register("/sw.js", {scope: "/"}).catch(function () { /* retried on enable */ });
  fetch(form.getAttribute("data-key-url"), {headers: {"Accept": "application/json"}, credentials: "same-origin"})
    .then(function (res) { if (!res.ok) { throw new Error("HTTP " + res.status); } return res.json(); })
    .then(function (info) {
      if (!info.ready) { say(info.detail); return; }
      key = info.public_key;
      form.hidden = false;
      say(Notification.permission === "denied"
        ? "Notifications are blocked for this site: allow them in the browser's site settings, then reload."
        : "");
    })
    .catch(function () { say("Could not read the push key: reload the page to try again."); });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!key) { return; }
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    say("Asking this browser for permission to show notifications…");
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") { throw new Error("notifications were not allowed for this site"); }
      return navigator.serviceWorker.register("/sw.js", {scope: "/"});
    }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      return reg.pushManager.getSubscription().then(function (old) {
        // A subscription made with another server key cannot carry our pushes: replace it.
        if (old && !sameKey(old.options.applicationServerKey, key)) {
          return old.unsubscribe().then(function () { return null; });
        }
        return old;
      }).then(function (sub) {
        return sub || reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: decode(key)});
      });
    }).then(function (sub) {
      var json = sub.toJSON();
      form.elements.endpoint.value = json.endpoint;
      form.elements.p256dh.value = json.keys.p256dh;
      form.elements.auth.value = json.keys.auth;
      say("Saving this device…");
      form.submit();  // the ordinary POST (no submit event, so this handler does not run again)
    }).catch(function (err) {
      if (button) { button.disabled = false; }
      say("Push was not enabled: " + (err && err.message ? err.message : err));
    });
  });
})();

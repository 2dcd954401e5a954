/* tocsin service worker: shows pushed pages and acts on their buttons.
   Served at /sw.js (scope: the whole console). A push carries JSON (notify/push_subscription.py):
   {title, body, kind, tag, url, actions: [{action, title, done, link}]}, where each link is the
   page's one-time action link (/n/<token>), the same one the email carries. A button POSTs to it;
   the link acts once, as the person it was sent to, and needs no login. */
"use strict";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {body: event.data ? event.data.text() : ""}; }
  var actions = (data.actions || []).slice(0, 2);
  event.waitUntil(self.registration.showNotification(data.title || "tocsin", {
    body: data.body || "",
    tag: data.tag || undefined,
    renotify: Boolean(data.tag),
    requireInteraction: data.kind === "page" || data.kind === "incident",
    icon: "/static/icon-192.png",
    badge: "/static/icon-192.png",
    timestamp: data.sent_at ? Date.parse(data.sent_at) : Date.now(),
    actions: actions.map(function (a) { return {action: a.action, title: a.title}; }),
    data: {url: data.url || "/", title: data.title || "", tag: data.tag || "", actions: actions}
  }));
});

function openPage(url) {
  return self.clients.matchAll({type: "window", includeUncontrolled: true}).then(function (wins) {
    for (var i = 0; i < wins.length; i++) {
      if (new URL(wins[i].url).pathname === url && "focus" in wins[i]) { return wins[i].focus(); }
    }
    return self.clients.openWindow(url);
  });
}

self.addEventListener("notificationclick", function (event) {
  var note = event.notification, data = note.data || {};
  note.close();
  var act = (data.actions || []).filter(function (a) { return a.action === event.action; })[0];
  if (!act) { event.waitUntil(openPage(data.url || "/")); return; }
  event.waitUntil(fetch(act.link, {method: "POST", credentials: "omit", redirect: "manual"}).then(function (res) {
    if (res.ok) {
      return self.registration.showNotification(act.done + ": " + data.title, {tag: data.tag || undefined,
        icon: "/static/icon-192.png", body: "Done from this device."});
    }
    return self.clients.openWindow(act.link);  // the link's page says why (used already, expired)
  }).catch(function () { return self.clients.openWindow(act.link); }));
});

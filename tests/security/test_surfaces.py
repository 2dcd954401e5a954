"""Need-to-know on every surface that can carry incident text.

One restricted incident carries a distinctive SECRET in its title, summary, a note, its postmortem
and an action item, and has an alert attached to it and a problem linked to it. An
outsider (a responder who is neither a participant nor in a security team) and an outside viewer
then read everything they can reach, and SECRET must appear nowhere: every GET route of the API
and the console (the list comes from the app, so a new route is walked without an entry here), with
search and filters; the room's event stream; reports, charts and the CSV export; /metrics; iCal
feeds; the public status page and its feeds; the emails, Slack posts and webhook payloads the engine
sends them; and error messages (a restricted incident answers exactly as a missing one does).

Alerts are not incident text: an alert stays visible to everyone after it is attached to a
restricted incident (docs/alerting.md), but which incident it went to does not
(test_an_attached_alert_does_not_name_its_restricted_incident).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.harness.console import PASSWORD, Viewer, login, served
from tests.harness.ingest import AppliedClient
from tests.harness.routes import app_routes

SECRET = "Zanzibar7Q"  # one word: survives search tokenising, CSV quoting and HTML escaping
API = "/api/v1"


def ok(r: Any, *status: int) -> Any:
    assert r.status_code in (status or (200,)), f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}"
    return r.json() if r.headers.get("content-type", "").startswith("application/json") else r


@pytest.fixture
def secret_world(app, client, db, clock, system, make_person):
    """The restricted incident and everything hanging off it, made through the API by its insiders."""
    from tocsin.chatops.models import ChatChannel
    from tocsin.users.service import require_user, update_user

    admin, insider = make_person("admin", name="Ada Admin"), make_person("responder", name="Ina Insider")
    outsider, viewer = make_person("responder", name="Otto Outsider"), make_person("viewer", name="Vera Viewer")
    with db.unit_of_work() as s:
        for p in (outsider, viewer):
            update_user(s, actor=system, now=clock.now(), user=require_user(s, p.id), password=PASSWORD)
    A, I = {"headers": admin.headers}, {"headers": insider.headers}  # noqa: N806, E741
    ok(client.post(f"{API}/teams", json={"name": "Platform", "slug": "platform"}, **A), 201)
    ok(client.put(f"{API}/teams/platform/members", json={"users": [insider.email, outsider.email]}, **A))
    ok(client.post(f"{API}/services", json={"name": "Checkout", "slug": "checkout", "owner_team": "platform"}, **A),
       201)
    ok(client.post(f"{API}/schedules", json={"name": "Ops", "slug": "ops", "timezone": "UTC"}, **A), 201)
    ok(client.post(f"{API}/schedules/ops/layers", json={"name": "primary", "kind": "daily", "timezone": "UTC",
                                                        "start": "2025-12-01T00:00:00Z", "members": [outsider.email]},
                   **A), 201)
    ical = ok(client.post(f"{API}/schedules/ops/ical-token", **A))["url"]
    integration = ok(client.post(f"{API}/integrations", json={"service": "checkout", "type": "events_v2",
                                                              "name": "pd"}, **A), 201)
    ok(client.post("/v2/enqueue", json={
        "routing_key": integration["key"], "event_action": "trigger", "dedup_key": "secret",
        "payload": {"summary": "Disk full on db1", "source": "db1", "severity": "critical"}}), 202)
    alert = ok(client.get(f"{API}/alerts", **A))["items"][0]
    inc = ok(client.post(f"{API}/incidents", json={
        "title": f"{SECRET} title", "summary": f"{SECRET} summary", "severity": "SEV1", "restricted": True,
        "services": ["checkout"]}, **I), 201)
    ref = inc["ref"]
    note = ok(client.post(f"{API}/incidents/{ref}/notes", json={"text": f"{SECRET} note"}, **I), 201)
    evidence = ok(client.post(f"{API}/incidents/{ref}/evidence/files", content=f"{SECRET} log".encode(), **A,
                              params={"name": f"{SECRET}.log", "reason": f"{SECRET} reason"}), 201)
    ok(client.post(f"{API}/alerts/{alert['id']}/attach", json={"incident": ref}, **I))
    item = ok(client.post(f"{API}/action-items", json={"title": f"{SECRET} action", "type": "prevent",
                                                       "incident": ref, "owner": insider.email}, **I), 201)
    problem = ok(client.post(f"{API}/problems", json={"title": "Disk fills up", "service": "checkout"}, **I), 201)
    ok(client.post(f"{API}/problems/{problem['ref']}/incidents", json={"incident": ref}, **I), 201)
    ok(client.post(f"{API}/status-pages", json={"slug": "acme", "name": "Acme"}, **A), 201)
    notice = ok(client.post(f"{API}/incidents/{ref}/status-updates", json={
        "page": "acme", "name": "Checkout is slow", "status": "investigating", "body": "We are looking into it."},
        **A), 201)
    ok(client.patch(f"{API}/incidents/{ref}", json={"status": "resolved"}, **I))
    pm = ok(client.post(f"{API}/incidents/{ref}/postmortem", json={}, **I), 201)
    ok(client.patch(f"{API}/postmortems/{pm['id']}", json={"body": f"# What happened\n\n{SECRET} root cause"}, **I))
    # a restricted security breach owing GDPR: its clocks, regimes, filings and reports carry SECRET
    sec = ok(client.post(f"{API}/incidents", json={"title": f"{SECRET} breach", "severity": "SEV2",
                                                   "kind": "security", "restricted": True}, **I), 201)["ref"]
    ok(client.put(f"{API}/incidents/{sec}/exposure", json={"data_categories": ["personal"], "regions": ["EU"]}, **I))
    ok(client.post(f"{API}/incidents/{sec}/regimes", json={"regime": "gdpr", "reason": f"{SECRET} regime"}, **I))
    ok(client.put(f"{API}/incidents/{sec}/clocks/aware_at", json={"at": "2026-01-01T10:00:00Z",
                                                                  "reason": f"{SECRET} clock"}, **I))
    art33 = next(o["id"] for o in ok(client.get(f"{API}/incidents/{sec}/obligations", **I))["items"]
                 if o["obligation"] == "art33")
    ok(client.post(f"{API}/incidents/{sec}/obligations/{art33}/filing", json={"reference": f"{SECRET}-ref"}, **A))
    # an approved action run for it, its parameter carrying SECRET (the run waits for a second person)
    ok(client.post(f"{API}/automation/actions", json={
        "slug": "acme", "name": "Flush", "kind": "webhook", "url": "https://hooks.example.test/x",
        "requires_approval": True, "params_schema": [{"name": "note", "type": "string"}]}, **A), 201)
    run = ok(client.post(f"{API}/incidents/{ref}/automation/runs", json={"action": "acme",
                                                                        "params": {"note": f"{SECRET} run"}}, **I), 201)
    with db.unit_of_work() as s:  # its chat channel, as Configure -> Chat lists it (to admins only)
        s.add(ChatChannel(incident_id=uuid.UUID(inc["id"]), platform="slack", name="inc-1", private=True,
                          state="ready", channel_id="C0SECRET", created_at=clock.now()))
    control = ok(client.post(f"{API}/incidents", json={"title": "Control outage", "severity": "SEV3"}, **I), 201)
    ok(client.patch(f"{API}/incidents/{control['ref']}", json={"status": "resolved"}, **I))
    clock.advance(timedelta(hours=2))  # so that reports (up to now, exclusive) count both incidents
    return {"admin": admin, "insider": insider, "outsider": outsider, "viewer": viewer, "ref": ref, "inc": inc,
            "note": note["id"], "alert": alert["id"], "item": item, "problem": problem, "pm": pm["id"],
            "notice": notice["id"], "control": control["ref"], "sec": sec, "ical": ical, "integration": integration,
            "evidence": evidence["id"], "run": run["id"]}


def _values(w: dict[str, Any], who: Any) -> dict[str, str]:
    """What each path parameter is, for the outsider's walk: the restricted incident's things wherever a
    route takes them, the outsider's own user otherwise."""
    return {"ref": w["ref"], "entry_id": w["note"], "alert_id": w["alert"], "postmortem_id": w["pm"],
            "item_id": w["item"]["ref"], "problem_id": w["problem"]["ref"], "slug": "acme",
            "status_incident_id": w["notice"], "integration_id": w["integration"]["id"], "user_id": str(who.id),
            "method_id": str(uuid.uuid4()), "rule_id": str(uuid.uuid4()), "silence_id": str(uuid.uuid4()),
            "window_id": str(uuid.uuid4()), "heartbeat_id": str(uuid.uuid4()), "check_id": str(uuid.uuid4()), "slo_id": str(uuid.uuid4()),
            "template_id": str(uuid.uuid4()), "maintenance_id": str(uuid.uuid4()), "component_id": str(uuid.uuid4()),
            "swap_id": str(uuid.uuid4()), "path": "app.js", "evidence_id": w["evidence"],
            "workflow_id": str(uuid.uuid4()), "exercise_id": str(uuid.uuid4()),
            "group_id": str(uuid.uuid4()), "run_id": w["run"], "action_id": str(uuid.uuid4()),
            "role": "incident_commander", "sub_id": str(uuid.uuid4())}  # SCIM: the provider's token only (an outsider gets a 401)


KEYS = {"/api/v1/automation/actions/": "acme", "/api/v1/runbooks/": "acme", "/api/v1/incidents/": "ref", "/incidents/": "ref", "/api/v1/users/": "me", "/api/v1/teams/": "platform",
        "/teams/": "platform",
        "/api/v1/services/": "checkout", "/services/": "checkout", "/api/v1/schedules/": "ops", "/schedules/": "ops",
        "/api/v1/escalation-policies/": "default", "/escalation-policies/": "default"}
# GET routes the walk leaves out, and why.
NOT_WALKED = {
    "/incidents/{ref}/events": "an endless stream: test_the_room_stream_refuses_an_outsider reads it",
    "/ical/schedules/{token}.ics": "a token route: test_ical_feed_and_metrics read it",
    "/heartbeats/{key}": "an integration key route; it answers a fixed text",
    "/v2/alerts/requests/{request_id}": "the Opsgenie drop-in, keyed by GenieKey: test_opsgenie_ingest.py checks "
                                        "that a key of one service cannot reach another's alerts",
    "/v2/heartbeats/{name}/ping": "the Opsgenie drop-in's heartbeat ping, keyed by GenieKey; it answers a fixed text",
    "/n/{token}": "a signed link sent only to the person paged (test_what_the_engine_sends_outsiders)",
    "/invite/{token}": "an invitation link, made for one person",
    "/guest/{token}": "an outside responder's invitation link, made for one person (tests/web/test_guests.py)",
    "/setup/{token}": "the first-run link: dead once any user exists (tests/web/test_setup.py)",
    "/ical/users/{token}.ics": "a personal feed token: only that person's shifts (tests/api/test_shift_swaps_api.py)",
    "/status/{slug}/confirm/{token}": "a subscriber's link", "/status/{slug}/unsubscribe/{token}": "likewise",
}
EXTRA = [  # search, filters and pagination over what the outsider may list
    f"{API}/incidents?q={SECRET}", f"{API}/incidents?status=resolved&limit=1", f"{API}/incidents?severity=SEV1",
    f"{API}/incidents/export?q={SECRET}", f"{API}/alerts?q={SECRET}", f"{API}/alerts?service=checkout",
    f"{API}/alerts?status=triggered", f"{API}/action-items?incident={{ref}}", f"{API}/action-items?q={SECRET}",
    f"{API}/postmortems?q={SECRET}", f"{API}/problems?q={SECRET}", f"{API}/reports/incidents?group_by=service",
    f"{API}/reports/incidents?group_by=severity", f"{API}/reports/incidents/chart.svg?metric=mttr",
    f"{API}/reports/page?group_by=service", f"{API}/reports/action-items", "/incidents?q=" + SECRET,
    "/incidents?status=resolved", "/alerts?status=triggered", "/reports/view?group_by=service", "/postmortems?q=" + SECRET,
    f"{API}/incidents/{{control}}/problem-suggestions", "/services/checkout", f"{API}/services/checkout/changes",
    *(f"{API}/incidents/{{sec}}/{part}" for part in ("clocks", "exposure", "regimes", "obligations")),
    "/incidents/{sec}/obligations/report", "/incidents/{sec}", f"{API}/obligations?state=all",
]


def _walk_paths(app: Any, w: dict[str, Any], who: Any) -> list[str]:
    values = _values(w, who)
    paths = []
    for method, template in sorted(app_routes(app)):
        if method != "GET" or template in NOT_WALKED or template.startswith("/status/"):
            continue
        path = template
        if "{key}" in path:
            prefix = next(p for p in sorted(KEYS, key=len, reverse=True) if path.startswith(p))
            key = KEYS[prefix]
            path = path.replace("{key}", {"ref": w["ref"], "me": who.email}.get(key, key))
        path = path.format(**values)
        assert "{" not in path, f"no value for a parameter of {template}: add it to _values"
        paths.append(path)
    return paths + [p.format(ref=w["ref"], control=w["control"], sec=w["sec"]) for p in EXTRA]


@pytest.mark.slow  # walks every route (make test runs it; make test-fast leaves it out)
@pytest.mark.parametrize("kind", ["outsider", "viewer"])
def test_no_route_shows_a_restricted_incident_to_an_outsider(app, client, secret_world, kind):
    w = secret_world
    who = w[kind]
    web = AppliedClient(app, raise_server_exceptions=False)
    assert login(web, who.email, PASSWORD).status_code == 303
    leaks, errors = [], []
    for path in _walk_paths(app, w, who):
        c, headers = (client, who.headers) if path.startswith(("/api/", "/metrics")) else (web, {})
        r = c.get(path, headers=headers, follow_redirects=False)
        if r.status_code >= 500:
            errors.append(f"GET {path}: {r.status_code}")
        body = r.content.decode("utf-8", "replace")
        if SECRET in body or SECRET in str(r.headers):
            at = body.find(SECRET)
            leaks.append(f"GET {path} ({r.status_code}): ...{body[max(0, at - 120):at + 40]!r}")
    web.close()
    assert not errors, "\n".join(errors)
    assert not leaks, f"{kind} sees the secret:\n  " + "\n  ".join(leaks)


def test_the_insider_does_see_it(app, client, secret_world):
    """The walk above could pass by reaching nothing: the insider's walk finds SECRET on the main surfaces."""
    w = secret_world
    me = w["insider"].headers
    assert client.get(f"{API}/alerts/{w['alert']}", headers=me).json()["incident"] == w["ref"]
    for path in (f"{API}/incidents/{w['ref']}", f"{API}/incidents?q={SECRET}",
                 f"{API}/incidents/{w['ref']}/timeline", f"{API}/postmortems/{w['pm']}",
                 f"{API}/action-items/{w['item']['ref']}", f"{API}/incidents/export",
                 f"{API}/incidents/{w['ref']}/evidence", f"{API}/incidents/{w['ref']}/evidence/report",
                 f"{API}/incidents/{w['ref']}/evidence/{w['evidence']}/content",
                 f"{API}/incidents/{w['ref']}/automation/runs"):
        assert SECRET in client.get(path, headers=me).text, path


def test_errors_do_not_tell_a_restricted_incident_from_a_missing_one(client, secret_world):
    """Every place an outsider can name an incident answers the restricted one exactly as one that does not exist."""
    w = secret_world
    h = w["outsider"].headers
    ref = w["ref"]
    missing = "INC-999"
    probes = [
        ("GET", f"{API}/incidents/{{ref}}", None), ("GET", f"{API}/incidents/{{ref}}/timeline", None),
        ("PATCH", f"{API}/incidents/{{ref}}", {"summary": "x"}),
        ("POST", f"{API}/incidents/{{ref}}/notes", {"text": "x"}),
        ("POST", f"{API}/incidents/{{ref}}/participants", {"kind": "observer"}),
        ("GET", f"{API}/incidents/{{ref}}/postmortem", None), ("POST", f"{API}/incidents/{{ref}}/postmortem", {}),
        ("GET", f"{API}/incidents/{{ref}}/action-items", None), ("GET", f"{API}/incidents/{{ref}}/problems", None),
        ("GET", f"{API}/incidents/{{ref}}/changes", None),
        ("GET", f"{API}/incidents/{{ref}}/phase", None), ("POST", f"{API}/incidents/{{ref}}/checklist", {}),
        ("POST", f"{API}/incidents/{{ref}}/status-updates", {"page": "acme", "name": "n", "status": "investigating",
                                                             "body": "b"}),
        ("POST", f"{API}/action-items", {"title": "t", "type": "prevent", "incident": "{ref}"}),
        ("GET", f"{API}/action-items?incident={{ref}}", None),
        ("POST", f"{API}/problems/{w['problem']['ref']}/incidents", {"incident": "{ref}"}),
        ("DELETE", f"{API}/problems/{w['problem']['ref']}/incidents/{{ref}}", None),
    ]
    differ = []
    for method, template, body in probes:
        answers = []
        for key in (ref, missing):
            path = template.replace("{ref}", key)
            data = {k: (v.replace("{ref}", key) if isinstance(v, str) else v) for k, v in (body or {}).items()}
            r = client.request(method, path, json=data if body is not None else None, headers=h)
            answers.append((r.status_code, r.text.replace(key, "<ref>").replace(w["inc"]["id"], "<id>")))
        if answers[0] != answers[1]:
            differ.append(f"{method} {template}: restricted {answers[0]} vs missing {answers[1]}")
    # by id, too
    for template in (f"{API}/postmortems/{{}}", f"{API}/action-items/{{}}", f"{API}/incidents/{{}}"):
        real = {f"{API}/postmortems/{{}}": w["pm"], f"{API}/action-items/{{}}": w["item"]["id"],
                f"{API}/incidents/{{}}": w["inc"]["id"]}[template]
        fake = str(uuid.uuid4())
        a, b = (client.get(template.format(x), headers=h) for x in (real, fake))
        if (a.status_code, a.text.replace(real, "<id>")) != (b.status_code, b.text.replace(fake, "<id>")):
            differ.append(f"GET {template}: restricted {a.status_code} {a.text} vs missing {b.status_code} {b.text}")
    assert not differ, "\n".join(differ)


def test_the_room_stream_refuses_an_outsider(app, secret_world):
    w = secret_world
    with served(app) as base:
        viewer = Viewer(base, w["outsider"].email)
        try:
            viewer.open(w["ref"])
            assert viewer.status == 404
            assert viewer.next_timeline() is None  # the stream ended: nothing was sent
        finally:
            viewer.close()


def test_ical_feed_and_metrics(client, secret_world, app):
    w = secret_world
    feed = client.get("/ical/" + w["ical"].split("/ical/", 1)[1])
    assert feed.status_code == 200 and "BEGIN:VCALENDAR" in feed.text
    assert SECRET not in feed.text
    metrics = ok(client.get("/metrics", headers=w["outsider"].headers))
    assert SECRET not in metrics.text
    # restricted incidents are not counted where a non-admin scraper could tell them apart
    assert 'tocsin_incidents_open{' not in metrics.text or "SEV1" not in metrics.text


def test_the_public_status_page(app, client, secret_world):
    """Only the notice's own words reach the public page and its feeds; never the internal incident's."""
    cache = app.state.status_cache
    cache.refresh_all()
    assert cache.wait_idle()
    index = client.get("/status/acme")
    assert index.status_code == 200 and "Checkout is slow" in index.text
    for path in ("/status/acme", "/status/acme/history.atom", "/status/acme/history.rss", "/status/acme/incidents.json",
                 "/status/acme/index.json", "/status/acme/summary.json", "/status/acme/history"):
        r = client.get(path)
        assert SECRET not in r.text, path
        assert not re.search(r"INC-\d+", r.text), f"{path} names an internal incident"


def test_an_attached_alert_does_not_name_its_restricted_incident(app, client, secret_world):
    w = secret_world
    who = w["outsider"]
    web = AppliedClient(app, raise_server_exceptions=False)
    assert login(web, who.email, PASSWORD).status_code == 303
    assert ok(client.get(f"{API}/alerts/{w['alert']}", headers=who.headers))["incident"] is None
    named = re.compile(re.escape(w["ref"]) + r"\b")
    for c, path, headers in ((client, f"{API}/alerts/{w['alert']}", who.headers),
                             (client, f"{API}/alerts", who.headers),
                             (client, f"{API}/alerts/{w['alert']}/escalation", who.headers),
                             (client, f"{API}/alerts/{w['alert']}/problem-suggestions", who.headers),
                             (web, f"/alerts/{w['alert']}", {}), (web, "/alerts", {}), (web, "/", {}),
                             (web, "/services/checkout", {})):
        r = c.get(path, headers=headers)
        assert r.status_code in (200, 404), (path, r.status_code)
        assert not named.search(r.text), f"{path} names {w['ref']}"
    web.close()


def test_what_the_engine_sends_outsiders(runbook):
    """The outsider is on call for the service, by email, Slack and webhook. A security auto-incident rule
    declares a restricted incident from an alert; an insider renames it and writes in it while the engine
    goes on paging for a commander. Nothing the engine sends the outsider carries the incident's text."""
    rb = runbook
    rb.person("Ada", role="admin"), rb.person("Insider"), rb.person("Outsider")
    rb.service("checkout", tier=1)
    methods = [rb.contact("Outsider", "email", "outsider@example.test"),
               rb.contact("Outsider", "slack", "C0OUTSIDER"),
               rb.contact("Outsider", "webhook", rb.receiver.url() + "/outsider")]
    rb.rules("Outsider", *((m, 0) for m in methods))
    rb.policy((5, ["Outsider"]), repeat=3)
    rb.as_("Ada").post("/auto-incident-rules", name="exfiltration", matchers=["tier=1"], incident_severity="SEV1",
                       incident_kind="security")
    rb.trigger("checkout-5xx")
    rb.tick()
    ref = rb.as_("Ada").get("/incidents")["items"][0]["ref"]
    rb.as_("Ada").post(f"/incidents/{ref}/participants", 200, user=rb.people["Insider"].email, kind="responder")
    insider = rb.as_("Insider")
    insider.patch(f"/incidents/{ref}", title=f"{SECRET} title", summary=f"{SECRET} summary")
    insider.post(f"/incidents/{ref}/notes", text=f"{SECRET} note")
    for _ in range(3):
        rb.tick(minutes=5)
    sent = ([m.as_string() for m in rb.emails()] + [str(p.payload) for p in rb.slack_posts()]
            + [p.body.decode("utf-8", "replace") for p in rb.webhook_posts()])
    assert len(sent) > 3, "the outsider was hardly paged: the test would prove nothing"
    leaks = [text[:300] for text in sent if SECRET in text]
    assert not leaks, leaks


@pytest.mark.both_backends  # cursors and the visibility filter are one SQL query: PostgreSQL orders ids its own way
def test_pagination_does_not_count_what_an_outsider_cannot_see(client, secret_world):
    """A page of one, where the only other rows are the restricted incident's: no next page, no extra row."""
    w = secret_world
    h = w["outsider"].headers
    visible = {"incidents": 1, "action-items": 0, "postmortems": 0, "problems": 1, "alerts": 1}
    wrong = []
    for what, n in visible.items():
        seen, cursor, pages = 0, None, 0
        while pages < 5:
            r = ok(client.get(f"{API}/{what}", params={"limit": 1, **({"cursor": cursor} if cursor else {})},
                              headers=h))
            seen += len(r["items"])
            pages += 1
            cursor = r.get("next_cursor")
            if not cursor:
                break
        if (seen, pages) != (n, max(n, 1)):
            wrong.append(f"{what}: {seen} rows in {pages} pages, expected {n} in {max(n, 1)}")
    assert not wrong, "\n".join(wrong)


def test_console_errors_do_not_tell_a_restricted_incident_from_a_missing_one(app, secret_world):
    w = secret_world
    web = AppliedClient(app, raise_server_exceptions=False)
    assert login(web, w["outsider"].email, PASSWORD).status_code == 303
    from tocsin.web.auth import COOKIE, csrf_for

    token = csrf_for(app.state.settings, web.cookies.get(COOKIE))
    differ = []

    def norm(r: Any, key: str) -> tuple[int, str]:
        text = re.sub(r'name="csrf_token" value="[0-9a-f]+"', "", r.text)
        return r.status_code, text.replace(key, "<ref>")

    for method, template, form in (("GET", "/incidents/{ref}", None), ("GET", "/incidents/{ref}/postmortem", None),
                                   ("POST", "/incidents/{ref}/note", {"text": "x"}),
                                   ("POST", "/incidents/{ref}/postmortem", {}),
                                   ("POST", f"/alerts/{w['alert']}/attach", {"incident": "{ref}"})):
        answers = []
        for key in (w["ref"], "INC-999"):
            data = None if form is None else {**{k: v.replace("{ref}", key) for k, v in form.items()},
                                              "csrf_token": token}
            answers.append(norm(web.request(method, template.replace("{ref}", key), data=data,
                                            follow_redirects=False), key))
        if answers[0] != answers[1]:
            differ.append(f"{method} {template}: {answers[0][0]} vs {answers[1][0]}")
    pm = web.get(f"/postmortems/{w['pm']}")
    fake = web.get(f"/postmortems/{uuid.uuid4()}")
    if pm.status_code != fake.status_code:
        differ.append(f"GET /postmortems/<id>: {pm.status_code} vs {fake.status_code}")
    web.close()
    assert not differ, "\n".join(differ)


def test_reports_count_only_what_the_reader_may_see(client, secret_world):
    w = secret_world
    counts = {who: ok(client.get(f"{API}/reports/incidents", headers=w[who].headers))["overall"]["incidents"]
              for who in ("insider", "outsider", "viewer")}
    assert counts == {"insider": 3, "outsider": 1, "viewer": 1}  # the insider: the outage, the breach, the control


def test_every_room_and_postmortem_action_refuses_an_outsider_as_if_nothing_were_there(app, client, secret_world):
    """Each console action on the restricted incident (and on its postmortem), with an empty form and with
    a plausible one, answers an outsider exactly as for an incident that does not exist, and changes nothing."""
    from tocsin.web.auth import COOKIE, csrf_for
    from tocsin.web.room_actions import ACTIONS
    from tocsin.web.routes.postmortem_pages import _ACTIONS as PM_ACTIONS

    w = secret_world
    web = AppliedClient(app, raise_server_exceptions=False)
    assert login(web, w["outsider"].email, PASSWORD).status_code == 303
    token = csrf_for(app.state.settings, web.cookies.get(COOKIE))
    insider = w["insider"].headers
    before = len(ok(client.get(f"{API}/incidents/{w['ref']}/timeline", headers=insider))["items"])
    plausible = {"text": "x", "status": "monitoring", "severity": "SEV3", "role": "scribe", "kind": "observer",
                 "alert": w["alert"], "service": "checkout", "problem": w["problem"]["ref"], "body": "b",
                 "name": "n", "page": "acme", "public_text": "p", "reviewers": w["outsider"].email}
    differ = []
    for form in ({}, plausible):
        for action in sorted(ACTIONS):
            got = []
            for key in (w["ref"], "INC-999"):
                r = web.post(f"/incidents/{key}/{action}", data={**form, "csrf_token": token}, follow_redirects=False)
                got.append((r.status_code, re.sub(r'value="[0-9a-f]{64}"', "", r.text).replace(key, "<ref>")))
            if got[0] != got[1] or got[0][0] != 404:
                differ.append(f"/incidents/<ref>/{action} {'plausible' if form else 'empty'} form: "
                              f"{got[0][0]} vs missing {got[1][0]}")
        for action in sorted(PM_ACTIONS):
            got = []
            for pm in (w["pm"], str(uuid.uuid4())):
                r = web.post(f"/postmortems/{pm}/{action}", data={**form, "csrf_token": token}, follow_redirects=False)
                got.append((r.status_code, re.sub(r'value="[0-9a-f]{64}"', "", r.text).replace(pm, "<id>")))
            if got[0] != got[1] or got[0][0] != 404:
                differ.append(f"/postmortems/<id>/{action} {'plausible' if form else 'empty'} form: "
                              f"{got[0][0]} vs missing {got[1][0]}")
    web.close()
    assert not differ, "\n".join(differ)
    assert len(ok(client.get(f"{API}/incidents/{w['ref']}/timeline", headers=insider))["items"]) == before

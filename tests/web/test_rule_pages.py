"""Routing, auto-incident and inhibition rules, silences and maintenance windows in the console:
admins (responders for silences and windows) change them through the same services as the API,
everyone else reads them, and bad input is a readable 4xx page."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import sqlalchemy as sa

from tests.harness.console import csrf, post_form
from tocsin.audit.models import AuditEntry
from tocsin.routing import service as rules
from tocsin.routing.models import AutoIncidentRule, InhibitionRule, MaintenanceWindow, RoutingRule, Silence


def actions(db) -> list[str]:
    with db.unit_of_work() as s:
        return list(s.execute(sa.select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())


def read(client, path: str) -> str:
    """The page as a person reads it (entities such as &#34; decoded)."""
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    return html.unescape(r.text)


def rows(db, model):
    with db.unit_of_work() as s:
        found = list(s.execute(sa.select(model)).scalars())
        s.expunge_all()
        return found


def test_routing_rules_create_reorder_edit_delete(web_client, world, db):
    admin = web_client("admin")
    token = csrf(admin, "/routing-rules")
    for name, matchers in (("databases", 'team=db\nseverity=~"critical|error"'), ("payments", "team=payments")):
        r = post_form(admin, "/routing-rules", {"name": name, "matchers": matchers, "service": "checkout",
                                                "urgency": "high" if name == "databases" else ""}, token=token)
        assert r.status_code == 303, r.text
    page = read(admin, "/routing-rules")
    assert 'Alerts where team is "db" and severity matches /critical|error/ go to checkout with high urgency.' \
        in page
    assert "go to checkout with the urgency their severity gives" in page
    table = page[page.index("<table"):]
    assert table.index("databases") < table.index("payments")

    first, second = (r.id for r in sorted(rows(db, RoutingRule), key=lambda r: r.position))
    order = f"{first},{second}"
    r = post_form(admin, "/routing-rules/order", {"order": order, "rule": str(second), "direction": "up"},
                  token=token)
    assert r.status_code == 303
    assert [r.name for r in sorted(rows(db, RoutingRule), key=lambda r: r.position)] == ["payments", "databases"]
    stale = post_form(admin, "/routing-rules/order", {"order": str(first), "rule": str(first), "direction": "down"},
                      token=token)
    assert stale.status_code == 409 and "reload" in stale.text, "an order missing a rule is refused"

    edit = admin.get(f"/routing-rules/{first}")
    assert edit.status_code == 200 and 'team="db"\nseverity=~"critical|error"' in html.unescape(edit.text)
    r = post_form(admin, f"/routing-rules/{first}", {"name": "dbs", "matchers": "team=db", "service": "",
                                                     "urgency": "low"}, token=token)
    assert r.status_code == 303
    assert "keep the service they came in for with low urgency" in read(admin, "/routing-rules")

    assert post_form(admin, f"/routing-rules/{first}/delete", {}, token=token).status_code == 303
    assert [r.name for r in rows(db, RoutingRule)] == ["payments"]
    assert {"routing_rule.create", "routing_rule.reorder", "routing_rule.update", "routing_rule.delete"} <= \
        set(actions(db))


def test_rule_input_errors_are_4xx_pages(web_client, world, db):
    admin = web_client("admin")
    token = csrf(admin, "/routing-rules")
    cases = [
        ("/routing-rules", {"name": "x", "matchers": "not a matcher", "service": "checkout"}, "matchers[0]"),
        ("/routing-rules", {"name": "x", "matchers": 'a=~"("', "service": "checkout"}, "invalid regular expression"),
        ("/routing-rules", {"name": "x", "matchers": "a=b"}, "needs a service to route to, an urgency, or both"),
        ("/routing-rules", {"name": "x", "matchers": "a=b", "service": "nope"}, "no service"),
        ("/routing-rules", {"name": "x", "matchers": ""}, "matchers is required"),
        ("/auto-incident-rules", {"name": "x", "matchers": "a=b", "incident_severity": "SEV9"}, "SEV9"),
        ("/auto-incident-rules", {"name": "x", "matchers": "a=b", "incident_severity": "SEV2",
                                  "incident_kind": "fun"}, "operational or security"),
        ("/inhibition-rules", {"name": "x", "source_matchers": "a=b", "target_matchers": "c=d",
                               "equal": "good bad!"}, "not a label name"),
        ("/routing-rules/order", {"order": "nonsense", "rule": "x", "direction": "up"}, "no routing rule"),
    ]
    for path, data, words in cases:
        r = post_form(admin, path, data, token=token)
        assert 400 <= r.status_code < 500, (path, data, r.status_code)
        assert words in html.unescape(r.text), (path, words, r.text[:3000])
        assert "<h1>" in r.text
    assert rows(db, RoutingRule) == [] and rows(db, AutoIncidentRule) == [] and rows(db, InhibitionRule) == []
    assert admin.get("/routing-rules/not-an-id").status_code == 404


def test_auto_and_inhibition_rules(web_client, world, db):
    admin = web_client("admin")
    token = csrf(admin, "/auto-incident-rules")
    r = post_form(admin, "/auto-incident-rules", {"name": "tier 1 down", "matchers": "tier=1\nseverity=critical",
                                                  "incident_severity": "SEV1"}, token=token)
    assert r.status_code == 303, r.text
    page = read(admin, "/auto-incident-rules")
    assert 'A new alert where tier is "1" and severity is "critical" declares a SEV1 operational incident.' in page
    (rule,) = rows(db, AutoIncidentRule)
    r = post_form(admin, f"/auto-incident-rules/{rule.id}", {"name": "tier 1", "matchers": "tier=1",
                                                             "incident_severity": "SEV2",
                                                             "incident_kind": "security"}, token=token)
    assert r.status_code == 303
    assert "declares a SEV2 security incident" in read(admin, "/auto-incident-rules")
    assert post_form(admin, f"/auto-incident-rules/{rule.id}/delete", {}, token=token).status_code == 303
    assert rows(db, AutoIncidentRule) == []

    r = post_form(admin, "/inhibition-rules", {"name": "dc down", "source_matchers": "alertname=DatacenterDown",
                                               "target_matchers": "severity!=critical", "equal": "dc, region",
                                               "service": ""}, token=token)
    assert r.status_code == 303, r.text
    text = read(admin, "/inhibition-rules")
    assert ('While an alert where alertname is "DatacenterDown" fires, new alerts where severity is not '
            '"critical" with the same dc, region are held instead of paging.') in text
    (inhibit,) = rows(db, InhibitionRule)
    r = post_form(admin, f"/inhibition-rules/{inhibit.id}", {"name": "dc down", "source_matchers": "alertname=DC",
                                                             "target_matchers": "team=web", "equal": "",
                                                             "service": "checkout"}, token=token)
    assert r.status_code == 303
    assert "(alerts of checkout only)" in read(admin, f"/inhibition-rules/{inhibit.id}")
    assert post_form(admin, f"/inhibition-rules/{inhibit.id}/delete", {}, token=token).status_code == 303
    assert {"auto_incident_rule.update", "inhibition_rule.update", "inhibition_rule.delete"} <= set(actions(db))


def test_non_admins_read_rules_but_cannot_change_them(web_client, world, db, clock, system):
    with db.unit_of_work() as s:
        rule = rules.create_routing_rule(s, actor=system, now=clock.now(), name="db", matchers=["team=db"],
                                         urgency="low")
        auto = rules.create_auto_rule(s, actor=system, now=clock.now(), name="a", matchers=["x=y"],
                                      incident_severity="SEV3")
        rule_id, auto_id = rule.id, auto.id
    for role in ("viewer", "responder"):
        client = web_client(role)
        for path in ("/routing-rules", f"/routing-rules/{rule_id}", "/auto-incident-rules", "/inhibition-rules",
                     f"/auto-incident-rules/{auto_id}"):
            page = client.get(path)
            assert page.status_code == 200, (role, path)
            forms = re.findall(r'<form method="post" action="([^"]*)"', page.text)
            assert set(forms) <= {"/logout", "/incidents"}, (role, path, forms, "no forms for non-admins")
        token = csrf(client, "/routing-rules")
        for path, data in ((f"/routing-rules/{rule_id}", {"name": "x", "matchers": "a=b", "urgency": "high"}),
                           (f"/routing-rules/{rule_id}/delete", {}), ("/auto-incident-rules", {
                               "name": "x", "matchers": "a=b", "incident_severity": "SEV2"}),
                           (f"/auto-incident-rules/{auto_id}/delete", {})):
            r = post_form(client, path, data, token=token)
            assert r.status_code == 403 and "admin role" in r.text, (role, path, r.status_code)
    assert [r.name for r in rows(db, RoutingRule)] == ["db"]


def test_silence_change_extend_and_replace(web_client, world, db, clock):
    client = web_client("responder")
    token = csrf(client, "/silences")
    assert post_form(client, "/silences", {"matchers": "team=db", "duration": "1h", "reason": "upgrade"},
                     token=token).status_code == 303
    (silence,) = rows(db, Silence)
    page = client.get(f"/silences/{silence.id}")
    assert page.status_code == 200 and 'team="db"' in html.unescape(page.text)
    end = re.search(r'name="end" type="datetime-local" required value="([^"]+)"', page.text).group(1)

    r = post_form(client, f"/silences/{silence.id}", {"matchers": 'team="db"', "end": end, "extend": "2h",
                                                      "reason": "longer upgrade"}, token=token)
    assert r.status_code == 303
    (same,) = rows(db, Silence)
    assert same.id == silence.id and same.ends_at == silence.ends_at + timedelta(hours=2)
    assert same.reason == "longer upgrade"

    r = post_form(client, f"/silences/{silence.id}", {"matchers": "team=db\nenv=prod", "end": end,
                                                      "reason": "only prod"}, token=token)
    assert r.status_code == 303
    old, new = sorted(rows(db, Silence), key=lambda x: x.created_at.isoformat() + str(x.id))
    assert old.id == silence.id and old.ends_at <= clock.now(), "the old silence is expired"
    assert new.matchers == [{"name": "team", "op": "=", "value": "db"}, {"name": "env", "op": "=", "value": "prod"}]
    assert "silence.update" in actions(db) and "silence.replace" in actions(db)

    ended = post_form(client, f"/silences/{silence.id}", {"matchers": "team=db", "end": end, "reason": "again"},
                      token=token)
    assert ended.status_code == 409 and "create a new one" in ended.text
    past = post_form(client, f"/silences/{new.id}", {"matchers": "team=db\nenv=prod", "end": "2025-12-31T10:00",
                                                     "reason": "only prod"}, token=token)
    assert past.status_code == 422 and "expire it" in past.text

    viewer = web_client("viewer")
    assert 'id="silence-edit"' not in read(viewer, f"/silences/{new.id}")
    r = post_form(viewer, f"/silences/{new.id}", {"matchers": "a=b", "end": end, "reason": "x"},
                  token=csrf(viewer, "/silences"))
    assert r.status_code == 403


def test_recurring_maintenance_window_create_edit_delete(web_client, world, db, clock):
    client = web_client("responder")
    token = csrf(client, "/silences")
    # ManualClock: 2026-01-01 12:00 UTC; every day 02:00-03:00 Berlin time, from Jan 2
    r = post_form(client, "/maintenance-windows", {
        "service": "checkout", "name": "nightly backup", "start": "2026-01-02T02:00", "end": "2026-01-02T03:00",
        "recurrence": "daily", "until": "", "timezone": "Europe/Berlin", "reason": "backups"}, token=token)
    assert r.status_code == 303, r.text
    (window,) = rows(db, MaintenanceWindow)
    assert window.recurrence == "daily" and window.timezone == "Europe/Berlin"
    assert window.starts_at.isoformat() == "2026-01-02T01:00:00+00:00"
    page = read(client, "/silences")
    assert "nightly backup" in page and "every day (Europe/Berlin)" in page
    assert "starts 2026-01-02 01:00 UTC" in page, "the next occurrence, in the viewer's zone"

    edit = read(client, f"/maintenance-windows/{window.id}")
    assert 'value="2026-01-02T02:00"' in edit and "Next starts 2026-01-02 01:00 UTC" in edit
    r = post_form(client, f"/maintenance-windows/{window.id}", {
        "name": "nightly backup", "start": "2026-01-02T02:00", "end": "2026-01-02T04:00", "recurrence": "weekly",
        "until": "2026-03-01T00:00", "timezone": "Europe/Berlin", "reason": "backups"}, token=token)
    assert r.status_code == 303, r.text
    (window,) = rows(db, MaintenanceWindow)
    assert window.recurrence == "weekly" and window.ends_at.isoformat() == "2026-01-02T03:00:00+00:00"
    assert window.until is not None

    bad = post_form(client, f"/maintenance-windows/{window.id}", {
        "name": "n", "start": "2026-01-02T02:00", "end": "2026-01-04T04:00", "recurrence": "daily",
        "timezone": "Europe/Berlin"}, token=token)
    assert bad.status_code == 422 and "at most 24 hours" in bad.text
    zone = post_form(client, "/maintenance-windows", {"service": "checkout", "name": "n", "start": "2026-01-02T02:00",
                                                      "end": "2026-01-02T03:00", "timezone": "Mars/Base"}, token=token)
    assert zone.status_code == 422 and "time zone" in zone.text

    viewer = web_client("viewer")
    r = post_form(viewer, f"/maintenance-windows/{window.id}/delete", {}, token=csrf(viewer, "/silences"))
    assert r.status_code == 403
    assert post_form(client, f"/maintenance-windows/{window.id}/delete", {}, token=token).status_code == 303
    assert rows(db, MaintenanceWindow) == []
    assert {"maintenance_window.create", "maintenance_window.update", "maintenance_window.delete"} <= \
        set(actions(db))

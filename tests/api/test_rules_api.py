"""Routing rules, silences, maintenance windows, auto-incident and inhibition rules through the API.

What an on-call engineer does: route payment alerts to the payments service, silence a noisy
check while fixing it, plan Tuesday-night maintenance in Berlin time, have critical alerts on
tier-1 services declare an incident. Bad input is refused with a clear 422 and writes nothing;
the roles decide who may change what.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

API = "/api/v1"
RULES, SILENCES, WINDOWS, AUTO = f"{API}/routing-rules", f"{API}/silences", f"{API}/maintenance-windows", \
    f"{API}/auto-incident-rules"
INHIBIT = f"{API}/inhibition-rules"
TABLES = {RULES: "routing_rules", SILENCES: "silences", WINDOWS: "maintenance_windows", AUTO: "auto_incident_rules",
          INHIBIT: "inhibition_rules"}
RANDOM_ID = str(uuid.UUID(int=0x0123456789ABCDEF0123456789ABCDEF))
# The `clock` fixture starts at 2026-01-01 12:00 UTC, a Thursday.
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.isoformat()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def people(make_person, make_service):
    make_service("payments", tier=1)
    make_service("checkout", tier=2)
    return {"viewer": make_person("viewer"), "responder": make_person("responder"), "admin": make_person("admin")}


def count(db, table: str) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one()


def audit_actions(db) -> list[str]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT action FROM audit_log ORDER BY seq")).scalars())


def created(r) -> dict:
    assert r.status_code == 201, r.text
    return r.json()


def good_body(path: str) -> dict:
    """A valid create body for each resource (relative to the clock's start)."""
    return {
        RULES: {"name": "payments alerts", "matchers": ['team="payments"', 'severity=~"critical|error"'],
                "service": "payments", "urgency": "high"},
        SILENCES: {"matchers": ['alertname="DiskFull"'], "ends_at": iso(T0 + timedelta(hours=2)),
                   "reason": "fixing the disk"},
        WINDOWS: {"service": "checkout", "name": "db upgrade", "starts_at": iso(T0 + timedelta(days=1)),
                  "ends_at": iso(T0 + timedelta(days=1, hours=2)), "reason": "postgres 17"},
        AUTO: {"name": "critical on tier 1", "matchers": ['severity="critical"', 'tier="1"'],
               "incident_severity": "P1"},
        INHIBIT: {"name": "node down", "source_matchers": ["alertname=NodeDown"],
                  "target_matchers": ['severity=~"warning|info"'], "equal": ["instance", "cluster"]},
    }[path]


# --- create / read / change / delete, one row per resource -------------------------------------

LIFECYCLE = [
    pytest.param(RULES, {"name": "renamed", "urgency": None}, {"name": "renamed", "urgency": None}, id="routing-rule"),
    pytest.param(WINDOWS, {"name": "db upgrade v2", "recurrence": "weekly", "timezone": "Europe/Berlin"},
                 {"name": "db upgrade v2", "recurrence": "weekly", "timezone": "Europe/Berlin"},
                 id="maintenance-window"),
    pytest.param(AUTO, None, None, id="auto-incident-rule"),
    pytest.param(INHIBIT, {"service": "checkout", "equal": [], "target_matchers": [{"name": "severity", "value": "info"}]},
                 {"service": "checkout", "equal": [], "target_matchers": [{"name": "severity", "op": "=", "value": "info"}]},
                 id="inhibition-rule"),
]


@pytest.mark.parametrize("path, patch, expected", LIFECYCLE)
def test_create_list_patch_delete(client, db, people, path, patch, expected):
    admin = people["admin"].headers
    row = created(client.post(path, json=good_body(path), headers=admin))
    listed = client.get(path, headers=people["viewer"].headers)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"] if isinstance(listed.json(), dict) else listed.json()
    assert [i["id"] for i in items] == [row["id"]]
    if patch is not None:
        r = client.patch(f"{path}/{row['id']}", json=patch, headers=admin)
        assert r.status_code == 200, r.text
        assert {k: r.json()[k] for k in expected} == expected
        assert client.get(f"{path}/{row['id']}", headers=admin).json() == r.json()
    r = client.delete(f"{path}/{row['id']}", headers=admin)
    assert r.status_code == 204, r.text
    assert count(db, TABLES[path]) == 0
    assert client.delete(f"{path}/{row['id']}", headers=admin).status_code == 404
    kind = {RULES: "routing_rule", WINDOWS: "maintenance_window", AUTO: "auto_incident_rule",
            INHIBIT: "inhibition_rule"}[path]
    expected_actions = ["create"] + (["update"] if patch else []) + ["delete"]
    assert [a for a in audit_actions(db) if a.startswith(kind + ".")] == [f"{kind}.{a}" for a in expected_actions]


def test_routing_rule_output_and_matcher_forms(client, people):
    admin = people["admin"].headers
    body = {"name": "db", "matchers": ['service="checkout"', {"name": "component", "op": "!~", "value": "web|api"},
                                       {"name": "env"}], "urgency": "low"}
    rule = created(client.post(RULES, json=body, headers=admin))
    assert rule["matchers"] == [{"name": "service", "op": "=", "value": "checkout"},
                                {"name": "component", "op": "!~", "value": "web|api"},
                                {"name": "env", "op": "=", "value": ""}]
    assert rule["service"] is None and rule["service_id"] is None and rule["urgency"] == "low"
    routed = created(client.post(RULES, json=good_body(RULES), headers=admin))
    assert routed["service"] == "payments" and routed["position"] == rule["position"] + 1


def test_rules_are_tried_in_order_and_can_be_reordered(client, db, people):
    admin = people["admin"].headers
    ids = [created(client.post(RULES, json={**good_body(RULES), "name": f"r{i}"}, headers=admin))["id"]
           for i in range(3)]
    assert [r["id"] for r in client.get(RULES, headers=admin).json()["items"]] == ids
    new = [ids[2], ids[0], ids[1]]
    r = client.put(f"{RULES}/order", json={"ids": new}, headers=admin)
    assert r.status_code == 200, r.text
    assert [(x["id"], x["position"]) for x in r.json()["items"]] == [(i, n) for n, i in enumerate(new)]
    assert [x["id"] for x in client.get(RULES, headers=admin).json()["items"]] == new
    # a deleted rule leaves a gap; a new rule still goes last
    assert client.delete(f"{RULES}/{ids[0]}", headers=admin).status_code == 204
    last = created(client.post(RULES, json=good_body(RULES), headers=admin))
    assert [x["id"] for x in client.get(RULES, headers=admin).json()["items"]] == [ids[2], ids[1], last["id"]]
    assert audit_actions(db).count("routing_rule.reorder") == 1


@pytest.mark.parametrize("order, status, code", [
    pytest.param(lambda ids: ids[:2], 409, "conflict", id="missing-one"),
    pytest.param(lambda ids: ids + [RANDOM_ID], 409, "conflict", id="unknown-id"),
    pytest.param(lambda ids: ids + [ids[0]], 422, "invalid_input", id="repeated"),
    pytest.param(lambda ids: ids[:2] + ["nope"], 422, "invalid_input", id="not-a-uuid"),
])
def test_reorder_needs_every_rule_once(client, people, order, status, code):
    admin = people["admin"].headers
    ids = [created(client.post(RULES, json={**good_body(RULES), "name": f"r{i}"}, headers=admin))["id"]
           for i in range(3)]
    r = client.put(f"{RULES}/order", json={"ids": order(ids)}, headers=admin)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert [x["id"] for x in client.get(RULES, headers=admin).json()["items"]] == ids


# --- bad input: 422, a clear message, nothing written ------------------------------------------

def _w(**kw):
    return {**good_body(WINDOWS), **kw}


def _s(**kw):
    return {**good_body(SILENCES), **kw}


def _r(**kw):
    return {**good_body(RULES), **kw}


def _a(**kw):
    return {**good_body(AUTO), **kw}


def _i(**kw):
    return {**good_body(INHIBIT), **kw}


BAD_CREATES = [
    pytest.param(RULES, _r(matchers=['alertname=~"disk(full"']), "invalid regular expression", id="rule-bad-regex"),
    pytest.param(RULES, _r(matchers=[{"name": "team", "op": "==", "value": "x"}]), "operator '=='",
                 id="rule-unknown-operator"),
    pytest.param(RULES, _r(matchers=["team<>payments"]), "not of the form", id="rule-unknown-operator-text"),
    pytest.param(RULES, _r(matchers=[]), "matchers", id="rule-empty-matchers"),
    pytest.param(RULES, _r(matchers=[{"name": "team", "value": "x", "regex": True}]), "unknown field",
                 id="rule-matcher-unknown-key"),
    pytest.param(RULES, _r(matchers=[{"name": "9team", "value": "x"}]), "label name", id="rule-bad-label-name"),
    pytest.param(RULES, _r(service="billing"), "no service 'billing'", id="rule-unknown-service"),
    pytest.param(RULES, {"name": "x", "matchers": ["a=b"]}, "service to route to", id="rule-no-target"),
    pytest.param(RULES, _r(urgency="urgent"), "urgency", id="rule-bad-urgency"),
    pytest.param(RULES, _r(position=1), "position", id="rule-unknown-field"),
    pytest.param(RULES, _r(name="   "), "name must not be empty", id="rule-blank-name"),
    pytest.param(SILENCES, _s(ends_at=iso(T0 - timedelta(minutes=1))), "must be after", id="silence-ends-in-past"),
    pytest.param(SILENCES, _s(starts_at=iso(T0 + timedelta(hours=3))), "must be after",
                 id="silence-ends-before-starts"),
    pytest.param(SILENCES, _s(ends_at="2026-01-01T18:00:00"), "timezone", id="silence-naive-datetime"),
    pytest.param(SILENCES, _s(ends_at=iso(T0 + timedelta(days=400))), "one year", id="silence-over-a-year"),
    pytest.param(SILENCES, _s(reason="  "), "reason must not be empty", id="silence-blank-reason"),
    pytest.param(SILENCES, {k: v for k, v in _s().items() if k != "reason"}, "reason", id="silence-no-reason"),
    pytest.param(SILENCES, _s(matchers=[]), "matchers", id="silence-empty-matchers"),
    pytest.param(SILENCES, _s(matchers=['x=~"["']), "invalid regular expression", id="silence-bad-regex"),
    pytest.param(SILENCES, _s(author="someone else"), "author", id="silence-unknown-field"),
    pytest.param(WINDOWS, _w(ends_at=iso(T0 + timedelta(hours=23))), "end after it starts",
                 id="window-ends-before-starts"),
    pytest.param(WINDOWS, _w(timezone="Mars/Olympus_Mons"), "unknown time zone", id="window-unknown-tz"),
    pytest.param(WINDOWS, _w(recurrence="daily", ends_at=iso(T0 + timedelta(days=2, hours=1))), "at most 24 hours",
                 id="window-daily-over-24h"),
    pytest.param(WINDOWS, _w(recurrence="weekly", ends_at=iso(T0 + timedelta(days=9))), "at most 7 days",
                 id="window-weekly-over-7d"),
    pytest.param(WINDOWS, _w(recurrence="monthly"), "recurrence", id="window-unknown-recurrence"),
    pytest.param(WINDOWS, _w(service="billing"), "no service 'billing'", id="window-unknown-service"),
    pytest.param(WINDOWS, _w(starts_at="2026-01-02T12:00:00"), "timezone", id="window-naive-datetime"),
    pytest.param(WINDOWS, _w(until=iso(T0 + timedelta(days=30))), "until applies only", id="window-until-one-off"),
    pytest.param(WINDOWS, _w(starts_at=iso(T0 - timedelta(days=2)), ends_at=iso(T0 - timedelta(days=1))),
                 "already have ended", id="window-in-the-past"),
    pytest.param(WINDOWS, _w(ends_at=iso(T0 + timedelta(days=365 * 20))), "within 10 years",
                 id="window-decades-ahead"),
    pytest.param(WINDOWS, _w(active=True), "active", id="window-unknown-field"),
    pytest.param(AUTO, _a(incident_severity="SEV9"), "incident_severity", id="auto-unknown-severity"),
    pytest.param(AUTO, _a(incident_kind="physical"), "incident_kind", id="auto-unknown-kind"),
    pytest.param(AUTO, _a(matchers=[]), "matchers", id="auto-empty-matchers"),
    pytest.param(AUTO, _a(matchers=['severity=~"*"']), "invalid regular expression", id="auto-bad-regex"),
    pytest.param(INHIBIT, _i(source_matchers=[]), "source_matchers", id="inhibit-empty-source"),
    pytest.param(INHIBIT, _i(target_matchers=['x=~"("']), "target_matchers[0]", id="inhibit-bad-target-regex"),
    pytest.param(INHIBIT, _i(equal=["instance", "instance"]), "listed twice", id="inhibit-equal-twice"),
    pytest.param(INHIBIT, _i(equal=["9lives"]), "equal", id="inhibit-equal-not-a-label"),
    pytest.param(INHIBIT, _i(service="billing"), "no service 'billing'", id="inhibit-unknown-service"),
    pytest.param(INHIBIT, {k: v for k, v in _i().items() if k != "target_matchers"}, "target_matchers",
                 id="inhibit-no-target"),
    pytest.param(INHIBIT, _i(name=" "), "name must not be empty", id="inhibit-blank-name"),
    pytest.param(INHIBIT, _i(matchers=["a=b"]), "matchers", id="inhibit-unknown-field"),
]


@pytest.mark.parametrize("path, body, message", BAD_CREATES)
def test_bad_create_is_422_and_writes_nothing(client, db, people, path, body, message):
    rows, audit = count(db, TABLES[path]), len(audit_actions(db))
    r = client.post(path, json=body, headers=people["admin"].headers)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_input" and message in err["message"], err
    assert (count(db, TABLES[path]), len(audit_actions(db))) == (rows, audit)


BAD_PATCHES = [
    pytest.param(RULES, {"service": None, "urgency": None}, "service to route to", id="rule-clear-both-targets"),
    pytest.param(RULES, {"matchers": ['a=~"("']}, "matchers[0]", id="rule-bad-regex"),
    pytest.param(RULES, {"matchers": []}, "matchers", id="rule-empty-matchers"),
    pytest.param(RULES, {"name": None}, "name", id="rule-null-name"),
    pytest.param(RULES, {"service": "billing"}, "no service", id="rule-unknown-service"),
    pytest.param(RULES, {"position": 3}, "position", id="rule-unknown-field"),
    pytest.param(WINDOWS, {"recurrence": "daily", "ends_at": iso(T0 + timedelta(days=2, hours=3))},
                 "at most 24 hours", id="window-daily-over-24h"),
    pytest.param(WINDOWS, {"timezone": "Europe/Nowhere"}, "unknown time zone", id="window-unknown-tz"),
    pytest.param(WINDOWS, {"ends_at": iso(T0)}, "end after it starts", id="window-ends-before-starts"),
    pytest.param(WINDOWS, {"starts_at": "2026-01-02T10:00:00"}, "timezone", id="window-naive"),
    pytest.param(WINDOWS, {"service": "payments"}, "service", id="window-service-is-fixed"),
    pytest.param(INHIBIT, {"source_matchers": []}, "source_matchers", id="inhibit-empty-source"),
    pytest.param(INHIBIT, {"equal": None}, "equal", id="inhibit-null-equal"),
    pytest.param(INHIBIT, {"service": "billing"}, "no service", id="inhibit-unknown-service"),
]


@pytest.mark.parametrize("path, patch, message", BAD_PATCHES)
def test_bad_patch_is_422_and_changes_nothing(client, db, people, path, patch, message):
    admin = people["admin"].headers
    row = created(client.post(path, json=good_body(path), headers=admin))
    audit = len(audit_actions(db))
    r = client.patch(f"{path}/{row['id']}", json=patch, headers=admin)
    assert r.status_code == 422, r.text
    assert message in r.json()["error"]["message"], r.json()
    assert client.get(f"{path}/{row['id']}", headers=admin).json() == row
    assert len(audit_actions(db)) == audit


@pytest.mark.parametrize("method, path", [
    ("GET", f"{RULES}/{RANDOM_ID}"), ("PATCH", f"{RULES}/{RANDOM_ID}"), ("DELETE", f"{RULES}/{RANDOM_ID}"),
    ("GET", f"{SILENCES}/{RANDOM_ID}"), ("POST", f"{SILENCES}/{RANDOM_ID}/expire"),
    ("GET", f"{WINDOWS}/{RANDOM_ID}"), ("PATCH", f"{WINDOWS}/{RANDOM_ID}"), ("DELETE", f"{WINDOWS}/{RANDOM_ID}"),
    ("DELETE", f"{AUTO}/{RANDOM_ID}"), ("GET", f"{WINDOWS}?service=billing"),
    ("GET", f"{INHIBIT}/{RANDOM_ID}"), ("PATCH", f"{INHIBIT}/{RANDOM_ID}"), ("DELETE", f"{INHIBIT}/{RANDOM_ID}"),
    ("GET", f"{INHIBIT}?service=billing"),
])
def test_unknown_ids_are_404(client, people, method, path):
    r = client.request(method, path, json={"name": "x"} if method == "PATCH" else None,
                       headers=people["admin"].headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text


# --- who may do what ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", [RULES, SILENCES, WINDOWS, AUTO, INHIBIT])
@pytest.mark.parametrize("role, may_create", [
    ("viewer", set()),
    ("responder", {SILENCES, WINDOWS}),
    ("admin", {RULES, SILENCES, WINDOWS, AUTO, INHIBIT}),
])
def test_roles_on_create(client, db, people, path, role, may_create):
    r = client.post(path, json=good_body(path), headers=people[role].headers)
    if path in may_create:
        assert r.status_code == 201, r.text
        assert count(db, TABLES[path]) == 1
    else:
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden" and count(db, TABLES[path]) == 0
    assert client.get(path, headers=people["viewer"].headers).status_code == 200


@pytest.mark.parametrize("role, status", [("viewer", 403), ("responder", 200), ("admin", 200)])
def test_roles_on_change(client, db, people, role, status):
    """Changing rules is for admins; any responder may end anyone's silence or change a window."""
    admin, who = people["admin"].headers, people[role].headers
    rule = created(client.post(RULES, json=good_body(RULES), headers=admin))
    auto = created(client.post(AUTO, json=good_body(AUTO), headers=admin))
    silence = created(client.post(SILENCES, json=good_body(SILENCES), headers=admin))
    window = created(client.post(WINDOWS, json=good_body(WINDOWS), headers=admin))
    inhibit = created(client.post(INHIBIT, json=good_body(INHIBIT), headers=admin))
    admin_only = 200 if role == "admin" else 403
    checks = [
        (client.patch(f"{INHIBIT}/{inhibit['id']}", json={"name": "x"}, headers=who), admin_only),
        (client.delete(f"{INHIBIT}/{inhibit['id']}", headers=who), 204 if role == "admin" else 403),
        (client.patch(f"{RULES}/{rule['id']}", json={"name": "x"}, headers=who), admin_only),
        (client.put(f"{RULES}/order", json={"ids": [rule["id"]]}, headers=who), admin_only),
        (client.delete(f"{RULES}/{rule['id']}", headers=who), 204 if role == "admin" else 403),
        (client.delete(f"{AUTO}/{auto['id']}", headers=who), 204 if role == "admin" else 403),
        (client.post(f"{SILENCES}/{silence['id']}/expire", headers=who), status),
        (client.patch(f"{WINDOWS}/{window['id']}", json={"reason": "moved"}, headers=who), status),
        (client.delete(f"{WINDOWS}/{window['id']}", headers=who), 204 if status == 200 else 403),
    ]
    assert [r.status_code for r, _ in checks] == [want for _, want in checks], [r.text for r, _ in checks]


ALL_ROUTES = [
    ("GET", RULES, None), ("POST", RULES, good_body(RULES)), ("PUT", f"{RULES}/order", {"ids": []}),
    ("GET", f"{RULES}/{RANDOM_ID}", None), ("PATCH", f"{RULES}/{RANDOM_ID}", {"name": "x"}),
    ("DELETE", f"{RULES}/{RANDOM_ID}", None),
    ("GET", SILENCES, None), ("POST", SILENCES, good_body(SILENCES)), ("GET", f"{SILENCES}/{RANDOM_ID}", None),
    ("POST", f"{SILENCES}/{RANDOM_ID}/expire", None),
    ("GET", WINDOWS, None), ("POST", WINDOWS, good_body(WINDOWS)), ("GET", f"{WINDOWS}/{RANDOM_ID}", None),
    ("PATCH", f"{WINDOWS}/{RANDOM_ID}", {"name": "x"}), ("DELETE", f"{WINDOWS}/{RANDOM_ID}", None),
    ("GET", AUTO, None), ("POST", AUTO, good_body(AUTO)), ("DELETE", f"{AUTO}/{RANDOM_ID}", None),
    ("GET", INHIBIT, None), ("POST", INHIBIT, good_body(INHIBIT)), ("GET", f"{INHIBIT}/{RANDOM_ID}", None),
    ("PATCH", f"{INHIBIT}/{RANDOM_ID}", {"name": "x"}), ("DELETE", f"{INHIBIT}/{RANDOM_ID}", None),
]


def test_every_route_needs_a_token(client, db, people):
    failures = []
    for headers in ({}, {"Authorization": "Bearer tcs_not_a_real_token"}):
        for method, path, body in ALL_ROUTES:
            r = client.request(method, path, json=body, headers=headers)
            if r.status_code != 401 or r.json()["error"]["code"] != "unauthenticated":
                failures.append(f"{method} {path}: {r.status_code} {r.text[:120]}")
    assert not failures, "\n".join(failures)
    assert all(count(db, t) == 0 for t in TABLES.values())


# --- silences over time ------------------------------------------------------------------------

def states(client, who) -> dict[str, list[str]]:
    out = {}
    for state in ("active", "pending", "expired"):
        r = client.get(SILENCES, params={"state": state}, headers=who)
        assert r.status_code == 200, r.text
        out[state] = sorted(s["reason"] for s in r.json()["items"])
    return out


def test_silences_become_active_then_expire_as_time_passes(client, clock, people):
    bob = people["responder"].headers
    created(client.post(SILENCES, json=_s(reason="now", ends_at=iso(T0 + timedelta(minutes=30))), headers=bob))
    later = created(client.post(SILENCES, json=_s(reason="later", starts_at=iso(T0 + timedelta(hours=1)),
                                                  ends_at=iso(T0 + timedelta(hours=2))), headers=bob))
    assert later["state"] == "pending"
    assert states(client, bob) == {"active": ["now"], "pending": ["later"], "expired": []}
    clock.advance(minutes=45)
    assert states(client, bob) == {"active": [], "pending": ["later"], "expired": ["now"]}
    clock.advance(minutes=30)
    assert states(client, bob) == {"active": ["later"], "pending": [], "expired": ["now"]}
    clock.advance(hours=1)
    assert states(client, bob) == {"active": [], "pending": [], "expired": ["later", "now"]}
    assert client.get(f"{SILENCES}/{later['id']}", headers=bob).json()["state"] == "expired"


def test_a_start_in_the_past_means_now(client, clock, people):
    r = client.post(SILENCES, json=_s(starts_at=iso(T0 - timedelta(days=1))), headers=people["responder"].headers)
    silence = created(r)
    assert at(silence["starts_at"]) == T0 and silence["state"] == "active"
    assert silence["author"] == people["responder"].email and silence["author_id"] == str(people["responder"].id)


def test_expiring_a_silence_keeps_it_and_is_audited(client, db, clock, people):
    alice, bob = people["admin"], people["responder"]
    active = created(client.post(SILENCES, json=_s(reason="noisy"), headers=alice.headers))
    pending = created(client.post(SILENCES, json=_s(reason="tonight", starts_at=iso(T0 + timedelta(hours=1))),
                                  headers=alice.headers))
    clock.advance(minutes=10)
    r = client.post(f"{SILENCES}/{active['id']}/expire", headers=bob.headers)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "expired" and at(r.json()["ends_at"]) == clock.now()
    assert r.json()["author"] == alice.email  # the author stays; who ended it is in the audit log
    r = client.post(f"{SILENCES}/{pending['id']}/expire", headers=bob.headers)
    assert r.json()["state"] == "expired" and r.json()["starts_at"] == r.json()["ends_at"]
    # expiring again changes nothing and is not recorded twice
    clock.advance(minutes=10)
    again = client.post(f"{SILENCES}/{active['id']}/expire", headers=bob.headers)
    assert again.status_code == 200 and at(again.json()["ends_at"]) == clock.now() - timedelta(minutes=10)
    assert count(db, "silences") == 2
    assert audit_actions(db).count("silence.expire") == 2
    assert client.delete(f"{SILENCES}/{active['id']}", headers=alice.headers).status_code == 405


def test_silence_list_pages(client, people):
    bob = people["responder"].headers
    ids = [created(client.post(SILENCES, json=_s(reason=f"s{i}"), headers=bob))["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        page = client.get(SILENCES, params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=bob).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids[::-1]


# --- maintenance windows -----------------------------------------------------------------------

def test_weekly_window_in_berlin_time(client, clock, people):
    """Tuesdays 22:00-02:00 Berlin: 21:00 UTC in winter, 20:00 UTC in summer."""
    bob = people["responder"].headers
    body = {"service": "checkout", "name": "weekly patching", "recurrence": "weekly", "timezone": "Europe/Berlin",
            "starts_at": "2026-01-06T22:00:00+01:00", "ends_at": "2026-01-07T02:00:00+01:00",
            "reason": "OS patches"}
    window = created(client.post(WINDOWS, json=body, headers=bob))
    assert window["service"] == "checkout" and at(window["starts_at"]) == datetime(2026, 1, 6, 21, tzinfo=UTC)
    assert window["active"] is False and at(window["next_change_at"]) == datetime(2026, 1, 6, 21, tzinfo=UTC)

    def now_view():
        w = client.get(f"{WINDOWS}/{window['id']}", headers=bob).json()
        active_ids = [x["id"] for x in client.get(WINDOWS, params={"active": "true"}, headers=bob).json()["items"]]
        idle_ids = [x["id"] for x in client.get(WINDOWS, params={"active": "false"}, headers=bob).json()["items"]]
        assert (window["id"] in active_ids, window["id"] in idle_ids) == (w["active"], not w["active"])
        return w["active"], at(w["next_change_at"])

    clock.set(datetime(2026, 1, 6, 22, 30, tzinfo=UTC))
    assert now_view() == (True, datetime(2026, 1, 7, 1, tzinfo=UTC))
    clock.set(datetime(2026, 1, 7, 1, tzinfo=UTC))
    assert now_view() == (False, datetime(2026, 1, 13, 21, tzinfo=UTC))
    clock.set(datetime(2026, 4, 1, 12, tzinfo=UTC))  # a Wednesday in summer time
    assert now_view() == (False, datetime(2026, 4, 7, 20, tzinfo=UTC))
    clock.set(datetime(2026, 4, 7, 20, tzinfo=UTC))
    assert now_view() == (True, datetime(2026, 4, 8, 0, tzinfo=UTC))


def test_window_filters_and_until(client, clock, people):
    bob = people["responder"].headers
    one_off = created(client.post(WINDOWS, json=_w(starts_at=iso(T0 - timedelta(hours=1))), headers=bob))
    daily = created(client.post(WINDOWS, json=_w(service="payments", name="nightly", recurrence="daily",
                                                  starts_at="2026-01-02T02:00:00Z", ends_at="2026-01-02T03:00:00Z",
                                                  until="2026-01-03T02:00:00Z"), headers=bob))
    assert one_off["active"] is True and at(one_off["next_change_at"]) == T0 + timedelta(days=1, hours=2)

    def ids(**params):
        r = client.get(WINDOWS, params=params, headers=bob)
        assert r.status_code == 200, r.text
        return [w["id"] for w in r.json()["items"]]

    assert ids(service="payments") == [daily["id"]] and ids(service="checkout") == [one_off["id"]]
    assert ids(active="true") == [one_off["id"]]
    clock.set(datetime(2026, 1, 3, 2, 30, tzinfo=UTC))  # the last occurrence (it starts at `until`)
    assert ids(active="true") == [daily["id"]]
    w = client.get(f"{WINDOWS}/{daily['id']}", headers=bob).json()
    assert at(w["next_change_at"]) == datetime(2026, 1, 3, 3, tzinfo=UTC)
    clock.set(datetime(2026, 1, 3, 3, tzinfo=UTC))
    w = client.get(f"{WINDOWS}/{daily['id']}", headers=bob).json()
    assert w["active"] is False and w["next_change_at"] is None
    assert ids(active="true") == [] and set(ids(active="false")) == {daily["id"], one_off["id"]}
    # clearing `until` makes it repeat for good
    r = client.patch(f"{WINDOWS}/{daily['id']}", json={"until": None}, headers=bob)
    assert r.status_code == 200, r.text
    assert r.json()["until"] is None and at(r.json()["next_change_at"]) == datetime(2026, 1, 4, 2, tzinfo=UTC)


def test_auto_incident_rule_severity_aliases(client, people):
    admin = people["admin"].headers
    rule = created(client.post(AUTO, json=_a(incident_severity="p0", incident_kind="security"), headers=admin))
    assert (rule["incident_severity"], rule["incident_kind"]) == ("SEV1", "security")
    assert [r["id"] for r in client.get(AUTO, headers=people["viewer"].headers).json()["items"]] == [rule["id"]]


def test_inhibition_rule_output_and_service_filter(client, db, people):
    admin = people["admin"].headers
    scoped = created(client.post(INHIBIT, json=_i(service="checkout"), headers=admin))
    glob = created(client.post(INHIBIT, json=_i(name="global"), headers=admin))
    assert scoped["service"] == "checkout" and glob["service"] is None and glob["service_id"] is None
    assert scoped["source_matchers"] == [{"name": "alertname", "op": "=", "value": "NodeDown"}]
    assert scoped["equal"] == ["instance", "cluster"]
    viewer = people["viewer"].headers
    assert [r["id"] for r in client.get(INHIBIT, headers=viewer).json()["items"]] == [scoped["id"], glob["id"]]
    assert [r["id"] for r in client.get(INHIBIT, params={"service": "checkout"}, headers=viewer).json()["items"]] == \
        [scoped["id"]]
    made_global = client.patch(f"{INHIBIT}/{scoped['id']}", json={"service": None}, headers=admin).json()
    assert made_global["service"] is None
    with db.engine.connect() as conn:
        details = conn.execute(sa.text("SELECT details FROM audit_log WHERE action = 'inhibition_rule.update'")
                               ).scalar_one()
    assert "service" in str(details)


def test_changing_a_silence_in_place_or_by_replacing_it(client, db, clock, people):
    responder, viewer = people["responder"].headers, people["viewer"].headers
    s = created(client.post(SILENCES, json={"matchers": ["team=db"], "ends_at": iso(T0 + timedelta(hours=1)),
                                            "reason": "upgrade"}, headers=responder))
    r = client.patch(f"{SILENCES}/{s['id']}", json={"ends_at": iso(T0 + timedelta(hours=3)), "reason": "slow"},
                     headers=responder)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == s["id"] and at(r.json()["ends_at"]) == T0 + timedelta(hours=3)
    assert client.patch(f"{SILENCES}/{s['id']}", json={"reason": "x"}, headers=viewer).status_code == 403
    assert client.patch(f"{SILENCES}/{s['id']}", json={"ends_at": iso(T0 - timedelta(hours=1))},
                        headers=responder).status_code == 422
    assert client.patch(f"{SILENCES}/{s['id']}", json={"reason": None}, headers=responder).status_code == 422

    r = client.patch(f"{SILENCES}/{s['id']}", json={"matchers": ["team=db", "env=prod"]}, headers=responder)
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["id"] != s["id"] and new["state"] == "active" and new["reason"] == "slow"
    assert [m["name"] for m in new["matchers"]] == ["team", "env"]
    assert client.get(f"{SILENCES}/{s['id']}", headers=responder).json()["state"] == "expired"
    r = client.patch(f"{SILENCES}/{s['id']}", json={"reason": "again"}, headers=responder)
    assert r.status_code == 409, "an ended silence is not changed"
    assert [a for a in audit_actions(db) if a.startswith("silence.")] == [
        "silence.create", "silence.update", "silence.expire", "silence.create", "silence.replace"]


def test_changing_an_auto_incident_rule(client, db, people):
    admin, responder = people["admin"].headers, people["responder"].headers
    rule = created(client.post(AUTO, json={"name": "t1", "matchers": ["tier=1"], "incident_severity": "SEV2"},
                               headers=admin))
    r = client.patch(f"{AUTO}/{rule['id']}", json={"incident_severity": "SEV1", "incident_kind": "security",
                                                   "matchers": ["tier=1", "severity=critical"]}, headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["incident_severity"], r.json()["incident_kind"], len(r.json()["matchers"])) == \
        ("SEV1", "security", 2)
    assert client.patch(f"{AUTO}/{rule['id']}", json={"name": "x"}, headers=responder).status_code == 403
    assert client.patch(f"{AUTO}/{rule['id']}", json={"matchers": ["nope"]}, headers=admin).status_code == 422
    assert client.patch(f"{AUTO}/{RANDOM_ID}", json={"name": "x"}, headers=admin).status_code == 404
    assert "auto_incident_rule.update" in audit_actions(db)

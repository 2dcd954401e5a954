"""Regulatory clocks and obligations through the API: what the security team and counsel do with a
breach's deadlines, and what people outside a restricted incident's circle do not see."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.harness.incidents import declare
from tocsin.audit.models import AuditEntry

INC = "/api/v1/incidents"


@pytest.fixture
def people(make_person, make_team):
    make_team("secops", is_security=True)
    return {
        "sam": make_person("responder", teams=["secops"], name="Sam"),
        "lee": make_person("responder", teams=["secops"], name="Lee"),  # will hold Legal
        "ray": make_person("responder", teams=["secops"], name="Ray"),  # security team, no role in it
        "olive": make_person("responder", name="Olive"),  # outside the need-to-know circle
        "dave": make_person("viewer", teams=["secops"], name="Dave"),
    }


def breach(client, who, **body):
    return declare(client, who, title="Credential leak", kind="security", restricted=True, **body)


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


def by_name(client, who, ref):
    return {o["name"]: o for o in ok(client.get(f"{INC}/{ref}/obligations", headers=who.headers))["items"]}


def test_gdpr_and_nis2_from_suggestion_to_filing(client, people, clock, db):
    sam, lee = people["sam"], people["lee"]
    ref = breach(client, sam)["ref"]
    ok(client.post(f"{INC}/{ref}/roles", json={"role": "legal", "user": lee.email}, headers=sam.headers))
    ok(client.put(f"{INC}/{ref}/exposure", json={"data_categories": ["personal"], "regions": ["de"],
                                                 "affected_count": 1200}, headers=sam.headers))
    regimes = ok(client.get(f"{INC}/{ref}/regimes", headers=sam.headers))
    assert [(s["regime"], s["reasons"]) for s in regimes["suggested"]] == [
        ("gdpr", ["affects DE (the regime covers EU)", "personal data involved"]),
        ("nis2", ["affects DE (the regime covers EU)"])]
    for regime in ("gdpr", "nis2"):
        ok(client.post(f"{INC}/{ref}/regimes", json={"regime": regime, "reason": "suggested"}, headers=sam.headers))
    assert by_name(client, sam, ref)["GDPR Art. 33 notice"]["state"] == "waiting"

    aware = clock.now() - timedelta(hours=31)
    ok(client.put(f"{INC}/{ref}/clocks/aware_at", json={"at": aware.isoformat(), "reason": "SOC confirmed the dump"},
                  headers=sam.headers))
    got = by_name(client, sam, ref)
    art33 = got["GDPR Art. 33 notice"]
    assert (art33["due_at"], art33["countdown"], art33["state"]) == (
        (aware + timedelta(hours=72)).isoformat().replace("+00:00", "Z"), "due in 41 h", "open")
    assert art33["source"].startswith("Regulation (EU) 2016/679") and "Verify with counsel" in art33["note"]
    assert got["NIS2 early warning"]["state"] == "overdue"  # 24 h after aware_at, 7 h ago
    assert got["NIS2 final report"]["state"] == "waiting"
    assert got["GDPR Art. 34 communication"]["state_reason"] == "open: no fixed deadline"

    # a late filing needs its reason; with it, it is "filed late"
    early = got["NIS2 early warning"]
    r = client.post(f"{INC}/{ref}/obligations/{early['id']}/filing", json={"reference": "CSIRT-1"},
                    headers=lee.headers)
    assert r.status_code == 422 and "late_reason" in r.text
    late = ok(client.post(f"{INC}/{ref}/obligations/{early['id']}/filing",
                          json={"reference": "CSIRT-1", "late_reason": "the CSIRT portal was down"},
                          headers=lee.headers))
    assert (late["state"], late["state_reason"]) == ("filed_late", "filed 7 h late: the CSIRT portal was down")

    # the final report counts from when the notification was actually filed
    clock.advance(hours=2)
    notification = got["NIS2 incident notification"]
    filed_at = clock.now() - timedelta(minutes=30)
    ok(client.post(f"{INC}/{ref}/obligations/{notification['id']}/filing",
                   json={"reference": "CSIRT-2", "filed_at": filed_at.isoformat()}, headers=lee.headers))
    final = by_name(client, sam, ref)["NIS2 final report"]
    assert final["due_reason"] == "1 months after the notification filing"
    assert (filed_at.isoformat(), final["due_at"]) == ("2026-01-01T13:30:00+00:00", "2026-02-02T00:00:00Z")

    # only the Legal/Privacy/IC holders (or an admin) record filings
    r = client.post(f"{INC}/{ref}/obligations/{art33['id']}/filing", json={"reference": "x"},
                    headers=people["ray"].headers)
    assert r.status_code == 403
    na = ok(client.post(f"{INC}/{ref}/obligations/{got['GDPR Art. 34 communication']['id']}/not-applicable",
                        json={"reason": "the passwords were hashed with argon2id"}, headers=lee.headers))
    assert na["state"] == "not_applicable"

    with db.unit_of_work() as s:
        actions = list(s.execute(sa.select(AuditEntry.action).where(AuditEntry.action.like("obligations.%"))
                                 .order_by(AuditEntry.seq)).scalars())
    assert actions == ["obligations.exposure", "obligations.regime_choose", "obligations.regime_choose",
                       "obligations.clock", "obligations.file", "obligations.file", "obligations.not_applicable"]
    texts = [e["text"] for e in ok(client.get(f"{INC}/{ref}/timeline", headers=sam.headers))["items"]]
    assert any(t.startswith("aware_at set to") and "SOC confirmed the dump" in t for t in texts)
    assert any("NIS2 early warning filed" in t and "(late: the CSIRT portal was down)" in t for t in texts)


def test_changing_a_clock_moves_the_deadline_and_the_affected_count_decides_thresholds(client, people, clock):
    sam = people["sam"]
    ref = breach(client, sam)["ref"]
    ok(client.put(f"{INC}/{ref}/exposure", json={"data_categories": ["health"], "regions": ["US-CO"],
                                                 "affected_count": 120}, headers=sam.headers))
    ok(client.post(f"{INC}/{ref}/regimes", json={"regime": "hipaa"}, headers=sam.headers))
    found = clock.now() - timedelta(days=2)
    ok(client.put(f"{INC}/{ref}/clocks/discovered_at", json={"at": found.isoformat(), "reason": "ticket"},
                  headers=sam.headers))
    got = by_name(client, sam, ref)
    assert got["HIPAA notice to HHS"]["state_reason"] == \
        "not applicable: below threshold: 120 people affected, the threshold is 500"
    first = got["HIPAA individual notice"]["due_at"]
    ok(client.put(f"{INC}/{ref}/clocks/discovered_at", json={"at": (found - timedelta(days=3)).isoformat(),
                                                             "reason": "logs show it earlier"}, headers=sam.headers))
    assert by_name(client, sam, ref)["HIPAA individual notice"]["due_at"] < first
    ok(client.put(f"{INC}/{ref}/exposure", json={"data_categories": ["health"], "regions": ["US-CO"],
                                                 "affected_count": 800}, headers=sam.headers))
    assert by_name(client, sam, ref)["HIPAA notice to HHS"]["state"] == "open"
    clocks = {c["clock"]: c for c in ok(client.get(f"{INC}/{ref}/clocks", headers=sam.headers))["items"]}
    assert clocks["discovered_at"]["reason"] == "logs show it earlier" and clocks["aware_at"]["at"] is None


BAD = [
    ("clocks/aware_at", {"at": "2030-01-01T00:00:00Z", "reason": "x"}, "cannot be in the future"),
    ("clocks/lunch_at", {"at": "2025-01-01T00:00:00Z", "reason": "x"}, "unknown clock"),
    ("clocks/aware_at", {"at": "2025-01-01T00:00:00", "reason": "x"}, "timezone"),
    ("clocks/aware_at", {"at": "2025-01-01T00:00:00Z", "reason": " "}, "reason is required"),
    ("exposure", {"regions": ["Narnia"]}, "use EU, a country code"),
    ("exposure", {"data_categories": ["gossip"]}, "not one of personal"),
    ("regimes", {"regime": "circia"}, "disabled here"),
    ("regimes", {"regime": "nope"}, "no regime"),
]


def test_bad_input_is_a_clear_422(client, people):
    sam = people["sam"]
    ref = breach(client, sam)["ref"]
    for path, body, message in BAD:
        verb = client.put if path.startswith(("clocks", "exposure")) else client.post
        r = verb(f"{INC}/{ref}/{path}", json=body, headers=sam.headers)
        assert r.status_code == 422 and message in r.text, (path, body, r.text)


def test_only_security_incidents_and_only_the_circle(client, people):
    sam, olive, dave = people["sam"], people["olive"], people["dave"]
    ops = declare(client, sam, title="Checkout slow")["ref"]
    r = client.put(f"{INC}/{ops}/clocks/aware_at", json={"at": "2025-12-31T00:00:00Z", "reason": "x"},
                   headers=sam.headers)
    assert r.status_code == 422 and "only on security incidents" in r.text
    ref = breach(client, sam)["ref"]
    ok(client.put(f"{INC}/{ref}/exposure", json={"data_categories": ["personal"], "regions": ["EU"]},
                  headers=sam.headers))
    ok(client.post(f"{INC}/{ref}/regimes", json={"regime": "gdpr"}, headers=sam.headers))
    for path in ("clocks", "exposure", "regimes", "obligations"):
        r = client.get(f"{INC}/{ref}/{path}", headers=olive.headers)
        assert r.status_code == 404 and "Credential" not in r.text
    assert ok(client.get("/api/v1/obligations", params={"state": "all"}, headers=olive.headers))["items"] == []
    assert {o["incident"] for o in ok(client.get("/api/v1/obligations", params={"state": "all"},
                                                 headers=sam.headers))["items"]} == {ref}
    r = client.put(f"{INC}/{ref}/clocks/aware_at", json={"at": "2025-12-31T00:00:00Z", "reason": "x"},
                   headers=dave.headers)
    assert r.status_code == 403


def test_the_list_across_incidents_pages_with_a_cursor(client, people, clock):
    sam = people["sam"]
    for _ in range(2):
        ref = breach(client, sam)["ref"]
        ok(client.post(f"{INC}/{ref}/regimes", json={"regime": "gdpr", "reason": "EU customers"}, headers=sam.headers))
        ok(client.put(f"{INC}/{ref}/clocks/aware_at", json={"at": clock.now().isoformat(), "reason": "SOC"},
                      headers=sam.headers))
    everything = ok(client.get("/api/v1/obligations", params={"state": "all"}, headers=sam.headers))
    assert len(everything["items"]) == 4 and everything["next_cursor"] is None  # two GDPR obligations each
    seen, cursor = [], None
    while True:
        page = ok(client.get("/api/v1/obligations", params={"state": "all", "limit": 3, **({"cursor": cursor} if cursor
                                                                                           else {})},
                             headers=sam.headers))
        seen += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    assert [o["id"] for o in seen] == [o["id"] for o in everything["items"]]  # same order, nothing twice or missing
    bad = client.get("/api/v1/obligations", params={"cursor": "not-a-cursor"}, headers=sam.headers)
    assert bad.status_code == 422 and "cursor" in bad.text

"""A whole incident, then its postmortem, as a team runs it.

checkout starts failing → the alert pages Alice → Alice declares SEV2 and attaches the alert →
nobody acks within 5 minutes, so Bob is paged too → Bob acks the alert → Carol becomes scribe →
notes (one marked as a key event) → mitigated → resolved → Alice starts the postmortem → the draft
has every section, filled from the record → the incident cannot close until the postmortem is
reviewed and published → the team publishes → the incident closes.

Runs on SQLite and PostgreSQL; time moves only with the ManualClock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tocsin.pipeline.ingest import Incoming, ingest
from tocsin.escalation.steps import escalations
from tocsin.engine.runner import Engine
from tocsin.escalation import service as esc_service
from tocsin.inbound.types import Action, AlertSeverity, Event
from tocsin.services.models import Service
from tocsin.services.service import require_service

INC = "/api/v1/incidents"


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


def sections(body: str) -> dict[str, str]:
    """{heading: text under it} of a Markdown body with `## ` headings."""
    out: dict[str, str] = {}
    current = None
    for line in body.splitlines():
        if line.startswith("## "):
            current = line[3:]
            out[current] = ""
        elif current is not None:
            out[current] += line + "\n"
    return {k: v.strip() for k, v in out.items()}


@pytest.fixture
def team(db, clock, system, make_person, make_service):
    people = {n: make_person("responder", name=n) for n in ("Alice Archer", "Bob Baker", "Carol Chen")}
    make_service("checkout", tier=1)
    with db.unit_of_work() as s:
        esc_service.create_policy(s, actor=system, now=clock.now(), name="checkout", slug="checkout", repeat=0,
                                  levels=[{"delay_minutes": 5, "targets": [{"type": "user",
                                                                            "email": people["Alice Archer"].email}]},
                                          {"delay_minutes": 5, "targets": [{"type": "user",
                                                                            "email": people["Bob Baker"].email}]}])
        esc_service.set_service_policy(s, actor=system, now=clock.now(), service=require_service(s, "checkout"),
                                       policy="checkout")
    return people


def test_a_whole_incident_then_its_postmortem(db, clock, client, team):
    alice, bob, carol = team["Alice Archer"], team["Bob Baker"], team["Carol Chen"]
    engine = Engine(db, clock, modules=[("escalations", escalations)])
    t0 = clock.now()

    # 1. checkout starts failing; the alert pages Alice
    with db.unit_of_work() as s:
        svc = s.execute(sa.select(Service.id).where(Service.slug == "checkout")).scalar_one()
        event = Event(action=Action.trigger, dedup_key="checkout-5xx", summary="checkout 5xx rate above 5%",
                      severity=AlertSeverity("critical"), source="test", labels={})
        alert_id = ingest(s, [Incoming(event, svc, None, "events_v2")], now=clock.now())[0].alert_id
    engine.tick()

    # 2. three minutes later Alice declares a SEV2 (impact began 4 minutes before the alert) and attaches it
    clock.advance(minutes=3)
    inc = ok(client.post(INC, json={
        "title": "Checkout failing", "severity": "SEV2", "services": ["checkout"],
        "summary": "Card payments failed for EU customers after a config push.",
        "impact_started_at": (t0 - timedelta(minutes=4)).isoformat(),
        "impact": {"customers_affected": 1200, "revenue_at_risk_per_hour": 5000, "customer_facing": True},
        "severity_reason": "payments are down for a region",
    }, headers=alice.headers), 201)
    ref = inc["ref"]
    ok(client.post(f"/api/v1/alerts/{alert_id}/attach", json={"incident": ref}, headers=alice.headers))

    # 3. nobody acked within 5 minutes: level 2 pages Bob; the page is on the incident's timeline
    clock.advance(minutes=2)
    engine.tick()
    clock.advance(minutes=1)
    ok(client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=bob.headers))

    # 4. roles and notes
    clock.advance(minutes=1)
    ok(client.post(f"{INC}/{ref}/roles", json={"role": "scribe", "user": carol.email}, headers=alice.headers))
    ok(client.post(f"{INC}/{ref}/notes", json={"text": "Looking at the payment dashboards"},
                   headers=carol.headers), 201)
    clock.advance(minutes=6)
    ok(client.post(f"{INC}/{ref}/notes", json={"text": "Rolled back config push 4711", "key_event": True},
                   headers=bob.headers), 201)

    # 5. mitigated 20 minutes after the alert, resolved after 65
    clock.advance(minutes=5)  # t0 + 18
    ok(client.patch(f"{INC}/{ref}", json={"status": "mitigated"}, headers=alice.headers))
    clock.advance(minutes=47)  # t0 + 65
    ok(client.patch(f"{INC}/{ref}", json={"status": "resolved"}, headers=alice.headers))

    # 6. the postmortem is drafted from the record
    clock.advance(hours=20)
    pm = ok(client.post(f"{INC}/{ref}/postmortem", headers=alice.headers), 201)
    body = sections(pm["body"])
    assert list(body) == ["Summary", "Impact", "Timeline", "Detection and response", "Root causes",
                          "Contributing factors", "What went well", "What went poorly", "Where we got lucky",
                          "Action items"]

    assert body["Summary"] == "Card payments failed for EU customers after a config push."

    impact = body["Impact"]
    assert "**Severity:** SEV2" in impact and "**Kind:** operational" in impact
    assert "**Duration:** 1 h 9 min" in impact and "measured from impact start" in impact
    assert "**Customers affected:** 1200" in impact and "**Revenue at risk per hour:** 5,000.00" in impact
    assert "**Services:** Checkout (`checkout`)" in impact and "**Customer facing:** yes" in impact

    def at(minutes: int) -> str:
        return (t0 + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M UTC")

    rows = [line for line in body["Timeline"].splitlines()[2:]]
    texts = [r.split(" | ")[2] for r in rows]
    assert rows[0].startswith(f"| {at(3)} | Alice Archer | ") and "declared SEV2" in texts[0]
    assert any("Alice Archer is now Incident Commander" in t for t in texts)
    assert any(r.startswith(f"| {at(3)} |") and "Alert attached: [critical] checkout 5xx rate above 5%" in r
               for r in rows)
    paging = [r for r in rows if r.startswith(f"| {at(5)} | tocsin |")]
    assert paging and any("Bob Baker" in r for r in paging), "the page to Bob, with its reason"
    assert any(r.startswith(f"| {at(7)} |") and "Carol Chen is now Scribe" in r for r in rows)
    assert any(r.startswith(f"| {at(13)} | Bob Baker | Rolled back config push 4711") for r in rows)
    assert not any("payment dashboards" in r for r in rows), "ordinary notes stay out of the timeline"
    assert any(r.startswith(f"| {at(18)} |") and "mitigated" in r for r in rows)
    assert rows[-1].startswith(f"| {at(65)} |") and "→ resolved" in rows[-1]
    assert [at(m) for m in (3, 5, 7, 13, 18, 65)] == sorted({r.split(" | ")[0][2:] for r in rows})

    detection = body["Detection and response"]
    assert f"**Impact started:** {at(-4)}" in detection and f"**Detected:** {at(3)}" in detection
    assert "**Time to detect** (impact start to detection): 7 min" in detection
    assert "**Time to acknowledge** (from detection): < 1 min" in detection  # declaring is acknowledging
    assert "**Time to mitigate** (from detection): 15 min" in detection
    assert "**Time to resolve** (from detection): 1 h 2 min" in detection
    assert "incident commander: Alice Archer" in detection and "scribe: Carol Chen" in detection
    assert f"- {at(0)} [critical] checkout 5xx rate above 5% (`checkout`)" in detection

    for empty, prompt in [("Root causes", "Describe mechanisms, not people."),
                          ("Contributing factors", "detection later"), ("What went well", "helped"),
                          ("What went poorly", "get in the way"), ("Where we got lucky", "much worse"),
                          ("Action items", "One owner and a due date")]:
        assert body[empty].startswith("_") and prompt in body[empty], empty
    assert pm["language_findings"] == [], "the generated draft is blameless"

    # 7. the incident waits for the postmortem
    r = client.patch(f"{INC}/{ref}", json={"status": "closed"}, headers=alice.headers)
    assert r.status_code == 409 and "published" in r.json()["error"]["message"]

    # 8. the team writes it up (the check flags a blaming sentence), reviews and publishes it
    text = pm["body"].replace(body["Root causes"], "Bob Baker forgot to run the config linter.")
    pm = ok(client.patch(f"/api/v1/postmortems/{pm['id']}", json={
        "body": text, "status": "in_review", "reviewers": [carol.email],
        "public_text": "Between 10:00 and 11:05 UTC some card payments in the EU failed."}, headers=alice.headers))
    assert [(f["section"], f["phrase"]) for f in pm["language_findings"]] == [("Root causes", "Bob Baker forgot")]
    text = text.replace("Bob Baker forgot to run the config linter.",
                        "The config push skipped the linter because the pipeline made it optional.")
    pm = ok(client.patch(f"/api/v1/postmortems/{pm['id']}", json={"body": text, "base_revision": 2},
                         headers=alice.headers))
    assert pm["language_findings"] == [] and pm["revision"] == 3
    ok(client.post(f"/api/v1/postmortems/{pm['id']}/approve", headers=carol.headers))
    ok(client.patch(f"/api/v1/postmortems/{pm['id']}", json={"status": "published"}, headers=alice.headers))

    closed = ok(client.patch(f"{INC}/{ref}", json={"status": "closed"}, headers=alice.headers))
    assert closed["status"] == "closed"
    kinds = [(e["kind"], e["data"].get("to")) for e in ok(client.get(f"{INC}/{ref}/timeline",
                                                                     headers=alice.headers))["items"]][-5:]
    assert kinds == [("status_changed", "postmortem"), ("postmortem", None), ("postmortem", "in_review"),
                     ("postmortem", "published"), ("status_changed", "closed")]

"""A whole incident, then its postmortem, as a team runs it.

checkout starts failing → the alert pages Alice → Alice declares SEV2 and attaches the alert →
nobody acks within 5 minutes, so Bob is paged too → Bob acks the alert → Carol becomes scribe →
notes (one marked as a key event) → mitigated → resolved → Alice starts the postmortem → the draft
has every section, filled from the record → the incident cannot close until the postmortem is
reviewed and published → the team publishes → the incident closes.

Written on the harness's runbook (tests/harness/scenario.py): SQLite and PostgreSQL, time moves
only with the ManualClock, the whole engine ticks and the pages arrive by email.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

INC = "/incidents"


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
def rb(runbook):
    """Alice Archer, Bob Baker and Carol Chen; checkout pages Alice, then Bob 5 minutes later."""
    for name in ("Alice Archer", "Bob Baker", "Carol Chen"):
        runbook.person(name)
    runbook.service("checkout", tier=1)
    runbook.policy((5, ["Alice Archer"]), (5, ["Bob Baker"]))
    return runbook


def test_a_whole_incident_then_its_postmortem(rb):
    alice, bob, carol = rb.as_("Alice Archer"), rb.as_("Bob Baker"), rb.as_("Carol Chen")
    t0 = rb.now

    # 1. checkout starts failing; the alert pages Alice
    alert_id = rb.trigger("checkout-5xx", summary="checkout 5xx rate above 5%")
    rb.tick()
    rb.expect_email("Alice Archer", "checkout 5xx rate above 5%")

    # 2. three minutes later Alice declares a SEV2 (impact began 4 minutes before the alert) and attaches it
    rb.clock.advance(minutes=3)
    inc = alice.post(INC, title="Checkout failing", severity="SEV2", services=["checkout"],
                     summary="Card payments failed for EU customers after a config push.",
                     impact_started_at=(t0 - timedelta(minutes=4)).isoformat(),
                     impact={"customers_affected": 1200, "revenue_at_risk_per_hour": 5000, "customer_facing": True},
                     severity_reason="payments are down for a region")
    ref = inc["ref"]
    alice.post(f"/alerts/{alert_id}/attach", 200, incident=ref)

    # 3. nobody acked within 5 minutes: level 2 pages Bob; the page is on the incident's timeline
    rb.tick(minutes=2)
    rb.expect_email("Bob Baker", "checkout 5xx rate above 5%")
    rb.clock.advance(minutes=1)
    bob.post(f"/alerts/{alert_id}/acknowledge", 200)

    # 4. roles and notes
    rb.clock.advance(minutes=1)
    alice.post(f"{INC}/{ref}/roles", 200, role="scribe", user=rb.people["Carol Chen"].email)
    carol.post(f"{INC}/{ref}/notes", text="Looking at the payment dashboards")
    rb.clock.advance(minutes=6)
    bob.post(f"{INC}/{ref}/notes", text="Rolled back config push 4711", key_event=True)

    # 5. mitigated 20 minutes after the alert, resolved after 65
    rb.clock.advance(minutes=5)  # t0 + 18
    alice.patch(f"{INC}/{ref}", status="mitigated")
    rb.clock.advance(minutes=47)  # t0 + 65
    alice.patch(f"{INC}/{ref}", status="resolved")

    # 6. the postmortem is drafted from the record
    rb.clock.advance(hours=20)
    pm = alice.post(f"{INC}/{ref}/postmortem")
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
    refused = alice.patch(f"{INC}/{ref}", 409, status="closed")
    assert "published" in refused["error"]["message"]

    # 8. the team writes it up (the check flags a blaming sentence), reviews and publishes it
    text = pm["body"].replace(body["Root causes"], "Bob Baker forgot to run the config linter.")
    pm = alice.patch(f"/postmortems/{pm['id']}", body=text, status="in_review",
                     reviewers=[rb.people["Carol Chen"].email],
                     public_text="Between 10:00 and 11:05 UTC some card payments in the EU failed.")
    assert [(f["section"], f["phrase"]) for f in pm["language_findings"]] == [("Root causes", "Bob Baker forgot")]
    text = text.replace("Bob Baker forgot to run the config linter.",
                        "The config push skipped the linter because the pipeline made it optional.")
    pm = alice.patch(f"/postmortems/{pm['id']}", body=text, base_revision=2)
    assert pm["language_findings"] == [] and pm["revision"] == 3
    carol.post(f"/postmortems/{pm['id']}/approve", 200)
    alice.patch(f"/postmortems/{pm['id']}", status="published")

    closed = alice.patch(f"{INC}/{ref}", status="closed")
    assert closed["status"] == "closed"
    kinds = [(e["kind"], e["data"].get("to")) for e in alice.get(f"{INC}/{ref}/timeline")["items"]][-5:]
    assert kinds == [("status_changed", "postmortem"), ("postmortem", None), ("postmortem", "in_review"),
                     ("postmortem", "published"), ("status_changed", "closed")]

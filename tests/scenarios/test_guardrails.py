"""Guardrails (issue 19), one scenario per guardrail on the ManualClock: the mistake is made, time
passes the threshold, the engine's `guardrails` job trips it (a `guardrail` timeline entry, the
room's Guardrails panel, and for SEV1/SEV2 a nudge to the Incident Commander through their own
channels), someone fixes it, and it clears (another entry; the panel is gone).

Written on the harness's runbook (tests/harness/scenario.py): SQLite and PostgreSQL, the whole
engine on each tick, email through the real SMTP server."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.harness.console import login

INC = "/incidents"
PASSWORD = "guardrails pass phrase"


@pytest.fixture
def rb(runbook):
    for name in ("Alice", "Bob", "Carol"):
        runbook.person(name)
    runbook.person("Ada", role="admin")
    return runbook


def guardrail_events(rb, ref: str) -> list[tuple[str, str]]:
    """(rule, "tripped" or "cleared") of the incident's guardrail entries, in order."""
    return [(e.data["rule"], e.data["event"]) for e in rb.timeline(incident_id(rb, ref), "guardrail")]


def incident_id(rb, ref: str) -> uuid.UUID:
    return uuid.UUID(rb.as_("Ada").get(f"{INC}/{ref}")["id"])


def panel(rb, ref: str) -> list[str]:
    """The rules the room's Guardrails panel shows for the incident (as Ada, an admin)."""
    from tocsin.incidents.access import require_incident
    from tocsin.web import room_guardrails_view

    with rb.db.unit_of_work() as s:
        me = rb.principal("Ada")
        found = room_guardrails_view.panel(s, me, require_incident(s, me, ref), "UTC", rb.now, rb.settings)
    return [t["rule"] for t in found["trips"]] if found else []


def declare(rb, who: str = "Alice", **body) -> str:
    body.setdefault("title", "Checkout failing")
    return rb.as_(who).post(INC, **body)["ref"]


def test_no_incident_commander(rb):
    """1. An incident nobody commands trips after 5 minutes, shows in the room, clears when Bob takes it."""
    from tocsin.users.service import require_user, update_user

    with rb.db.unit_of_work() as s:
        update_user(s, actor=rb.system, now=rb.now, user=require_user(s, rb.people["Bob"].id), password=PASSWORD)
    ref = declare(rb, severity="SEV3")
    rb.as_("Alice").post(f"{INC}/{ref}/roles", 200, role="incident_commander", user=None)  # Alice steps away
    rb.tick(minutes=4)
    assert guardrail_events(rb, ref) == []
    rb.tick(minutes=1)
    assert guardrail_events(rb, ref) == [("no_commander", "tripped")]
    (entry,) = rb.timeline(incident_id(rb, ref), "guardrail")
    assert entry.text.startswith("Guardrail: No Incident Commander: no Incident Commander for 5 min.")
    bob = TestClient(rb.http.app, raise_server_exceptions=False)
    assert login(bob, rb.people["Bob"].email, PASSWORD).status_code == 303
    room = bob.get(f"/incidents/{ref}").text
    assert 'id="guardrails"' in room and "Someone takes the Incident Commander role now" in room

    rb.as_("Bob").post(f"{INC}/{ref}/roles", 200, role="incident_commander", user=rb.people["Bob"].email)
    rb.tick(seconds=30)
    assert guardrail_events(rb, ref) == [("no_commander", "tripped"), ("no_commander", "cleared")]
    assert 'id="guardrails"' not in bob.get(f"/incidents/{ref}").text
    rb.expect_nothing_more()  # a SEV3: nobody is nudged, and nobody commanded it to be told


def test_investigating_without_containment_on_a_sev1(rb):
    """2. A SEV1 still unmitigated after 30 minutes while notes pile up: the IC is told; mitigating clears it."""
    rb.configure(update_cadence="SEV1=2h,SEV2=2h,SEV3=4h,SEV4=1d")  # no update reminder in the same minute
    alice = rb.as_("Alice")
    ref = declare(rb, severity="SEV1")
    alice.post(f"{INC}/{ref}/roles", 200, role="scribe", user=rb.people["Carol"].email)
    for minute in range(5):
        rb.tick(minutes=5)
        rb.as_("Carol").post(f"{INC}/{ref}/notes", text=f"looked at dashboard {minute}")
    rb.tick(minutes=4)
    assert guardrail_events(rb, ref) == []
    rb.tick(minutes=1)  # 30 minutes after the declaration, five notes
    assert guardrail_events(rb, ref) == [("no_containment", "tripped")]
    assert panel(rb, ref) == ["no_containment"]
    mail = rb.expect_email("Alice", ref, "guardrail: Investigating without containment")
    body = mail.get_content()
    assert "Checkout failing" in body and "SEV1 not mitigated 30 min after it was declared, with 5 notes" in body
    assert "Stop the bleeding first" in body and f"/incidents/{ref}#guardrails" in body

    alice.patch(f"{INC}/{ref}", status="mitigated")
    rb.tick(seconds=30)
    assert guardrail_events(rb, ref)[-1] == ("no_containment", "cleared")
    assert panel(rb, ref) == []
    rb.expect_nothing_more()


def test_severity_that_does_not_match_the_impact(rb):
    """3. SEV4 kept for 15 minutes while the impact suggests SEV3 trips; setting SEV3 clears it."""
    ref = declare(rb, severity="SEV4", impact={"customer_facing": True}, severity_reason="looks small")
    rb.tick(minutes=14)
    assert guardrail_events(rb, ref) == []
    rb.tick(minutes=1)
    assert guardrail_events(rb, ref) == [("severity_mismatch", "tripped")]
    (entry,) = rb.timeline(incident_id(rb, ref), "guardrail")
    assert "SEV4 while the impact suggests SEV3, for 15 min" in entry.text
    rb.as_("Alice").patch(f"{INC}/{ref}", severity="SEV3")
    rb.tick(seconds=30)
    assert guardrail_events(rb, ref)[-1] == ("severity_mismatch", "cleared")


def test_war_room_sprawl(rb):
    """4. More responders than the limit trips at once; the IC moving one to observers clears it."""
    rb.configure(guardrail_responder_limit=2)
    alice = rb.as_("Alice")
    ref = declare(rb, severity="SEV3")
    for name in ("Bob", "Carol"):
        alice.post(f"{INC}/{ref}/participants", 200, user=rb.people[name].email)
    rb.tick(seconds=30)
    assert guardrail_events(rb, ref) == [("sprawl", "tripped")]
    assert panel(rb, ref) == ["sprawl"]
    alice.post(f"{INC}/{ref}/participants", 200, user=rb.people["Carol"].email, kind="observer")
    rb.tick(seconds=30)
    assert guardrail_events(rb, ref) == [("sprawl", "tripped"), ("sprawl", "cleared")]
    (trip,) = rb.as_("Bob").get(f"{INC}/{ref}/guardrails")["items"]
    assert (trip["rule"], trip["label"], trip["detail"]) == ("sprawl", "War-room sprawl", "3 active responders (limit 2)")
    assert trip["cleared_at"] is not None


def test_no_scribe_then_a_quiet_timeline_on_a_restricted_sev2(rb):
    """5. No scribe after 10 minutes, then no entry by a person for 30: the IC is nudged each time, and
    the restricted incident's title never goes into the message."""
    ref = declare(rb, severity="SEV2", title="Payroll export leaked", restricted=True)
    rb.tick(minutes=10)
    assert guardrail_events(rb, ref) == [("no_scribe", "tripped")]
    mail = rb.expect_email("Alice", ref, "guardrail: No scribe")
    assert "Payroll" not in mail["Subject"] + mail.get_content()
    assert "(a restricted incident: sign in to read it)" in mail.get_content()
    rb.as_("Alice").post(f"{INC}/{ref}/roles", 200, role="scribe", user=rb.people["Carol"].email)
    rb.tick(seconds=30)
    assert guardrail_events(rb, ref)[-1] == ("no_scribe", "cleared")

    rb.tick(minutes=29)  # the role change was the last entry by a person
    assert ("quiet_timeline", "tripped") not in guardrail_events(rb, ref)
    rb.tick(minutes=1)
    assert guardrail_events(rb, ref)[-1] == ("quiet_timeline", "tripped")
    mail = rb.expect_email("Alice", ref, "guardrail: The timeline has gone quiet")
    assert "Payroll" not in mail.get_content()
    rb.as_("Carol").post(f"{INC}/{ref}/notes", text="Export job stopped; checking who downloaded it")
    rb.tick(seconds=30)
    assert guardrail_events(rb, ref)[-1] == ("quiet_timeline", "cleared")
    rb.expect_nothing_more()


def test_blameful_language_in_the_postmortem(rb):
    """6. A postmortem sentence blaming a person is counted as a trip; rewriting it clears it."""
    alice = rb.as_("Alice")
    ref = declare(rb, severity="SEV3")
    alice.post(f"{INC}/{ref}/roles", 200, role="sme", user=rb.people["Bob"].email)
    alice.patch(f"{INC}/{ref}", status="resolved")
    pm = alice.post(f"{INC}/{ref}/postmortem")
    alice.patch(f"/postmortems/{pm['id']}", body=pm["body"] + "\n\nBob forgot to run the migration.\n")
    rb.tick(seconds=30)
    assert guardrail_events(rb, ref) == [("blameful_postmortem", "tripped")]
    assert panel(rb, ref) == ["blameful_postmortem"]
    alice.patch(f"/postmortems/{pm['id']}", body=pm["body"] + "\n\nThe deploy ran without its migration.\n")
    rb.tick(seconds=30)
    assert guardrail_events(rb, ref) == [("blameful_postmortem", "tripped"), ("blameful_postmortem", "cleared")]

    from tocsin.guardrails.service import counts

    with rb.db.unit_of_work() as s:
        assert counts(s, rb.start, rb.now + timedelta(seconds=1)) == {"blameful_postmortem": 1}


def test_action_items_past_due_and_an_unpublished_postmortem(rb):
    """7. An action item past its due date trips until it is done; a required postmortem still unpublished
    5 days after resolution trips until it is waived. Both are SEV2's: the IC hears of each."""
    alice = rb.as_("Alice")
    ref = declare(rb, severity="SEV2")
    alice.post(f"{INC}/{ref}/roles", 200, role="scribe", user=rb.people["Carol"].email)
    alice.patch(f"{INC}/{ref}", status="resolved")
    item = alice.post("/action-items", title="Alert on the export queue", type="detect", incident=ref,
                      due_at=(rb.now + timedelta(days=1)).isoformat())
    rb.tick(hours=23)
    assert guardrail_events(rb, ref) == []
    rb.tick(hours=1)
    assert guardrail_events(rb, ref) == [("overdue_actions", "tripped")]
    rb.expect_email("Alice", ref, "guardrail: Action items past due")
    alice.patch(f"/action-items/{item['id']}", status="done")
    rb.tick(seconds=30)
    assert guardrail_events(rb, ref)[-1] == ("overdue_actions", "cleared")

    rb.tick(days=4)  # five days after the resolution
    assert guardrail_events(rb, ref)[-1] == ("unpublished_postmortem", "tripped")
    rb.expect_email("Alice", ref, "guardrail: Postmortem not published")
    alice.patch(f"{INC}/{ref}", postmortem_waived_reason="covered by the Q4 export review")
    rb.tick(seconds=30)
    assert guardrail_events(rb, ref)[-1] == ("unpublished_postmortem", "cleared")
    rb.expect_nothing_more()


def test_evidence_touched_before_preservation(rb):
    """8. Investigating web-7 before it was preserved (the forensics-first warning) trips; collecting its
    disk image clears it."""
    ada = rb.as_("Ada")
    ref = declare(rb, "Ada", severity="SEV3", kind="security")
    ada.post(f"{INC}/{ref}/checklist", template=None)
    step = ada.post(f"{INC}/{ref}/checklist/steps", kind="investigate", title="Look at web-7", target="web-7")
    ada.post(f"{INC}/{ref}/checklist/steps/{step['id']}/done", 200)
    rb.tick(seconds=30)
    assert guardrail_events(rb, ref) == [("evidence_unpreserved", "tripped")]
    assert panel(rb, ref) == ["evidence_unpreserved"]
    ada.post(f"{INC}/{ref}/evidence/external", name="web-7 disk image", location="s3://forensics/web-7.dd",
             sha256="ab" * 32)
    rb.tick(seconds=30)
    assert guardrail_events(rb, ref) == [("evidence_unpreserved", "tripped"), ("evidence_unpreserved", "cleared")]


def test_a_drill_trips_for_its_score_but_is_not_counted_and_a_rule_can_be_turned_off(rb):
    from tocsin.guardrails.service import counts, tripped
    from tocsin.incidents.models import Incident

    rb.configure(guardrail_off="no_commander")
    ref = declare(rb, severity="SEV3")
    with rb.db.unit_of_work() as s:
        s.get(Incident, incident_id(rb, ref)).drill = True
    rb.as_("Alice").post(f"{INC}/{ref}/roles", 200, role="incident_commander", user=None)
    rb.tick(minutes=30)
    assert guardrail_events(rb, ref) == [("quiet_timeline", "tripped")], "no_commander is off"
    with rb.db.unit_of_work() as s:
        assert [t.rule for t in tripped(s, incident_id(rb, ref))] == ["quiet_timeline"]  # what an exercise scores
        assert counts(s, rb.start, rb.now + timedelta(seconds=1)) == {}  # reports leave drills out

"""Communication (issue 19): stakeholders receive the room's updates by email, need-to-know holds for
restricted incidents, drills reach nobody, and the IC and Comms Lead are reminded when an update is due.

On the runbook: SQLite and PostgreSQL, a ManualClock, the whole engine, email through the real SMTP server.
"""

from __future__ import annotations

import sqlalchemy as sa


def _subjects(rb, name: str, *words: str) -> list[str]:
    return [str(m["Subject"]) for m in rb.emails(name) if all(w in str(m["Subject"]) for w in words)]


def _body(message) -> str:
    part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
    return str(part.get_content())


def test_a_stakeholder_of_the_service_gets_the_rooms_update_by_email(runbook):
    rb = runbook
    rb.person("Alice", role="admin"), rb.person("Sam", role="viewer"), rb.person("Vic", role="viewer")
    rb.service("checkout"), rb.service("search")
    rb.as_("Sam").post("/stakeholders", service="checkout", min_severity="SEV2")
    rb.as_("Vic").post("/stakeholders", service="search")  # another service: not told
    inc = rb.as_("Alice").post("/incidents", title="Checkout payments failing", severity="SEV2",
                               services=["checkout"])
    ref = inc["ref"]
    rb.tick()
    out = rb.as_("Alice").post(f"/incidents/{ref}/updates", template="internal-update", audience="stakeholders")
    assert out["sent"] == 1 and "Checkout payments failing" in out["text"] and out["next_update_due"]
    rb.tick()
    [mail] = [m for m in rb.emails("Sam") if ref in str(m["Subject"])]
    assert "update" in str(mail["Subject"]) and "Checkout payments failing" in _body(mail)
    assert "Next update by" in _body(mail)
    assert not [m for m in rb.emails("Vic") if ref in str(m["Subject"])]
    # an update to the responders only goes nowhere but the timeline
    rb.as_("Alice").post(f"/incidents/{ref}/updates", text="rolled back", audience="responders")
    rb.tick()
    assert len([m for m in rb.emails("Sam") if ref in str(m["Subject"])]) == 1


def test_a_stakeholder_who_may_not_see_a_restricted_incident_gets_nothing(runbook):
    rb = runbook
    rb._make_team("secops", is_security=True)
    rb.person("Alice", role="admin"), rb.person("Carol", teams=["secops"]), rb.person("Oscar")
    rb.service("vpn")
    for name in ("Carol", "Oscar"):
        rb.as_(name).post("/stakeholders", service="vpn")
    inc = rb.as_("Alice").post("/incidents", title="Leaked VPN credentials of Jane", severity="SEV1",
                               kind="security", services=["vpn"])
    assert inc["restricted"] is True
    out = rb.as_("Alice").post(f"/incidents/{inc['ref']}/updates", text="Keys rotated; Jane's account locked.",
                               audience="stakeholders")
    assert out["sent"] == 1
    rb.tick()
    [mail] = [m for m in rb.emails("Carol") if "Jane's account locked" in _body(m)]
    assert str(mail["Subject"]) == f"{inc['ref']} update (restricted incident)"  # the title stays out of subjects
    assert not [m for m in rb.emails("Oscar") if inc["ref"] in str(m["Subject"]) or "Jane" in _body(m)]


def test_a_drills_update_reaches_no_stakeholder_and_the_timeline_says_so(runbook):
    from tocsin.services.models import Service

    rb = runbook
    rb.person("Alice", role="admin"), rb.person("Sam", role="viewer")
    service_id = rb.service("checkout")
    with rb.db.unit_of_work() as s:
        s.get(Service, service_id).drill = True
    rb.as_("Sam").post("/stakeholders", service="checkout")
    inc = rb.as_("Alice").post("/incidents", title="Game day: checkout down", severity="SEV2", services=["checkout"])
    out = rb.as_("Alice").post(f"/incidents/{inc['ref']}/updates", text="drill update", audience="stakeholders")
    assert out["sent"] == 0 and out["drill_spared"] == 1
    rb.tick(minutes=1)
    assert not [m for m in rb.emails("Sam") if inc["ref"] in str(m["Subject"])]
    texts = [e.text for e in rb.timeline(__import__("uuid").UUID(inc["id"]), kind="comms")]
    assert texts == ["(drill) update not sent to 1 stakeholder"]


def test_the_ic_and_comms_lead_are_reminded_when_an_update_is_due_and_not_twice(runbook):
    from tocsin.incidents.models import TimelineEntry

    rb = runbook
    rb.person("Alice", role="admin"), rb.person("Cora")
    inc = rb.as_("Alice").post("/incidents", title="Search is slow", severity="SEV2")
    ref = inc["ref"]
    rb.as_("Alice").post(f"/incidents/{ref}/roles", 200, role="comms_lead", user=rb.people["Cora"].email)
    rb.tick(minutes=59)  # a SEV2 is updated every 60 min (TOCSIN_UPDATE_CADENCE's default)
    assert _subjects(rb, "Alice", "update is due") == [] and _subjects(rb, "Cora", "update is due") == []
    rb.tick(minutes=2)
    rb.tick()  # the outbox sends what the reminder job queued
    assert _subjects(rb, "Alice", ref, "update is due") == [f"{ref}: an update is due (SEV2)"]
    assert len(_subjects(rb, "Cora", ref, "update is due")) == 1
    rb.tick(minutes=20)
    assert len(_subjects(rb, "Alice", "update is due")) == 1, "once per due time"
    rb.as_("Alice").post(f"/incidents/{ref}/updates", text="found the slow query", audience="responders")
    rb.tick(minutes=59)
    assert len(_subjects(rb, "Cora", "update is due")) == 1
    rb.tick(minutes=2)
    rb.tick()
    assert len(_subjects(rb, "Cora", "update is due")) == 2 and len(_subjects(rb, "Alice", "update is due")) == 2
    with rb.db.read() as s:
        reminders = s.execute(sa.select(TimelineEntry.text).where(TimelineEntry.kind == "comms")).scalars().all()
    assert len(reminders) == 2 and all("Alice" in t and "Cora" in t for t in reminders)


def test_a_workflow_posts_an_internal_template_to_the_stakeholders(runbook):
    """`comms.service.post_template`, as an incident workflow's step calls it."""
    import uuid

    import pytest

    from tocsin.comms.service import post_template
    from tocsin.errors import InvalidInput, NotFound
    from tocsin.incidents.models import Incident

    rb = runbook
    rb.person("Alice", role="admin"), rb.person("Sam", role="viewer")
    rb.as_("Sam").post("/stakeholders", min_severity="SEV4")  # every incident
    inc = rb.as_("Alice").post("/incidents", title="Queue backlog", severity="SEV3")
    with rb.db.unit_of_work() as s:
        incident = s.get(Incident, uuid.UUID(inc["id"]))
        post_template(s, incident=incident, template="internal-update", actor=rb.principal("Alice"), now=rb.now)
        with pytest.raises(NotFound):
            post_template(s, incident=incident, template="missing", actor=rb.principal("Alice"), now=rb.now)
        with pytest.raises(InvalidInput):
            post_template(s, incident=incident, template="customer-email", actor=rb.principal("Alice"), now=rb.now)
    rb.tick()
    [mail] = [m for m in rb.emails("Sam") if inc["ref"] in str(m["Subject"])]
    assert str(mail["Subject"]) == f"{inc['ref']} (SEV3) update: Queue backlog"
    notes = [e for e in rb.timeline(uuid.UUID(inc["id"]), kind="note") if e.key_event]
    assert len(notes) == 1 and notes[0].text.startswith(f"{inc['ref']} Queue backlog is investigating (SEV3).")


def test_an_update_is_due_on_an_incident_past_the_first_batch_of_open_ones(runbook, monkeypatch):
    """attack3: the reminder job read the first BATCH open incidents and only then asked which were
    due, so past BATCH open incidents the later ones were never reminded (a quiet SEV1 among many
    long-running SEV4s)."""
    from tocsin.comms import reminders

    monkeypatch.setattr(reminders, "BATCH", 2)
    rb = runbook
    rb.person("Alice", role="admin")
    for title in ("Old report glitch", "Slow admin page"):
        rb.as_("Alice").post("/incidents", title=title, severity="SEV4")
    inc = rb.as_("Alice").post("/incidents", title="Search is down", severity="SEV2")
    rb.tick(minutes=61)
    rb.tick()
    assert _subjects(rb, "Alice", inc["ref"], "update is due") == [f"{inc['ref']}: an update is due (SEV2)"]

"""Reminders of regulatory deadlines (obligations/reminders.py), run as the engine runs them with the
injectable clock: the Legal and Privacy Officer holders of a restricted breach are told 24 h, 4 h
and 1 h before the GDPR notice is due and when it falls due, each once; an engine that was down
sends the one reminder due now; someone who lost sight of the incident is not told; a corrected
clock starts the reminders again; a filed obligation is not reminded."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tocsin.config import Settings
from tocsin.escalation.models import Notification
from tocsin.incidents import roles
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident, Participant
from tocsin.incidents.types import Kind, Role
from tocsin.jobs import JobContext
from tocsin.obligations import reminders
from tocsin.obligations import service as svc
from tocsin.obligations.models import Obligation
from tocsin.severities import Severity
from tocsin.teams.models import TeamMember
from tocsin.users.models import User

SETTINGS = Settings(secret_key="test")


def _tick(db, clock, **advance) -> int:
    now = clock.advance(**advance) if advance else clock.now()
    return reminders.obligation_reminders(JobContext(db, clock, "test-engine", now, SETTINGS, {}))


def _sent(db) -> list[tuple[str, str]]:
    with db.unit_of_work() as s:
        rows = s.execute(sa.select(User.name, Notification.subject).join(User, User.id == Notification.user_id)
                         .where(Notification.kind == "reminder").order_by(Notification.created_at, User.name)).all()
        return [(n, subj) for n, subj in rows]


def test_legal_and_privacy_are_reminded_once_per_lead_until_it_is_filed(db, clock, system, make_person, make_team):
    make_team("secops", is_security=True)
    lena, pia = make_person(name="Lena", teams=["secops"]), make_person(name="Pia", teams=["secops"])
    cat = svc.catalog_of(SETTINGS)
    with db.unit_of_work() as s:
        incident = incidents.declare(s, actor=system, now=clock.now(), spec=incidents.Declaration(
            title="Customer database copied", severity=Severity.SEV2, kind=Kind.security))
        for role, person in ((Role.legal, lena), (Role.privacy_officer, pia)):
            roles.assign_role(s, incident=incident, role=role, user=s.get(User, person.id), actor=system,
                              now=clock.now())
        svc.choose_regime(s, incident=incident, regime_id="gdpr", reason="EU customers", actor=system,
                          now=clock.now(), cat=cat)
        svc.set_clock(s, incident=incident, clock="aware_at", at=clock.now(), reason="SOC", actor=system,
                      now=clock.now(), cat=cat)
        ref = incidents.ref(incident)
        incident_id = incident.id

    assert _tick(db, clock, hours=47, minutes=59) == 0, "72 h due: not yet 24 h before"
    assert _tick(db, clock, minutes=1) == 1
    assert _sent(db) == [("Lena", f"{ref}: GDPR Art. 33 notice due in 24 h"),
                         ("Pia", f"{ref}: GDPR Art. 33 notice due in 24 h")]
    assert _tick(db, clock) == 0 and _tick(db, clock, hours=1) == 0, "each lead once"
    # the engine was down from 23 h to 30 min before: one reminder (the 1 h one), not the 4 h one too
    assert _tick(db, clock, hours=22, minutes=30) == 1
    assert [subj for _, subj in _sent(db)[2:]] == [f"{ref}: GDPR Art. 33 notice due in 30 min"] * 2
    with db.unit_of_work() as s:  # Pia leaves the security team and the incident: she is no longer told
        s.execute(sa.delete(TeamMember).where(TeamMember.user_id == pia.id))
        s.execute(sa.delete(Participant).where(Participant.user_id == pia.id))
    assert _tick(db, clock, minutes=30) == 1
    assert _sent(db)[-1] == ("Lena", f"{ref}: GDPR Art. 33 notice is due now (overdue by 0 min)")
    assert len(_sent(db)) == 5
    assert _tick(db, clock, hours=5) == 0, "nothing after the due-now notice"
    with db.unit_of_work() as s:
        body = s.execute(sa.select(Notification.body).where(Notification.kind == "reminder")).scalars().first()
        assert "Customer database copied" not in body and "restricted incident" in body
        row = s.execute(sa.select(Obligation).where(Obligation.incident_id == incident_id,
                                                    Obligation.obligation == "art33")).scalar_one()
        # aware_at corrected to later: the new due time gets its own reminders
        svc.set_clock(s, incident=s.get(Incident, incident_id), clock="aware_at", at=clock.now() - timedelta(hours=1),
                      reason="the first alert was a false positive", actor=system, now=clock.now(), cat=cat)
        assert row.reminded_lead is None
    assert _tick(db, clock) == 0 and _tick(db, clock, hours=47) == 1
    assert _sent(db)[-1] == ("Lena", f"{ref}: GDPR Art. 33 notice due in 24 h")
    with db.unit_of_work() as s:  # filed: no more reminders
        row = s.execute(sa.select(Obligation).where(Obligation.incident_id == incident_id,
                                                    Obligation.obligation == "art33")).scalar_one()
        svc.file_obligation(s, incident=s.get(Incident, incident_id), obligation=row, reference="DPA-2026-17",
                            filed_at=None, evidence_ids=[], late_reason=None, actor=system, now=clock.now(), cat=cat)
    assert _tick(db, clock, hours=23) == 0

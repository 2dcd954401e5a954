"""The audit log: every privileged action is recorded, and any edit or deletion is detected."""

import sqlalchemy as sa

from tocsin.audit.models import AuditEntry
from tocsin.audit.service import verify
from tocsin.incidents.service import Declaration, declare, update_incident
from tocsin.severities import Severity
from tocsin.users.service import principal_for, require_user


def _some_history(db, clock, make_person, system):
    bob = make_person("responder")
    with db.unit_of_work() as s:
        actor = principal_for(s, require_user(s, bob.id))
        inc = declare(s, actor=actor, now=clock.now(), spec=Declaration(title="x", severity=Severity.SEV3))
        update_incident(s, incident=inc, actor=actor, now=clock.now(), changes={"status": "mitigated"})
    with db.unit_of_work() as s:
        return [e.action for e in s.execute(sa.select(AuditEntry).order_by(AuditEntry.seq)).scalars()]


def _verify(db):
    with db.unit_of_work() as s:
        return verify(s)


def test_actions_are_recorded_in_order_and_chain_verifies(db, clock, make_person, system):
    actions = _some_history(db, clock, make_person, system)
    assert actions == ["user.create", "token.create", "incident.declare", "incident.role_assign", "incident.update"]
    result = _verify(db)
    assert result.ok and result.entries == 5 and result.head_hash != "0" * 64


def test_edited_entry_is_detected(db, clock, make_person, system):
    _some_history(db, clock, make_person, system)
    with db.engine.begin() as conn:
        conn.execute(sa.update(AuditEntry).where(AuditEntry.seq == 3).values(actor_label="mallory@example.test"))
    result = _verify(db)
    assert not result.ok
    assert any("entry 3" in p and "edited" in p for p in result.problems)


def test_deleted_middle_entry_is_detected(db, clock, make_person, system):
    _some_history(db, clock, make_person, system)
    with db.engine.begin() as conn:
        conn.execute(sa.delete(AuditEntry).where(AuditEntry.seq == 2))
    result = _verify(db)
    assert not result.ok and any("missing" in p for p in result.problems)


def test_deleted_newest_entry_is_detected(db, clock, make_person, system):
    _some_history(db, clock, make_person, system)
    with db.engine.begin() as conn:
        conn.execute(sa.delete(AuditEntry).where(AuditEntry.seq == 5))
    result = _verify(db)
    assert not result.ok and any("5..5" in p for p in result.problems)


def test_rehashed_forgery_of_one_entry_breaks_the_link_to_the_next(db, clock, make_person, system):
    """Recomputing the edited entry's own hash is not enough: the next entry's prev_hash no longer matches."""
    from tocsin.audit.service import entry_hash

    _some_history(db, clock, make_person, system)
    with db.unit_of_work() as s:
        row = s.get(AuditEntry, 3)
        row.actor_label = "mallory@example.test"
        row.hash = entry_hash(row.prev_hash, seq=row.seq, at=row.at, actor_id=str(row.actor_id),
                              actor_label=row.actor_label, action=row.action, target_type=row.target_type,
                              target_id=row.target_id, details=row.details)
    result = _verify(db)
    assert not result.ok and any("entry 4" in p for p in result.problems)

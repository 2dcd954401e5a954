"""The audit chain against someone who can write the database but does not hold the audit key (issue 14, item 9).

The attacker knows the code: the hash formula and the row layout. They rewrite an entry and recompute every
later hash, or drop the newest entries and lower the counter. The chain is keyed (HMAC under a key kept
outside the database), so a recomputed chain does not verify; truncation shows against an anchor kept
outside the database (`tocsin audit anchor`).
"""

from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa

from tocsin.audit.models import AuditEntry
from tocsin.audit.service import Anchor, anchor, verify
from tocsin.db.counters import Counter
from tocsin.db.migrate import downgrade, upgrade
from tocsin.incidents.service import Declaration, declare, update_incident
from tocsin.severities import Severity
from tocsin.users.service import principal_for, require_user


def some_history(db, clock, make_person, incidents: int = 1) -> int:
    bob = make_person("responder")
    with db.unit_of_work() as s:
        actor = principal_for(s, require_user(s, bob.id))
        for n in range(incidents):
            inc = declare(s, actor=actor, now=clock.now(), spec=Declaration(title=f"x{n}", severity=Severity.SEV3))
            update_incident(s, incident=inc, actor=actor, now=clock.now(), changes={"status": "mitigated"})
    with db.unit_of_work() as s:
        return s.execute(sa.select(sa.func.max(AuditEntry.seq))).scalar_one()


def unkeyed_hash(prev: str, row: AuditEntry, **extra: object) -> str:
    """SHA-256 over the previous hash and the entry's canonical JSON: what anyone can compute from the code."""
    body = json.dumps({"seq": row.seq, "at": row.at.isoformat(), "actor_id": str(row.actor_id) if row.actor_id
                       else None, "actor_label": row.actor_label, "action": row.action, "target_type": row.target_type,
                       "target_id": row.target_id, "details": row.details, **extra},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev + "\n" + body).encode()).hexdigest()


def rewrite_from(db, seq: int, **changes: object) -> None:
    """Edit entry `seq` and recompute its hash and every later one, as an attacker with database access would."""
    with db.unit_of_work() as s:
        rows = s.execute(sa.select(AuditEntry).where(AuditEntry.seq >= seq).order_by(AuditEntry.seq)).scalars().all()
        prev = rows[0].prev_hash
        for row in rows:
            if row.seq == seq:
                for name, value in changes.items():
                    setattr(row, name, value)
            row.prev_hash, row.hash = prev, unkeyed_hash(prev, row)
            prev = row.hash


def truncate(db, keep: int) -> None:
    """Drop the entries after `keep` and lower the counter to match."""
    with db.unit_of_work() as s:
        s.execute(sa.delete(AuditEntry).where(AuditEntry.seq > keep))
        s.execute(sa.update(Counter).where(Counter.name == "audit").values(value=keep))


def check(db, since: Anchor | None = None):
    with db.unit_of_work() as s:
        return verify(s, since_anchor=since)


def head(db) -> Anchor:
    with db.unit_of_work() as s:
        return anchor(s, now=s.execute(sa.select(sa.func.max(AuditEntry.at))).scalar_one())


def test_a_recomputed_chain_does_not_verify(db, clock, make_person):
    last = some_history(db, clock, make_person)
    assert check(db).ok
    rewrite_from(db, 3, actor_label="mallory@example.test")
    result = check(db)
    assert not result.ok, "every later hash was recomputed, but without the key"
    assert any(p.startswith("entry 3:") for p in result.problems), result.problems
    assert result.entries == last


def test_truncation_is_detected_against_an_anchor(db, clock, make_person):
    last = some_history(db, clock, make_person, incidents=2)
    kept = head(db)
    assert kept.seq == last and check(db, kept).ok
    truncate(db, last - 2)
    assert check(db).ok, "without an anchor a consistent truncation looks like a shorter history"
    result = check(db, kept)
    assert not result.ok
    assert f"the anchored entry {last} is missing (the log was cut back to {last - 2})" in result.problems


def test_an_anchor_keeps_verifying_as_the_log_grows(db, clock, make_person):
    some_history(db, clock, make_person)
    kept = head(db)
    some_history(db, clock, make_person)
    assert check(db, kept).ok


def test_an_anchor_detects_an_entry_replaced_with_a_validly_keyed_one(db, clock, make_person):
    """Even someone who could append keyed entries cannot rebuild the history an anchor saw."""
    last = some_history(db, clock, make_person)
    kept = head(db)
    truncate(db, last - 1)
    some_history(db, clock, make_person)  # the server keeps appending: seq `last` is now another entry
    assert check(db).ok
    result = check(db, kept)
    assert not result.ok and f"entry {last} is not the anchored one (its hash differs)" in result.problems


def test_moving_the_switch_point_to_pass_keyed_entries_off_as_old_ones_is_detected(db, clock, make_person):
    """The downgrade: claim every entry predates keying and recompute them all unkeyed."""
    last = some_history(db, clock, make_person)
    kept = head(db)
    with db.unit_of_work() as s:
        s.execute(sa.update(Counter).where(Counter.name == "audit_keyed_from").values(value=last))
    rewrite_from(db, 1)
    assert not check(db, kept).ok


def test_the_anchor_round_trips_as_json(db, clock, make_person):
    some_history(db, clock, make_person)
    kept = head(db)
    assert Anchor.from_json(kept.to_json()) == kept
    for bad in ("", "[]", '{"seq": "x"}', '{"seq": 1, "hash": "zz", "keyed_from": 0, "at": "2026-01-01T00:00:00Z"}'):
        with pytest.raises(ValueError):
            Anchor.from_json(bad)


def test_entries_from_before_the_upgrade_keep_verifying_and_later_ones_are_keyed(db, clock, make_person):
    """An existing database: its unkeyed entries verify as before, the switch point is recorded by the
    migration, and every entry after it is keyed, so the old part cannot be rewritten either."""
    downgrade(db.url, "0007")
    prev = "0" * 64
    with db.engine.begin() as conn:  # what tocsin wrote before the chain was keyed
        for seq in (1, 2, 3):
            row = AuditEntry(seq=seq, at=clock.now(), actor_id=None, actor_label="system:cli", action="user.create",
                             target_type="user", target_id=str(seq), details={"email": f"u{seq}@example.test"})
            digest = unkeyed_hash(prev, row)
            conn.execute(sa.insert(AuditEntry).values(seq=seq, at=row.at, actor_id=None, actor_label=row.actor_label,
                                                      action=row.action, target_type=row.target_type,
                                                      target_id=row.target_id, details=row.details, prev_hash=prev,
                                                      hash=digest))
            prev = digest
        conn.execute(sa.update(Counter).where(Counter.name == "audit").values(value=3))
    upgrade(db.url)

    before = check(db)
    assert before.ok and before.entries == 3 and before.keyed_from == 3
    some_history(db, clock, make_person)
    after = check(db)
    assert after.ok and after.entries > 3 and after.keyed_from == 3
    with db.unit_of_work() as s:
        assert s.get(AuditEntry, 4).hash != unkeyed_hash(s.get(AuditEntry, 3).hash, s.get(AuditEntry, 4))

    rewrite_from(db, 2, actor_label="mallory@example.test")  # the old part, every later hash recomputed
    result = check(db)
    assert not result.ok and any(p.startswith("entry 4:") for p in result.problems), result.problems

"""Append to and verify the hash-chained audit log.

Each entry's hash is SHA-256 over the previous entry's hash and the canonical JSON of
the entry, so editing or deleting any entry breaks every hash after it. The `audit`
counter holds the last sequence number, so deleting the newest entries is detected too.
Appends serialise on the counter row's lock; audit entries are written in the same
transaction as the action they record.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.models import AuditEntry
from tocsin.db.counters import current_value, next_value
from tocsin.principal import Principal

GENESIS = "0" * 64
COUNTER = "audit"


def _canonical(details: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(details, default=str, sort_keys=True))


def entry_hash(prev_hash: str, *, seq: int, at: datetime, actor_id: str | None, actor_label: str, action: str,
               target_type: str, target_id: str | None, details: dict[str, Any]) -> str:
    body = json.dumps(
        {"seq": seq, "at": at.isoformat(), "actor_id": actor_id, "actor_label": actor_label, "action": action,
         "target_type": target_type, "target_id": target_id, "details": details},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256((prev_hash + "\n" + body).encode()).hexdigest()


def record(session: Session, *, actor: Principal, action: str, target_type: str, target_id: object | None,
           now: datetime, details: dict[str, Any] | None = None) -> AuditEntry:
    """Append one audit entry in the caller's transaction and return it."""
    seq = next_value(session, COUNTER)
    prev = GENESIS if seq == 1 else session.execute(
        sa.select(AuditEntry.hash).where(AuditEntry.seq == seq - 1)
    ).scalar_one_or_none() or GENESIS
    clean = _canonical(details or {})
    actor_id = str(actor.user_id) if actor.user_id else None
    tid = str(target_id) if target_id is not None else None
    digest = entry_hash(prev, seq=seq, at=now, actor_id=actor_id, actor_label=actor.label, action=action,
                        target_type=target_type, target_id=tid, details=clean)
    entry = AuditEntry(seq=seq, at=now, actor_id=actor.user_id, actor_label=actor.label, action=action,
                       target_type=target_type, target_id=tid, details=clean, prev_hash=prev, hash=digest)
    session.add(entry)
    session.flush()
    return entry


@dataclass
class VerifyResult:
    entries: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, *, batch: int = 1000) -> VerifyResult:
    """Walk the whole chain; return the entry count, head hash and every problem found."""
    result = VerifyResult()
    expected_seq, prev = 1, GENESIS
    last_seq = 0
    while True:
        rows = session.execute(
            sa.select(AuditEntry).where(AuditEntry.seq > last_seq).order_by(AuditEntry.seq).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                result.problems.append(f"entries {expected_seq}..{row.seq - 1} are missing (deleted)")
            if row.prev_hash != prev:
                result.problems.append(f"entry {row.seq}: previous-hash link broken")
            digest = entry_hash(row.prev_hash, seq=row.seq, at=row.at,
                                actor_id=str(row.actor_id) if row.actor_id else None, actor_label=row.actor_label,
                                action=row.action, target_type=row.target_type, target_id=row.target_id,
                                details=_canonical(row.details or {}))
            if digest != row.hash:
                result.problems.append(f"entry {row.seq}: content does not match its hash (edited)")
            prev, expected_seq, last_seq = row.hash, row.seq + 1, row.seq
            result.entries += 1
        session.expunge_all()
    counted = current_value(session, COUNTER)
    if counted > last_seq:
        result.problems.append(f"entries {last_seq + 1}..{counted} are missing (deleted from the end)")
    result.head_hash = prev
    return result


def list_entries(session: Session, *, after_seq: int = 0, limit: int = 100) -> list[AuditEntry]:
    return list(session.execute(
        sa.select(AuditEntry).where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq).limit(limit)
    ).scalars())

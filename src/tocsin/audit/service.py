"""Append to and verify the keyed hash chain of the audit log.

Each entry's hash is HMAC-SHA256, under the audit key, over the previous entry's hash and the
canonical JSON of the entry, so editing or deleting any entry breaks every hash after it, and
someone who can write the database but does not hold the key cannot recompute the chain. The
key lives outside the database (`TOCSIN_AUDIT_KEY` or `data_dir/audit_key`); the process sets it
once at start (`configure_key`, as the app and the CLI do), like the password hashing cost.

Entries written before the chain was keyed (tocsin before migration 0008) keep their plain
SHA-256 hashes: the counter `audit_keyed_from` holds the last of them, and every keyed entry's
HMAC covers that number, so moving the switch point breaks every keyed entry. The `audit`
counter holds the last sequence number, so deleting the newest entries is detected too, unless
the counter is lowered as well: an anchor (`anchor`, kept outside the database by `tocsin audit
anchor`) catches that, and any rewrite of what it saw (`verify(since_anchor=...)`).

Appends serialise on the counter row's lock; audit entries are written in the same transaction
as the action they record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.models import AuditEntry
from tocsin.clock import ensure_utc
from tocsin.db.counters import current_value, next_value
from tocsin.principal import OrgRole, Principal

GENESIS = "0" * 64
COUNTER = "audit"
KEYED_FROM = "audit_keyed_from"  # the last entry written before the chain was keyed (0: all keyed)
_DOMAIN = b"tocsin audit chain v1\n"  # the audit key signs nothing else
_HEX64 = re.compile(r"[0-9a-f]{64}")


class AuditKeyMissing(RuntimeError):
    """The process was started without an audit key (a programming error: the edges configure it)."""


_key: bytes | None = None


def configure_key(key: str) -> None:
    """Set the audit key of this process: the app and the CLI call this at start with the settings' key."""
    global _key
    if not key:
        raise ValueError("the audit key must not be empty")
    _key = key.encode()


def _current_key() -> bytes:
    if _key is None:
        raise AuditKeyMissing("no audit key configured (audit.service.configure_key)")
    return _key


def _canonical(details: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(details, default=str, sort_keys=True))


def _body(*, seq: int, at: datetime, actor_id: str | None, actor_label: str, action: str, target_type: str,
          target_id: str | None, details: dict[str, Any], keyed_from: int | None) -> str:
    fields: dict[str, Any] = {"seq": seq, "at": at.isoformat(), "actor_id": actor_id, "actor_label": actor_label,
                              "action": action, "target_type": target_type, "target_id": target_id,
                              "details": details}
    if keyed_from is not None:
        fields["keyed_from"] = keyed_from
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(prev_hash: str, *, seq: int, at: datetime, actor_id: str | None, actor_label: str, action: str,
               target_type: str, target_id: str | None, details: dict[str, Any], key: bytes | None = None,
               keyed_from: int = 0) -> str:
    """The hash of one entry: HMAC-SHA256 under `key` (covering `keyed_from`), or, with no key, the
    plain SHA-256 of entries written before the chain was keyed."""
    if key is None:
        body = _body(seq=seq, at=at, actor_id=actor_id, actor_label=actor_label, action=action,
                     target_type=target_type, target_id=target_id, details=details, keyed_from=None)
        return hashlib.sha256((prev_hash + "\n" + body).encode()).hexdigest()
    body = _body(seq=seq, at=at, actor_id=actor_id, actor_label=actor_label, action=action, target_type=target_type,
                 target_id=target_id, details=details, keyed_from=keyed_from)
    return hmac.new(key, _DOMAIN + (prev_hash + "\n" + body).encode(), hashlib.sha256).hexdigest()


def record(session: Session, *, actor: Principal, action: str, target_type: str, target_id: object | None,
           now: datetime, details: dict[str, Any] | None = None) -> AuditEntry:
    """Append one audit entry in the caller's transaction and return it."""
    key = _current_key()
    seq = next_value(session, COUNTER)
    prev = GENESIS if seq == 1 else session.execute(
        sa.select(AuditEntry.hash).where(AuditEntry.seq == seq - 1)
    ).scalar_one_or_none() or GENESIS
    clean = _canonical(details or {})
    actor_id = str(actor.user_id) if actor.user_id else None
    tid = str(target_id) if target_id is not None else None
    digest = entry_hash(prev, seq=seq, at=now, actor_id=actor_id, actor_label=actor.label, action=action,
                        target_type=target_type, target_id=tid, details=clean, key=key,
                        keyed_from=current_value(session, KEYED_FROM))
    entry = AuditEntry(seq=seq, at=now, actor_id=actor.user_id, actor_label=actor.label, action=action,
                       target_type=target_type, target_id=tid, details=clean, prev_hash=prev, hash=digest)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Anchor:
    """The head of the chain at one moment, to keep outside the database: its entry's sequence number
    and hash, the switch point to keyed hashes, and when it was taken. seq 0 is the empty chain."""

    seq: int
    hash: str
    keyed_from: int
    at: datetime

    def to_json(self) -> str:
        return json.dumps({"tocsin_audit_anchor": 1, "seq": self.seq, "hash": self.hash,
                           "keyed_from": self.keyed_from, "at": ensure_utc(self.at).isoformat()}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Anchor:
        """Parse an anchor written by `to_json`; raise ValueError saying what is wrong."""
        try:
            doc = json.loads(text)
        except ValueError:
            raise ValueError("not an audit anchor: not JSON") from None
        if not isinstance(doc, dict):
            raise ValueError("not an audit anchor: not a JSON object")
        seq, digest, keyed_from, at = doc.get("seq"), doc.get("hash"), doc.get("keyed_from"), doc.get("at")
        if type(seq) is not int or seq < 0 or type(keyed_from) is not int or keyed_from < 0:
            raise ValueError("not an audit anchor: seq and keyed_from must be whole numbers")
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise ValueError("not an audit anchor: hash must be 64 hex digits")
        try:
            when = datetime.fromisoformat(at) if isinstance(at, str) else None
        except ValueError:
            when = None
        if when is None or when.tzinfo is None:
            raise ValueError("not an audit anchor: at must be an ISO 8601 time with its offset")
        return cls(seq=seq, hash=digest, keyed_from=keyed_from, at=ensure_utc(when))


def anchor(session: Session, *, now: datetime) -> Anchor:
    """The current head of the chain, to keep outside the database."""
    seq = current_value(session, COUNTER)
    digest = session.execute(sa.select(AuditEntry.hash).where(AuditEntry.seq == seq)).scalar_one_or_none() \
        if seq else GENESIS
    return Anchor(seq=seq, hash=digest or GENESIS, keyed_from=current_value(session, KEYED_FROM), at=ensure_utc(now))


@dataclass
class VerifyResult:
    entries: int = 0
    head_hash: str = GENESIS
    head_seq: int = 0
    keyed_from: int = 0  # entries up to this one predate the keyed chain (plain SHA-256)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, *, batch: int = 1000, since_anchor: Anchor | None = None) -> VerifyResult:
    """Walk the whole chain; return the entry count, head hash and every problem found.

    With `since_anchor`, also check that the chain still holds the anchored entry unchanged under
    the same switch point, so that truncation (with the counter lowered) or a rebuilt history shows.
    """
    key = _current_key()
    keyed_from = current_value(session, KEYED_FROM)
    result = VerifyResult(keyed_from=keyed_from)
    expected_seq, prev = 1, GENESIS
    last_seq = 0
    anchored_hash: str | None = GENESIS if since_anchor is not None and since_anchor.seq == 0 else None
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
                                details=_canonical(row.details or {}),
                                key=None if row.seq <= keyed_from else key, keyed_from=keyed_from)
            if not hmac.compare_digest(digest, row.hash):
                result.problems.append(f"entry {row.seq}: content does not match its hash (edited, or rehashed "
                                       f"without the audit key)")
            if since_anchor is not None and row.seq == since_anchor.seq:
                anchored_hash = row.hash
            prev, expected_seq, last_seq = row.hash, row.seq + 1, row.seq
            result.entries += 1
        session.expunge_all()
    counted = current_value(session, COUNTER)
    if counted > last_seq:
        result.problems.append(f"entries {last_seq + 1}..{counted} are missing (deleted from the end)")
    if since_anchor is not None:
        if since_anchor.keyed_from != keyed_from:
            result.problems.append(f"the switch point to keyed hashes moved from entry {since_anchor.keyed_from} "
                                   f"to {keyed_from} since the anchor")
        if anchored_hash is None:
            result.problems.append(f"the anchored entry {since_anchor.seq} is missing (the log was cut back to "
                                   f"{last_seq})")
        elif not hmac.compare_digest(anchored_hash, since_anchor.hash):
            result.problems.append(f"entry {since_anchor.seq} is not the anchored one (its hash differs)")
    result.head_hash, result.head_seq = prev, last_seq
    return result


def list_entries(session: Session, *, after_seq: int = 0, limit: int = 100,
                 filters: AuditFilter | None = None) -> list[AuditEntry]:
    """Return entries after `after_seq` in order, narrowed by `filters` when given."""
    stmt = sa.select(AuditEntry).where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq).limit(limit)
    return list(session.execute(filters.where(stmt) if filters else stmt).scalars())


@dataclass(frozen=True)
class AuditFilter:
    """What a reader narrows the log to: `actor` is part of the actor's label (an email, or
    "system:..."), `action` an action ("silence.create") or its prefix ("silence." or "silence"),
    and `since`/`until` bound `at` (since inclusive, until exclusive)."""

    actor: str = ""
    action: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def where(self, stmt: sa.Select[Any]) -> sa.Select[Any]:
        if self.actor:
            stmt = stmt.where(sa.func.lower(AuditEntry.actor_label).contains(self.actor.lower(), autoescape=True))
        if self.action:
            prefix = self.action if self.action.endswith(".") else self.action + "."
            stmt = stmt.where(sa.or_(AuditEntry.action == self.action,
                                     AuditEntry.action.startswith(prefix, autoescape=True)))
        if self.since is not None:
            stmt = stmt.where(AuditEntry.at >= self.since)
        if self.until is not None:
            stmt = stmt.where(AuditEntry.at < self.until)
        return stmt


def search_entries(session: Session, *, actor: Principal, filters: AuditFilter | None = None,
                   before_seq: int | None = None, limit: int = 50) -> list[AuditEntry]:
    """Return entries matching `filters`, newest first, older than `before_seq` when given; raise
    Forbidden unless `actor` is an admin (the log names every privileged action and who took it)."""
    actor.require(OrgRole.admin, "reading the audit log")
    stmt = (filters or AuditFilter()).where(sa.select(AuditEntry)).order_by(AuditEntry.seq.desc()).limit(limit)
    if before_seq is not None:
        stmt = stmt.where(AuditEntry.seq < before_seq)
    return list(session.execute(stmt).scalars())


def action_names(session: Session) -> list[str]:
    """Every action the log holds, sorted (for a filter's choices)."""
    return list(session.execute(sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)).scalars())


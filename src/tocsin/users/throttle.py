"""Throttling of guesses: wrong passwords, verification codes, SMS reply codes, forged links.

Each kind of secret counts wrong tries per subject (an account, a source address, an account from
one address, a phone number) in the `throttles` table, so every server process shares the counts.
After `free` tries, each further try waits: 30 s, then twice as long after each wrong one, up to
15 minutes; a key without a counted try for an hour starts from zero again.

A try is counted *before* the secret is checked (`take`), by one atomic upsert that refuses while
the key is blocked, so parallel tries cannot get past the limit and a refused try costs no password
hash; a right answer then clears the key (`clear`) or, for a key many people share (a source
address), only takes its own try back (`give_back`). Tries made while blocked are not counted, so a
real user who waits is not kept waiting longer by the attacker.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tocsin.db.prune import delete_batch
from tocsin.users.models import Throttle

FIRST_WAIT = timedelta(seconds=30)
MAX_WAIT = timedelta(minutes=15)
FORGET = timedelta(hours=1)


@dataclass(frozen=True)
class Policy:
    """`kind` names the counter (and what the key's subject is); `free` tries go unhindered."""

    kind: str
    free: int = 5

    def wait_after(self, failures: int) -> timedelta | None:
        """How long the next try waits after `failures` counted tries (None: no wait)."""
        if failures < self.free:
            return None
        return min(MAX_WAIT, FIRST_WAIT * 2 ** min(failures - self.free, 20))

    @property
    def capped_from(self) -> int:
        """The first count whose wait is MAX_WAIT."""
        return self.free + math.ceil(math.log2(MAX_WAIT / FIRST_WAIT))


# Console login: per account and source address, per address over all accounts (password spraying),
# and per account over all addresses (a ceiling, which spares addresses that never failed on it).
LOGIN_PAIR = Policy("login")
LOGIN_ADDRESS = Policy("login-address", free=20)
LOGIN_ACCOUNT = Policy("login-account", free=50)
PASSWORD = Policy("password")  # the current password, when changing one's own
VERIFY = Policy("verify")  # contact-method verification codes, per person (a code itself allows 5 tries)
SMS_REPLY = Policy("sms-reply")  # SMS reply codes, per sending number
LINK = Policy("link", free=20)  # forged or cut action links, per source address


@dataclass(frozen=True)
class Ticket:
    """A counted try (`retry_after` 0; `failures` counted so far, this one included), or a refusal
    (`retry_after` seconds to wait; `failures` as they stand)."""

    failures: int
    retry_after: int = 0

    @property
    def blocked(self) -> bool:
        return self.retry_after > 0


# An IPv6 client commonly holds a whole /64 (SLAAC, privacy addresses): counted per address, one
# machine could take a fresh address for every try and never be throttled.
IPV6_PREFIX = 64


def address_subject(address: str) -> str:
    """The throttle subject for a source address: an IPv4 address as it is (an IPv4-mapped IPv6 one
    as its IPv4 address), an IPv6 address as its /64, anything else (no address) as given."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((int(ip) >> (128 - IPV6_PREFIX) << (128 - IPV6_PREFIX), IPV6_PREFIX)))
    return str(ip)


def key_for(policy: Policy, subject: str) -> str:
    return hashlib.sha256(f"{policy.kind}\x00{subject}".encode()).hexdigest()


def _wait(blocked_until: datetime | None, now: datetime) -> int:
    if blocked_until is None or blocked_until <= now:
        return 0
    return max(1, math.ceil((blocked_until - now).total_seconds()))


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def take(session: Session, policy: Policy, subject: str, now: datetime) -> Ticket:
    """Count a try on `subject` unless it is blocked; one atomic statement (an upsert that updates
    only an unblocked row), so parallel tries are each counted once and none slips past a block."""
    key = key_for(policy, subject)
    col = Throttle.__table__.c
    failures = sa.case((col.last_failure_at <= now - FORGET, 1), else_=col.failures + 1)
    when: list[tuple[Any, Any]] = [(failures < policy.free, sa.null())]
    for n in range(policy.free, policy.capped_from):
        when.append((failures == n, sa.literal(now + (policy.wait_after(n) or MAX_WAIT), col.blocked_until.type)))
    blocked_until = sa.case(*when, else_=sa.literal(now + MAX_WAIT, col.blocked_until.type))
    stmt = _insert(session)(Throttle).values(key=key, kind=policy.kind, failures=1, last_failure_at=now,
                                             blocked_until=_first(policy, now))
    stmt = stmt.on_conflict_do_update(
        index_elements=[col.key], set_={"failures": failures, "last_failure_at": now, "blocked_until": blocked_until},
        where=sa.or_(col.blocked_until.is_(None), col.blocked_until <= now),
    ).returning(col.failures)
    counted = session.execute(stmt).scalar_one_or_none()
    if counted is not None:
        return Ticket(int(counted))
    row = session.execute(sa.select(col.failures, col.blocked_until).where(col.key == key)).one()
    return Ticket(int(row.failures), _wait(row.blocked_until, now) or 1)


def _first(policy: Policy, now: datetime) -> datetime | None:
    wait = policy.wait_after(1)
    return now + wait if wait is not None else None


def peek(session: Session, policy: Policy, subject: str, now: datetime) -> Ticket:
    """The key's state without counting: failures (0 once forgotten) and the wait, if blocked."""
    row = session.execute(sa.select(Throttle.failures, Throttle.blocked_until, Throttle.last_failure_at)
                          .where(Throttle.key == key_for(policy, subject))).one_or_none()
    if row is None or row.last_failure_at <= now - FORGET:
        return Ticket(0)
    return Ticket(int(row.failures), _wait(row.blocked_until, now))


def clear(session: Session, policy: Policy, subject: str) -> None:
    """A right answer: forget the subject's wrong tries."""
    session.execute(sa.delete(Throttle).where(Throttle.key == key_for(policy, subject)))


def give_back(session: Session, policy: Policy, subject: str) -> None:
    """A right answer on a shared key (a source address): take back this try's count only, so
    a right password never wipes an attacker's count, and lift the block if it falls below `free`."""
    col = Throttle.__table__.c
    left = col.failures - 1
    session.execute(sa.update(Throttle).where(col.key == key_for(policy, subject), col.failures > 0)
                    .values(failures=left, blocked_until=sa.case((left < policy.free, sa.null()),
                                                                 else_=col.blocked_until)))


def forget_expired(session: Session, now: datetime, limit: int) -> int:
    """Retention: delete up to `limit` counters that no longer count (no try for FORGET, so `take`
    would start them from zero) and block nothing; return how many went."""
    return delete_batch(session, Throttle, Throttle.last_failure_at <= now - FORGET,
                        sa.or_(Throttle.blocked_until.is_(None), Throttle.blocked_until <= now),
                        oldest_first=Throttle.last_failure_at, limit=limit)

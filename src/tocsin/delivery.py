"""One delivery machinery for every outbox: claim with a lease, send outside any transaction,
record only if the claim is still ours, retry with backoff, give up after a bounded number of
attempts with the reason recorded on the row's owner.

An outbox (pages in `escalation/deliver.py`, status page subscribers in `statuspage/deliver.py`,
tracker sync in `actions/jobs.py`) is an `Outbox` subclass: its own claim query (`due`), how its
rows become typed sends (`shape`: cancel, throttle, bundle, compose), its send function
(`sender`), and how a result is written on its rows (`sent`, `retry`, `failed`). The cycle is
here, once, so every outbox behaves the same way:

1. **Claim**, in one short transaction: the due rows (SKIP LOCKED on PostgreSQL, so another
   engine takes other rows). A row already tried `max_attempts` times (its last claim ran out
   without a result: the sender died mid-send) fails here, so a crash loop cannot send forever.
   The rest are shaped into sends; the row carrying each send is leased (`lease_row`: claimed
   until now + `lease`, attempt counted).
2. **Send** outside any transaction, on the engine's shared pool of sending threads. A send that
   raises (a bug in composing one message, a provider that breaks its contract) becomes a
   retryable result for that send alone: every other send of the batch is still recorded.
3. **Record**, in one transaction: a result is written only if the row is still claimed with the
   same attempt count (a claim that expired was taken over, and its new owner records). Delivered:
   `sent`. Retryable, with attempts left: `retry` after `jobs.backoff`. Otherwise `failed` with
   the reason, which also tells the row's owner (a page falls through to the next contact
   method). If writing one result raises, the batch is recorded again one result at a time, each
   in its own savepoint, so one bad row cannot make the others be sent twice.

A process that dies between claim and record leaves rows claimed; when the lease runs out the
next claim (here or in another engine) sends them again, with the same idempotency key: at least
once, never silently dropped.
"""

from __future__ import annotations

import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy.orm import Session

from tocsin.jobs import JobContext, backoff, send_pool
from tocsin.notify.types import Outcome, Result

log = logging.getLogger("tocsin.delivery")

MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=120)  # longer than one send may take (provider timeouts are 10 s)


R = TypeVar("R")  # the outbox's row
P = TypeVar("P")  # what one send carries: a typed item per outbox


@dataclass(frozen=True, slots=True)
class Claim(Generic[P]):
    """One claimed send: the row carrying it, the attempt the claim counted (the record is this
    claim's only while the row still shows it), and the typed send."""

    id: uuid.UUID
    attempts: int
    send: P


@dataclass(frozen=True, slots=True)
class Done:
    """What one run did: rows taken by the claim (sent, cancelled, throttled, failed there), and
    rows that left the queue when their result was recorded (sent or failed)."""

    claimed: int
    settled: int


class Outbox(ABC, Generic[R, P]):
    """One outbox's part of the cycle. The machinery calls these in order; none commits."""

    name: ClassVar[str]
    lease: ClassVar[timedelta] = LEASE
    max_attempts: ClassVar[int] = MAX_ATTEMPTS

    # -- claim (inside the claim transaction)
    @abstractmethod
    def due(self, s: Session, now: datetime) -> list[R]:
        """The due rows (waiting, or claimed with a lease that ran out), oldest first, bounded,
        locked so that another engine skips them."""

    @abstractmethod
    def row_id(self, row: R) -> uuid.UUID:
        """The row's id (what a claim names)."""

    @abstractmethod
    def attempts(self, row: R) -> int:
        """How many times the row was claimed to be sent."""

    @abstractmethod
    def claimed(self, row: R) -> bool:
        """Whether the row is out on a claim (not waiting, not settled)."""

    @abstractmethod
    def shape(self, s: Session, rows: list[R], now: datetime) -> list[tuple[R, P]]:
        """What to send for `rows`: (the row the send is claimed on, the send). A row left out was
        settled here (cancelled, throttled, carried by another row's send)."""

    @abstractmethod
    def lease_row(self, row: R, until: datetime) -> None:
        """Mark the row claimed until `until` and count the attempt."""

    # -- send (outside any transaction)
    @abstractmethod
    def sender(self, ec: JobContext) -> Callable[[P], Result]:
        """The send function for this run (called on the send pool's threads)."""

    # -- record (inside the record transaction)
    @abstractmethod
    def lock(self, s: Session, claims: Sequence[Claim[P]]) -> dict[uuid.UUID, R]:
        """The claimed rows by id, and whatever rides along with them, locked in id order."""

    @abstractmethod
    def sent(self, s: Session, row: R, claim: Claim[P], result: Result, now: datetime) -> None:
        """The send was delivered."""

    @abstractmethod
    def retry(self, s: Session, row: R, claim: Claim[P], detail: str, at: datetime) -> None:
        """The send failed and may succeed later: wait until `at`, keeping `detail`."""

    @abstractmethod
    def failed(self, s: Session, row: R, why: str, now: datetime) -> None:
        """The row will not be sent: record `why` on it and tell its owner."""

    # -- the engine's sleep
    @abstractmethod
    def next_due(self, s: Session) -> datetime | None:
        """When the earliest waiting row is due, if any."""


def run(ec: JobContext, outbox: Outbox[R, P]) -> Done:
    """One claim -> send -> record cycle of `outbox`."""
    claims, taken = _claim(ec, outbox)
    if not claims:
        return Done(taken, 0)
    send = outbox.sender(ec)

    def one(claim: Claim[P]) -> tuple[Claim[P], Result]:
        try:
            return claim, send(claim.send)
        except Exception as exc:  # this send alone is retried; the batch is still recorded
            log.exception("%s: sending %s failed", outbox.name, claim.id)
            # the class only: an HTTP client's message can carry the destination URL (a webhook's secret)
            return claim, Result(Outcome.retryable, f"could not send: {type(exc).__name__}")

    # Sends wait on the network, so several go at once; results are recorded together.
    results = list(send_pool(ec).map(one, claims)) if len(claims) > 1 else [one(claims[0])]
    return Done(taken, record(ec, outbox, results))


def _claim(ec: JobContext, outbox: Outbox[R, P]) -> tuple[list[Claim[P]], int]:
    now = ec.now
    with ec.db.unit_of_work() as s:
        rows = outbox.due(s, now)
        live: list[R] = []
        for row in rows:
            n = outbox.attempts(row)
            if n >= outbox.max_attempts:  # its last claim ran out without a result
                outbox.failed(s, row, f"gave up after {n} attempts: the last one was never recorded "
                                      f"(the engine stopped while sending)", now)
            else:
                live.append(row)
        claims: list[Claim[P]] = []
        for row, item in outbox.shape(s, live, now) if live else []:
            outbox.lease_row(row, now + outbox.lease)
            claims.append(Claim(outbox.row_id(row), outbox.attempts(row), item))
        return claims, len(rows)


def record(ec: JobContext, outbox: Outbox[R, P], results: Sequence[tuple[Claim[P], Result]]) -> int:
    """Write each result whose claim is still ours; return how many rows left the queue."""
    now = ec.clock.now()
    try:
        with ec.db.unit_of_work() as s:
            return _record(s, outbox, results, now, isolate=False)
    except Exception:
        log.exception("%s: recording %d results failed; recording them one by one", outbox.name, len(results))
    with ec.db.unit_of_work() as s:
        return _record(s, outbox, results, now, isolate=True)


def _record(s: Session, outbox: Outbox[R, P], results: Sequence[tuple[Claim[P], Result]], now: datetime,
            *, isolate: bool) -> int:
    found = outbox.lock(s, [claim for claim, _ in results])
    settled = 0
    for claim, result in results:
        row = found.get(claim.id)
        if row is None or not outbox.claimed(row) or outbox.attempts(row) != claim.attempts:
            continue  # the claim expired and another tick took it over
        if not isolate:
            settled += _one(s, outbox, row, claim, result, now)
            continue
        try:
            with s.begin_nested():
                settled += _one(s, outbox, row, claim, result, now)
        except Exception:  # left claimed: retried when its lease runs out, failed at the attempt limit
            log.exception("%s: recording %s failed", outbox.name, claim.id)
    return settled


def _one(s: Session, outbox: Outbox[R, P], row: R, claim: Claim[P], result: Result, now: datetime) -> int:
    if result.outcome is Outcome.delivered:
        outbox.sent(s, row, claim, result, now)
        return 1
    if result.outcome is Outcome.retryable and claim.attempts < outbox.max_attempts:
        outbox.retry(s, row, claim, result.detail, now + backoff(claim.attempts))
        return 0
    why = result.detail if result.outcome is Outcome.permanent else \
        f"gave up after {claim.attempts} attempts: {result.detail}"
    outbox.failed(s, row, why, now)
    return 1


def next_due(s: Session, outboxes: Sequence[Outbox[Any, Any]]) -> datetime | None:
    """The earliest time a row of any of `outboxes` is due."""
    found = [t for t in (o.next_due(s) for o in outboxes) if t is not None]
    return min(found) if found else None

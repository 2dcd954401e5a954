"""Group commit for ingestion: one writer thread journals many requests in one transaction,
then applies the journal right behind its answers.

Request handlers hand the raw body to `reply()` and wait. The writer takes everything that
queued up while it was busy, decodes, authenticates and validates it, appends one journal row
per request (`pipeline/journal.py`) and commits once, then answers every request of the batch:
a 2xx means the events are durably journaled (PagerDuty's `202 Event processed`), not yet
applied. Between batches of requests the same thread applies the journal in batches of up to
`APPLY_EVENTS_PER_TURN` events (one transaction each, which also deletes the rows it applied), so a
request waits for at most one apply batch and SQLite's single writer is never contended by
this process. Heartbeat pings and change events are applied in the accept transaction itself.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin import wake
from tocsin.clock import Clock
from tocsin.db import Database
from tocsin.heartbeats.models import Heartbeat, alert_key
from tocsin.ids import new_id
from tocsin.inbound.types import Action, Event, Rejected, Source
from tocsin.ingest import formats, opsgenie, sns
from tocsin.ingest.types import Job, Reply
from tocsin.integrations.models import ChangeEvent, Integration
from tocsin.keys import key_hash
from tocsin.pipeline.ingest import Incoming, ingest
from tocsin.pipeline.journal import append, apply_journal

log = logging.getLogger("tocsin.ingest")

MAX_BATCH_EVENTS = 2000
# Events the writer applies between two batches of requests: a request that arrives meanwhile
# waits for at most this many (the engine applies a backlog in larger batches).
APPLY_EVENTS_PER_TURN = 500
# Backpressure: when this writer has journaled more events than it has seen applied by this much, it
# applies before it takes more requests, so senders wait instead of the journal (and every page behind
# it) growing without bound during a flood. About a second or two of applying on a small machine.
MAX_OWED_EVENTS = 5000
LAST_EVENT_RESOLUTION = timedelta(seconds=30)


class IngestWriter:
    def __init__(self, db: Database, clock: Clock, *, server_secret: str, apply: bool = True,
                 confirm: sns.Confirm | None = None) -> None:
        self.db = db
        self.confirm = confirm  # visits SNS SubscribeURLs once stored; None: never visited
        self.apply = apply  # off: only journal; an engine applies
        self.clock = clock
        self.server_secret = server_secret
        self._notify = wake.notify_sql(db.dialect)
        # One thread: SQLite has one writer at a time anyway, and on PostgreSQL a second writer
        # measured no faster (batches of one service contend for its open group's row).
        self.writers = 1
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._backlog = False  # this writer journaled rows it has not seen applied yet
        self._applied = threading.Condition()
        self._owed = 0  # events journaled by this writer minus events it applied (any writer's)
        self._journaled = 0  # journal commits by this writer ...
        self._applied_through = 0  # ... and how many of them are known to be applied

    async def reply(self, job: Job) -> Reply:
        """Queue `job` and wait for its reply without blocking the event loop.

        An asyncio future resolved with `call_soon_threadsafe`: lighter than a threading Future
        (which builds a Condition per request) wrapped for asyncio."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Reply] = loop.create_future()

        def done(reply: Reply) -> None:
            loop.call_soon_threadsafe(_settle, waiter, reply)

        job.done = done
        self.enqueue(job)
        return await waiter

    def enqueue(self, job: Job) -> None:
        if not self._threads:
            with self._lock:
                if not self._threads:
                    self._threads = [threading.Thread(target=self._loop, name=f"tocsin-ingest-{n}", daemon=True)
                                     for n in range(self.writers)]
                    for thread in self._threads:
                        thread.start()
        self._queue.put(job)

    def close(self) -> None:
        threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            try:
                # Block only when nothing is left to apply; otherwise take what queued up and go on.
                first = self._queue.get(block=not self._backlog)
            except queue.Empty:
                first = _NOTHING
            if first is None:
                while self._backlog:  # an orderly stop applies what it answered for
                    self.apply_some()
                return
            if first is not _NOTHING:
                batch, size = [first], 1
                while size < MAX_BATCH_EVENTS:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        self._queue.put(None)
                        break
                    batch.append(nxt)
                    size += 1
                self.process(batch)
            if self._backlog:
                self.apply_some()
            while self._backlog and self._owed > MAX_OWED_EVENTS:  # a flood: apply before accepting more
                if not self.apply_some():
                    break

    def process(self, batch: list[Job]) -> None:
        """Journal one batch in one transaction and answer every job in it."""
        journaled = 0
        try:
            now = self.clock.now()
            for job in batch:
                _decode(job)
            with self.db.unit_of_work() as session:
                self._authenticate(session, batch)
                for job in batch:
                    if job.reply is None and job.route == "opsgenie":
                        opsgenie.resolve(session, job, now)
                for job in batch:
                    if job.reply is None:
                        _bind(job, self.server_secret, now)
                ok = [job for job in batch if job.reply is None]
                # Heartbeat pings stay on the direct path: rare, and a resolve must not pass its ping.
                ingest(session, [i for job in ok if job.heartbeat is not None for i in job.items], now=now)
                journaled = append(session, [job.items for job in ok if job.heartbeat is None], now=now)
                self._side_effects(session, batch, now)
                if self._notify is not None and journaled and not self.apply:  # engines elsewhere apply it
                    session.execute(sa.text(self._notify))
                for job in ok:
                    job.reply = formats.accepted(job)
        except Exception:
            if len(batch) > 1:
                # Retry one by one, so that one bad request cannot fail the others it was batched with.
                log.exception("ingest batch of %d requests failed; retrying them one by one", len(batch))
                for job in batch:
                    job.reset()
                    self.process([job])
                return
            log.exception("ingest request failed; answering 503 so the sender retries")
            batch[0].reply = formats.unavailable(batch[0])
        if journaled:
            self._owed += sum(len(job.items) for job in batch if job.reply is not None and job.reply.status < 300
                              and job.heartbeat is None)
            with self._applied:
                self._journaled += 1
            self._backlog = self.apply
            if not self.apply:
                wake.ring()  # the engine in this process (if any) applies it
        for job in batch:
            if job.confirm_url is not None and job.reply is not None and job.reply.status < 300 \
                    and self.confirm is not None:
                self.confirm(job.confirm_url)
            if job.done is not None and job.reply is not None:
                job.done(job.reply)

    def apply_some(self) -> int:
        """Apply one batch of the journal (whoever journaled it); return how many events."""
        with self._applied:
            through = self._journaled  # every row committed by now is in the journal we read next
        try:
            with self.db.unit_of_work() as session:
                applied, more = apply_journal(session, now=self.clock.now(), max_events=APPLY_EVENTS_PER_TURN)
                if self._notify is not None and applied:
                    session.execute(sa.text(self._notify))
        except Exception:
            # Left in the journal: the engine's pending-events job applies it (and logs again).
            log.exception("applying the ingest journal failed; the engine will retry")
            applied, more = 0, False
        if applied:
            self._owed = max(0, self._owed - applied)
            wake.ring()  # the batch may have written pages: the engine in this process takes them now
        if not more:
            self._owed = 0
            self._backlog = False
            with self._applied:
                self._applied_through = max(self._applied_through, through)
                self._applied.notify_all()
        return applied

    def wait_applied(self, timeout: float = 30.0) -> bool:
        """Wait until every request this writer has answered so far is applied (or left to the
        engine after a failure); return False on timeout. For tests and an orderly shutdown."""
        with self._applied:
            target = self._journaled
            return self._applied.wait_for(lambda: self._applied_through >= target, timeout=timeout)

    def _authenticate(self, session: Session, batch: list[Job]) -> None:
        pending = [j for j in batch if j.reply is None]
        hashed = {id(j): key_hash(j.key or "") for j in pending}  # SHA-256 once per request
        hashes = {hashed[id(j)] for j in pending if j.key and j.route != "heartbeat"}
        found: dict[str, Integration] = {}
        if hashes:
            found = {i.key_hash: i for i in session.execute(
                sa.select(Integration).where(Integration.key_hash.in_(hashes))).scalars()}
        beats: dict[str, Heartbeat] = {}
        hb = {hashed[id(j)] for j in pending if j.key and j.route == "heartbeat"}
        if hb:
            beats = {h.key_hash: h for h in session.execute(
                # locked: the engine must not mark one down between this read and our commit
                sa.select(Heartbeat).where(Heartbeat.key_hash.in_(hb)).with_for_update()).scalars()}
        for job in pending:
            if job.route == "heartbeat":
                job.heartbeat = beats.get(hashed[id(job)])
                known = job.heartbeat is not None
            else:
                integ = found.get(hashed[id(job)])
                wanted = "events_v2" if job.route == "change" else job.route
                job.integration = integ if integ is not None and integ.type == wanted else None
                known = job.integration is not None
            if not known:
                job.reply = formats.unknown_key(job)

    def _side_effects(self, session: Session, batch: list[Job], now: datetime) -> None:
        """Change events, heartbeat pings and integration last-seen times, in the same transaction."""
        seen: set[uuid.UUID] = set()
        for job in batch:
            if job.reply is not None:
                continue
            if job.heartbeat is not None:
                hb = job.heartbeat
                hb.last_ping_at = now
                hb.state = "up"
                hb.due_at = now + timedelta(seconds=hb.interval_seconds + hb.grace_seconds)
                continue
            integ = job.bound()
            if job.change is not None:
                ch = job.change
                job.created_id = new_id()
                session.add(ChangeEvent(id=job.created_id, service_id=integ.service_id, integration_id=integ.id,
                                        summary=ch.summary, source=ch.source, occurred_at=ch.occurred_at or now,
                                        received_at=now, details=ch.details, links=ch.links))
            seen.add(integ.id)
        if seen:
            # At most every LAST_EVENT_RESOLUTION: updating the row on every batch would make every
            # batch of an integration wait for the previous one's commit (the row lock, on PostgreSQL).
            stale = now - LAST_EVENT_RESOLUTION
            session.execute(sa.update(Integration).where(
                Integration.id.in_(seen),
                sa.or_(Integration.last_event_at.is_(None), Integration.last_event_at < stale)).values(last_event_at=now))
        session.flush()


def _decode(job: Job) -> None:
    """Decode JSON and find the key (the URL's, or `routing_key` in a PagerDuty body)."""
    try:
        formats.decode(job)
    except Rejected as exc:
        job.reply = formats.rejected(job, exc)


def _bind(job: Job, server_secret: str, now: datetime) -> None:
    """Parse with the integration's settings into pipeline items, or set a rejection reply."""
    try:
        events = formats.events_for(job, server_secret, now)
        if job.route in ("generic", "opsgenie"):  # a template, or an Opsgenie path, can still carry NUL
            events = [formats.storable(e) for e in events]
    except Rejected as exc:
        job.reply = formats.rejected(job, exc)
        return
    if job.heartbeat is not None:
        hb = job.heartbeat
        if hb.state == "down":
            events = [Event(action=Action.resolve, dedup_key=alert_key(hb.id))]
        job.items = [Incoming(e, hb.service_id, None, Source.heartbeat.value) for e in events]
        return
    integ = job.bound()
    job.items = [Incoming(e, integ.service_id, integ.id, integ.type) for e in events]


_NOTHING = Job("heartbeat", b"")  # "no request": the writer's queue was empty


def _settle(waiter: asyncio.Future[Reply], reply: Reply) -> None:
    if not waiter.done():  # the client may have gone away and the request been cancelled
        waiter.set_result(reply)



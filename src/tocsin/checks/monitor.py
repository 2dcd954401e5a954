"""The engine job for synthetic checks: run the due ones and move their state.

It never holds a transaction across the network: it claims each due check with a lease (a
conditional UPDATE committed on its own), probes outside any transaction, then records the
result in a new unit of work, and only if it still holds the lease (a fence: an engine whose
lease expired mid-probe and was taken over must not record a second verdict).
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.checks.locations import SERVER, apply_result, is_multi, note_location, store_result
from tocsin.checks.models import Check, CheckResult
from tocsin.checks.probe import CheckSpec, ProbeResult, run_probe
from tocsin.checks.service import check_alert_key, spec_of
from tocsin.checks.soft import is_soft_failure
from tocsin.db.session import rowcount
from tocsin.inbound.types import Action, AlertSeverity, Event, Source, clip_summary
from tocsin.jobs import JobContext
from tocsin.net.guard import EgressPolicy
from tocsin.net.http import make_client
from tocsin.net.policy import check_policy
from tocsin.pipeline.ingest import Incoming, ingest

log = logging.getLogger("tocsin.checks.monitor")

CHECK_BATCH = 50
PROBE_THREADS = 16
LEASE_MARGIN = timedelta(seconds=30)  # beyond the probe's timeout, for recording and a slow tick


def _owner(ec: JobContext) -> str:
    # The column holds 64 characters; keep the end, where the per-process random part is.
    return ec.owner[-64:]


def _claim(ec: JobContext) -> list[uuid.UUID]:
    """Lease up to CHECK_BATCH due checks for this process; return the ids it won."""
    with ec.db.unit_of_work() as s:
        due = s.execute(
            sa.select(Check.id, Check.timeout_seconds).where(
                Check.enabled.is_(True), Check.runs_on_server.is_(True), Check.next_run_at <= ec.now,
                sa.or_(Check.lease_until.is_(None), Check.lease_until < ec.now))
            .order_by(Check.next_run_at, Check.id).limit(CHECK_BATCH)
        ).all()
    won: list[uuid.UUID] = []
    owner = _owner(ec)
    for check_id, timeout in due:
        # Each claim is its own short transaction: the UPDATE's WHERE is re-evaluated under the
        # row lock (PostgreSQL) or the write lock (SQLite), so of two engines racing for the
        # same check exactly one sees a row count of 1.
        with ec.db.unit_of_work() as s:
            claimed = rowcount(s, sa.update(Check).where(
                Check.id == check_id, Check.enabled.is_(True), Check.next_run_at <= ec.now,
                sa.or_(Check.lease_until.is_(None), Check.lease_until < ec.now))
                .values(lease_owner=owner, lease_until=ec.now + timedelta(seconds=timeout) + LEASE_MARGIN)
                .execution_options(synchronize_session=False))
        if claimed == 1:
            won.append(check_id)
    return won


def _policy(ec: JobContext) -> EgressPolicy:
    return check_policy(ec.settings)


def checks(ec: JobContext) -> int:
    """Run the due checks this process wins the lease for; return how many results were recorded."""
    policy = _policy(ec)  # first: a bad allow-list must fail the tick before any lease is taken
    won = _claim(ec)
    if not won:
        return 0
    specs: dict[uuid.UUID, CheckSpec] = {}
    broken: dict[uuid.UUID, ProbeResult] = {}
    with ec.db.unit_of_work() as s:
        for c in s.execute(sa.select(Check).where(Check.id.in_(won))).scalars():
            try:
                specs[c.id] = spec_of(c)
            except ValueError as exc:  # stored without the service's validation: fail it, visibly
                broken[c.id] = ProbeResult(ok=False, error=f"invalid check configuration: {exc}")
    done = sum(_record(ec, check_id, result) for check_id, result in broken.items())
    if not specs:  # all deleted since the claim, or broken
        return done
    # One guarded client per tick, shared by the probe threads (httpx.Client is thread-safe);
    # probes run in parallel so a batch takes about as long as its slowest check.
    with make_client(policy, timeout=max(s.timeout_seconds for s in specs.values())) as client, \
            ThreadPoolExecutor(max_workers=min(PROBE_THREADS, len(specs)), thread_name_prefix="tocsin-probe") as pool:
        futures = {pool.submit(run_probe, spec, client=client, policy=policy, clock=ec.clock): check_id
                   for check_id, spec in specs.items()}
        for future in as_completed(futures):
            check_id = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # a bug in the probe: record it as a failure rather than lose the run
                log.exception("probe of check %s raised", check_id)
                result = ProbeResult(ok=False, error=f"internal error: {type(exc).__name__}")
            try:
                done += _record(ec, check_id, result)
            except Exception:
                log.exception("recording the result of check %s failed", check_id)
    return done


def _record(ec: JobContext, check_id: uuid.UUID, result: ProbeResult) -> int:
    """Store one probe result and move the check's state; return 1, or 0 if the lease was lost."""
    at = ec.clock.now()
    with ec.db.unit_of_work() as s:
        check = s.execute(sa.select(Check).where(Check.id == check_id, Check.lease_owner == _owner(ec))
                          .with_for_update()).scalar_one_or_none()
        if check is None:  # deleted meanwhile, or our lease expired and another engine took it
            log.warning("check %s was deleted, or its lease expired and was taken over; result dropped", check_id)
            return 0
        store_result(s, check, SERVER, result, at)
        check.last_result_at = at
        check.lease_owner = check.lease_until = None
        nxt = ec.now + timedelta(seconds=check.interval_seconds)
        check.next_run_at = nxt if nxt > at else at + timedelta(seconds=check.interval_seconds)
        if not check.enabled:  # disabled while the probe ran: keep the result, decide nothing
            s.flush()
            return 1
        if result.ok:
            check.consecutive_successes += 1
            check.consecutive_failures = 0
        else:
            check.consecutive_failures += 1
            check.consecutive_successes = 0
        if is_multi(check):  # the quorum of its locations decides
            event = apply_result(s, check, SERVER, result, at=at, now=at, store=False)
        else:
            note_location(s, check, SERVER, result, at)
            event = _transition(s, check, result)
        s.flush()
        if event is not None:
            ingest(s, [Incoming(event, check.service_id, None, Source.check.value)], now=at)
        return 1


def _transition(s: Session, check: Check, result: ProbeResult) -> Event | None:
    """Move `check.state` after a result; return the alert event to send, if any.

    unknown/up --(failures_to_alert consecutive failures)--> down: trigger
    down --(successes_to_resolve consecutive successes)--> up: resolve
    unknown --(a success)--> up (nothing was alerted, nothing to resolve)
    """
    key = check_alert_key(check.id)
    if not result.ok:
        if check.consecutive_failures >= check.failures_to_alert and check.state != "down":
            check.state = "down"
            streak = s.execute(sa.select(CheckResult.error).where(CheckResult.check_id == check.id)
                               .order_by(CheckResult.at.desc(), CheckResult.id.desc())
                               .limit(check.failures_to_alert)).scalars().all()
            soft = all(is_soft_failure(e) for e in streak)
            n = check.consecutive_failures
            return Event(
                action=Action.trigger, dedup_key=key,
                summary=clip_summary(f"Check '{check.name}' failing: {result.error or 'failed'} "
                                 f"({n} consecutive failure{'s' if n != 1 else ''}, {check.kind} {check.target})"),
                severity=AlertSeverity.warning if soft else AlertSeverity.critical,
                source="tocsin check", labels={"check": check.name},
                details={"check_id": str(check.id), "kind": check.kind, "target": check.target,
                         "error": result.error, "status_code": result.status_code, "latency_ms": result.latency_ms,
                         "consecutive_failures": n},
            )
        return None
    if check.state == "down":
        if check.consecutive_successes >= check.successes_to_resolve:
            check.state = "up"
            return Event(action=Action.resolve, dedup_key=key, summary=f"Check '{check.name}' passing again",
                         source="tocsin check", labels={"check": check.name})
        return None
    check.state = "up"
    return None

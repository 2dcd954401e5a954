"""A check's locations: each one's streaks and verdict, and the check's verdict by quorum.

Every result, from the server's engine or an agent, goes through `apply_result` with the check row
locked: it stores the result with its location, moves that location's streaks and state (the
check's `failures_to_alert` / `successes_to_resolve`), then asks `quorum.decide` for the check's
state and returns the alert event to send when it changed. A check run from the server alone keeps
its original behaviour (monitor.py's `_transition`); this path serves checks with other locations.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.checks.models import Check, CheckLocation, CheckResult
from tocsin.checks.probe import ProbeResult
from tocsin.checks.quorum import OFFLINE_AFTER_INTERVALS, Verdict, decide, effective_quorum
from tocsin.checks.service import Uptime, check_alert_key, uptime
from tocsin.checks.soft import is_soft_failure
from tocsin.inbound.types import Action, AlertSeverity, Event, clip_summary

SERVER = "server"


def is_multi(check: Check) -> bool:
    """True when the check runs from anywhere but the server alone (the quorum path)."""
    return list(check.locations or [SERVER]) != [SERVER]


def _row(s: Session, check: Check, location: str) -> CheckLocation:
    row = s.get(CheckLocation, (check.id, location))
    if row is None:
        row = CheckLocation(check_id=check.id, location=location, state="unknown", consecutive_failures=0,
                            consecutive_successes=0)
        s.add(row)
    return row


def location_state(check: Check, row: CheckLocation | None, now: datetime) -> str:
    """unknown | up | down, or offline when the location has not reported for OFFLINE_AFTER_INTERVALS
    intervals (counted from the check's creation when it never reported)."""
    since = (row.last_result_at if row is not None else None) or check.created_at
    # one extra interval of grace for a probe's timeout and the agent's report delay
    if now - since > timedelta(seconds=check.interval_seconds * (OFFLINE_AFTER_INTERVALS + 1)):
        return "offline"
    return row.state if row is not None else "unknown"


def verdict(s: Session, check: Check, now: datetime) -> Verdict:
    rows = {r.location: r for r in s.execute(sa.select(CheckLocation).where(CheckLocation.check_id == check.id))
            .scalars()}
    states = {loc: location_state(check, rows.get(loc), now) for loc in check.locations}
    silent_down = [loc for loc, state in states.items() if state == "offline" and loc in rows
                   and rows[loc].state == "down"]
    return decide(states, quorum=effective_quorum(check.quorum, len(check.locations)), current=check.state,
                  silent_down=silent_down)


def store_result(s: Session, check: Check, location: str, result: ProbeResult, at: datetime) -> None:
    s.add(CheckResult(check_id=check.id, at=at, ok=result.ok, latency_ms=result.latency_ms,
                      status_code=result.status_code, error=result.error, tls_expires_at=result.tls_expires_at,
                      location=location))


def apply_result(s: Session, check: Check, location: str, result: ProbeResult, *, at: datetime,
                 now: datetime, store: bool = True) -> Event | None:
    """Record one location's result (the check row locked) and return the event to send, if any.

    A result older than the location's latest is kept for uptime but moves nothing (an agent's
    retried batch may arrive after a newer one)."""
    if store:
        store_result(s, check, location, result, at)
    # a paused check (an agent's buffered results arriving after the pause) keeps the result and
    # moves nothing: pausing forgot the locations' streaks, a late result must not bring them back
    if not check.enabled or location not in check.locations:
        return None
    if not note_location(s, check, location, result, at):
        return None
    return _transition(s, check, verdict(s, check, now))


def note_location(s: Session, check: Check, location: str, result: ProbeResult, at: datetime) -> bool:
    """Move the location's streaks and state by `result`; False (nothing moved) for a result older
    than the location's latest."""
    row = _row(s, check, location)
    if row.last_result_at is not None and at < row.last_result_at:
        return False
    row.last_result_at, row.last_ok, row.last_error = at, result.ok, result.error
    row.last_latency_ms, row.last_status_code = result.latency_ms, result.status_code
    if check.last_result_at is None or at > check.last_result_at:
        check.last_result_at = at
    if result.ok:
        row.consecutive_successes += 1
        row.consecutive_failures = 0
        if row.state == "down" and row.consecutive_successes >= check.successes_to_resolve or row.state == "unknown":
            row.state = "up"
    else:
        row.consecutive_failures += 1
        row.consecutive_successes = 0
        if row.consecutive_failures >= check.failures_to_alert:
            row.state = "down"
    s.flush()
    return True


def _transition(s: Session, check: Check, v: Verdict) -> Event | None:
    key = check_alert_key(check.id)
    before, check.state = check.state, v.state
    if v.state == "down" and before != "down":
        rows = {r.location: r for r in s.execute(sa.select(CheckLocation).where(
            CheckLocation.check_id == check.id, CheckLocation.location.in_(v.failing))).scalars()}
        why = "; ".join(f"{loc}: {rows[loc].last_error or 'failed'}" for loc in v.failing if loc in rows)
        soft = all(is_soft_failure(rows[loc].last_error) for loc in v.failing if loc in rows)
        n, total = len(v.failing), len(check.locations)
        return Event(
            action=Action.trigger, dedup_key=key,
            summary=clip_summary(f"Check '{check.name}' failing from {n} of {total} locations ({why}; "
                                 f"{check.kind} {check.target})"),
            severity=AlertSeverity.warning if soft else AlertSeverity.critical,
            source="tocsin check", labels={"check": check.name},
            details={"check_id": str(check.id), "kind": check.kind, "target": check.target,
                     "failing_locations": list(v.failing), "locations": list(check.locations),
                     "quorum": v.quorum,
                     "errors": {loc: rows[loc].last_error for loc in v.failing if loc in rows}},
        )
    if v.state == "up" and before == "down":
        return Event(action=Action.resolve, dedup_key=key,
                     summary=f"Check '{check.name}' passing again (failing from {len(v.failing)} of "
                             f"{len(check.locations)} locations, quorum {v.quorum})",
                     source="tocsin check", labels={"check": check.name})
    return None


def is_duplicate(s: Session, check_id: uuid.UUID, location: str, at: datetime) -> bool:
    """True when this location's result taken at `at` is already stored (a retried report)."""
    return s.execute(sa.select(CheckResult.id).where(
        CheckResult.check_id == check_id, CheckResult.location == location, CheckResult.at == at).limit(1)
    ).first() is not None


# Results of one location closer together than this (or half the check's interval, when shorter)
# are refused: an agent runs a check once per interval, so more is a fault or a flood (a stolen key
# posting thousands of results with distinct run times would fill the database, flap the alert
# with every result, and outvote the other locations in the check's uptime).
MAX_MIN_GAP = timedelta(seconds=30)


def min_gap(check: Check) -> timedelta:
    return min(MAX_MIN_GAP, timedelta(seconds=check.interval_seconds / 2))


def too_close(s: Session, check: Check, location: str, at: datetime) -> bool:
    """True when this location has a stored result less than `min_gap(check)` from `at`."""
    gap = min_gap(check)
    return s.execute(sa.select(CheckResult.id).where(
        CheckResult.check_id == check.id, CheckResult.location == location,
        CheckResult.at > at - gap, CheckResult.at < at + gap).limit(1)).first() is not None


@dataclass(frozen=True)
class LocationView:
    location: str
    state: str  # unknown | up | down | offline
    last_result_at: datetime | None
    last_ok: bool | None
    last_error: str | None
    last_latency_ms: float | None
    last_status_code: int | None
    uptime: Uptime


def views(s: Session, check: Check, *, window: timedelta, now: datetime) -> list[LocationView]:
    """Each of the check's locations (and any it had results from before): state, last result, uptime."""
    rows = {r.location: r for r in s.execute(sa.select(CheckLocation).where(CheckLocation.check_id == check.id))
            .scalars()}
    names = list(check.locations or [SERVER])
    out = []
    for loc in names:
        row = rows.get(loc)
        out.append(LocationView(
            location=loc, state=location_state(check, row, now) if check.enabled else "paused",
            last_result_at=row.last_result_at if row else None, last_ok=row.last_ok if row else None,
            last_error=row.last_error if row else None, last_latency_ms=row.last_latency_ms if row else None,
            last_status_code=row.last_status_code if row else None,
            uptime=uptime(s, check, window=window, now=now, location=loc)))
    return out

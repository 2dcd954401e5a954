"""Synthetic checks: create, list, get, change, delete; their results and uptime.

Validation lives here, not only in the API schemas, so that every caller (API, CLI, demo)
gets the same rules. The engine (`checks/monitor.py`, run by the engine) runs due checks and records results.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.checks import schemas as limits
from tocsin.checks.models import Check, CheckAgent, CheckLocation, CheckResult
from tocsin.checks.probe import (
    CheckKind,
    CheckSpec,
    format_status_ranges,
    parse_status_ranges,
    parse_tcp_target,
)
from tocsin.db.lookup import page_by_id, require_row
from tocsin.db.prune import delete_batch
from tocsin.errors import InvalidInput
from tocsin.inbound.types import Action, Event, Source
from tocsin.net.guard import Blocked, EgressPolicy, is_ip_literal
from tocsin.pipeline.ingest import Incoming, ingest
from tocsin.principal import OrgRole, Principal
from tocsin.services.service import require_service

KINDS = ("http", "tcp")
METHODS = ("GET", "HEAD", "POST")
# RFC 9110 token characters: what a header name may be made of.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$")
_HEADER_VALUE_MAX = 4096
# Host names as DNS has them (after IDNA, which httpx applies): dot-separated labels of
# letters, digits, hyphens (and underscores, which some internal names use).
_HOST_NAME = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?$")

# Fields that make up a check's configuration (what create takes and patch may change).
CONFIG_FIELDS = ("name", "kind", "target", "method", "headers", "interval_seconds", "timeout_seconds",
                 "expected_statuses", "keyword", "keyword_absent", "latency_threshold_ms", "tls_expiry_warn_days",
                 "failures_to_alert", "successes_to_resolve", "enabled", "locations", "quorum")
SERVER = "server"
# A location is a short lowercase name: "server" (this server's engine) or an agent's name.
LOCATION_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
MAX_LOCATIONS = 16


def check_alert_key(check_id: uuid.UUID) -> str:
    """The dedup key of a check's alert (versioned, like every derived key)."""
    return f"check:1:{check_id}"


def spec_of(check: Check) -> CheckSpec:
    """The probe's view of a stored check."""
    return CheckSpec(kind=CheckKind(check.kind), target=check.target, method=check.method,
                     headers=dict(check.headers or {}),
                     timeout_seconds=check.timeout_seconds, expected_statuses=check.expected_statuses,
                     keyword=check.keyword, keyword_absent=check.keyword_absent,
                     latency_threshold_ms=check.latency_threshold_ms, tls_expiry_warn_days=check.tls_expiry_warn_days)


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", details={"field": field})


def _in_range(cfg: dict[str, Any], field: str, low: float, high: float) -> None:
    value = cfg[field]
    if isinstance(value, bool) or not isinstance(value, int | float) or not (low <= value <= high):
        raise _bad(field, f"must be {low:g} to {high:g}")


def _refuse_host(host: str, policy: EgressPolicy) -> None:
    try:
        policy.check_host(host)
    except Blocked as exc:
        raise _bad("target", f"refused by the egress policy: {exc.message} (TOCSIN_CHECK_ALLOW opens ranges "
                             "for checks)") from None


def validate(cfg: dict[str, Any], *, policy: EgressPolicy | None = None, judge_target: bool = True) -> dict[str, Any]:
    """Return `cfg` (every CONFIG_FIELDS key) checked and normalised; raise InvalidInput naming the field.

    The target's host is judged by `policy` (`tocsin.net.policy.check_policy(settings)`; the
    strict default when None): a literal address in a refused range, in any spelling, or an
    always-loopback or metadata name is refused; other names are checked at every probe.
    `judge_target=False` skips that (an edit that leaves the target alone, such as disabling a
    check whose range was closed since, must not be refused for it).
    """
    out = dict(cfg)
    # A check that does not run from the server is probed only by agents, each behind its own guard.
    judge_target = judge_target and SERVER in (out.get("locations") or [SERVER])
    if not isinstance(out["name"], str) or not out["name"].strip() or len(out["name"]) > 200:
        raise _bad("name", "must be 1 to 200 characters")
    out["name"] = out["name"].strip()
    if out["kind"] not in KINDS:
        raise _bad("kind", "must be http or tcp")
    target = out["target"]
    if not isinstance(target, str) or not target.strip() or len(target) > 2048:
        raise _bad("target", "must be 1 to 2048 characters")
    out["target"] = target = target.strip()
    if any(c.isspace() or not c.isprintable() for c in target):
        raise _bad("target", "must not contain spaces or control characters")
    if out["kind"] == "http":
        try:
            url = httpx.URL(target)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise _bad("target", f"not a valid URL ({exc})") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise _bad("target", "an http check needs an http:// or https:// URL with a host")
        # httpx takes almost anything as a host (it percent-encodes "exa mple"); a check
        # pointed at a name no resolver can answer is a typo, better refused now.
        if not (is_ip_literal(url.host) or _HOST_NAME.match(url.host)):
            raise _bad("target", f"{url.host!r} is not a valid host name")
        if url.port is not None and not 1 <= url.port <= 65535:
            raise _bad("target", "the port must be 1 to 65535")
        if judge_target:
            _refuse_host(url.host, policy or EgressPolicy())
    else:
        try:
            host, _port = parse_tcp_target(target)
        except ValueError as exc:
            raise _bad("target", str(exc)) from None
        if judge_target:
            _refuse_host(host, policy or EgressPolicy())
        if out["keyword"] is not None:
            raise _bad("keyword", "applies to http checks only")
    out["method"] = str(out["method"]).upper()
    if out["method"] not in METHODS:
        raise _bad("method", "must be GET, HEAD or POST")
    headers = out["headers"] or {}
    if not isinstance(headers, dict) or len(headers) > limits.MAX_HEADERS:
        raise _bad("headers", f"must be an object of at most {limits.MAX_HEADERS} string values")
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise _bad("headers", f"{name!r} is not a valid header name")
        if not isinstance(value, str) or len(value) > _HEADER_VALUE_MAX or any(c in value for c in "\r\n\x00"):
            raise _bad("headers", f"the value of {name} must be a single line of at most {_HEADER_VALUE_MAX} characters")
    out["headers"] = dict(headers)
    _in_range(out, "interval_seconds", limits.MIN_INTERVAL, limits.MAX_INTERVAL)
    _in_range(out, "timeout_seconds", limits.MIN_TIMEOUT, limits.MAX_TIMEOUT)
    if math.isnan(out["timeout_seconds"]) or out["timeout_seconds"] >= out["interval_seconds"]:
        raise _bad("timeout_seconds", "must be less than interval_seconds")
    try:
        out["expected_statuses"] = format_status_ranges(parse_status_ranges(str(out["expected_statuses"])))
    except ValueError as exc:
        raise _bad("expected_statuses", str(exc)) from None
    if len(out["expected_statuses"]) > 200:
        raise _bad("expected_statuses", "too long (200 characters at most)")
    _in_range(out, "failures_to_alert", 1, limits.MAX_STREAK)
    _in_range(out, "successes_to_resolve", 1, limits.MAX_STREAK)
    if out["latency_threshold_ms"] is not None:
        _in_range(out, "latency_threshold_ms", 1, 600_000)
    if out["tls_expiry_warn_days"] is not None:
        _in_range(out, "tls_expiry_warn_days", 1, 365)
    out["keyword_absent"] = bool(out["keyword_absent"])
    out["enabled"] = bool(out["enabled"])
    locations = out.get("locations") or [SERVER]
    if not isinstance(locations, list | tuple) or len(locations) > MAX_LOCATIONS:
        raise _bad("locations", f"must be a list of at most {MAX_LOCATIONS} location names")
    if not all(isinstance(loc, str) and LOCATION_NAME.match(loc) for loc in locations):
        raise _bad("locations", "each must be 'server' or an agent's name (lowercase letters, digits, hyphens)")
    if len(set(locations)) != len(locations):
        raise _bad("locations", "names a location twice")
    out["locations"] = list(locations)
    quorum = out.get("quorum")
    if quorum is not None:
        if isinstance(quorum, bool) or not isinstance(quorum, int) or not 1 <= quorum <= len(locations):
            raise _bad("quorum", f"must be 1 to {len(locations)} (the number of locations)")
    out["quorum"] = quorum
    try:  # the probe's own consistency rules, so a stored check can always be run
        CheckSpec(kind=out["kind"], target=out["target"], method=out["method"], headers=out["headers"],
                  timeout_seconds=out["timeout_seconds"], expected_statuses=out["expected_statuses"],
                  keyword=out["keyword"], keyword_absent=out["keyword_absent"],
                  latency_threshold_ms=out["latency_threshold_ms"], tls_expiry_warn_days=out["tls_expiry_warn_days"])
    except ValueError as exc:
        raise _bad("target", str(exc)) from None
    return out


def _audit_view(cfg: dict[str, Any]) -> dict[str, Any]:
    # Header values may be credentials: the audit log keeps their names only.
    return {k: (sorted(v) if k == "headers" else v) for k, v in cfg.items()}


def create_check(session: Session, *, actor: Principal, now: datetime, service: str, name: str, kind: str,
                 target: str, method: str = "GET", headers: dict[str, str] | None = None, interval_seconds: int = 60,
                 timeout_seconds: float = 10.0, expected_statuses: str = "200-399", keyword: str | None = None,
                 keyword_absent: bool = False, latency_threshold_ms: int | None = None,
                 tls_expiry_warn_days: int | None = None, failures_to_alert: int = 2, successes_to_resolve: int = 1,
                 enabled: bool = True, locations: list[str] | None = None, quorum: int | None = None,
                 policy: EgressPolicy | None = None) -> Check:
    """Create a check, due at once; raise Forbidden, NotFound (service) or InvalidInput.

    `policy` judges the target (`tocsin.net.policy.check_policy(settings)`; strict when None)."""
    actor.require(OrgRole.admin, "creating checks")
    svc = require_service(session, service)
    cfg = validate({"name": name, "kind": kind, "target": target, "method": method, "headers": headers or {},
                    "interval_seconds": interval_seconds, "timeout_seconds": timeout_seconds,
                    "expected_statuses": expected_statuses, "keyword": keyword, "keyword_absent": keyword_absent,
                    "latency_threshold_ms": latency_threshold_ms, "tls_expiry_warn_days": tls_expiry_warn_days,
                    "failures_to_alert": failures_to_alert, "successes_to_resolve": successes_to_resolve,
                    "enabled": enabled, "locations": locations or [SERVER], "quorum": quorum}, policy=policy)
    _require_locations(session, cfg["locations"])
    check = Check(service_id=svc.id, created_at=now, next_run_at=now, consecutive_failures=0,
                  consecutive_successes=0, state="unknown", runs_on_server=SERVER in cfg["locations"], **cfg)
    session.add(check)
    session.flush()
    record(session, actor=actor, action="check.create", target_type="check", target_id=check.id, now=now,
           details={"service": svc.slug, **_audit_view(cfg)})
    return check


def _require_locations(session: Session, locations: list[str]) -> None:
    agents = [loc for loc in locations if loc != SERVER]
    known = set(session.execute(sa.select(CheckAgent.name).where(CheckAgent.name.in_(agents))).scalars()) \
        if agents else set()
    missing = [loc for loc in agents if loc not in known]
    if missing:
        raise _bad("locations", f"no agent is registered as {', '.join(missing)} (register it under Agents first)")


def list_checks(session: Session, *, service_id: uuid.UUID | None = None, after: uuid.UUID | None = None,
                limit: int = 50) -> list[Check]:
    return page_by_id(session, Check, after=after, limit=limit, service_id=service_id)


def get_check(session: Session, check_id: uuid.UUID) -> Check | None:
    return session.get(Check, check_id)


def require_check(session: Session, check_id: uuid.UUID) -> Check:
    return require_row(session, Check, check_id, "check")


def _stand_down(session: Session, check: Check, now: datetime, why: str) -> None:
    """Resolve the open alert of a check that will no longer run, and forget its verdict."""
    if check.state == "down":
        ingest(session, [Incoming(Event(action=Action.resolve, dedup_key=check_alert_key(check.id), summary=why),
                                  check.service_id, None, Source.check.value)], now=now)
    check.state, check.consecutive_failures, check.consecutive_successes = "unknown", 0, 0
    session.execute(sa.delete(CheckLocation).where(CheckLocation.check_id == check.id))


def update_check(session: Session, *, actor: Principal, now: datetime, check: Check,
                 policy: EgressPolicy | None = None, **changes: Any) -> Check:
    """Apply `changes` (only the fields given; keyword, latency_threshold_ms and tls_expiry_warn_days accept None
    to clear them) and return the check. Disabling a failing check resolves its alert. A changed
    target (or kind) is judged by `policy` as in `create_check`.

    Raises Forbidden or InvalidInput (nothing is changed then).
    """
    actor.require(OrgRole.admin, "changing checks")
    unknown = set(changes) - set(CONFIG_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    current = {f: getattr(check, f) for f in CONFIG_FIELDS}
    current["locations"] = list(current["locations"] or [SERVER])
    moved = any(f in changes and changes[f] != current[f] for f in ("target", "kind")) or (
        SERVER in (changes.get("locations") or []) and SERVER not in current["locations"])
    merged = validate({**current, **changes}, policy=policy, judge_target=moved)
    changed = {f: v for f, v in merged.items() if v != current[f]}
    if not changed:
        return check
    if "locations" in changed:
        _require_locations(session, merged["locations"])
        check.runs_on_server = SERVER in merged["locations"]
    was_enabled = check.enabled
    for field, value in changed.items():
        setattr(check, field, value)
    if was_enabled and not check.enabled:
        _stand_down(session, check, now, "check disabled")
    elif check.enabled and not was_enabled:
        check.next_run_at = now
    elif "interval_seconds" in changed:
        check.next_run_at = min(check.next_run_at, now + timedelta(seconds=check.interval_seconds))
    session.flush()
    record(session, actor=actor, action="check.update", target_type="check", target_id=check.id, now=now,
           details=_audit_view(changed))
    return check


def delete_check(session: Session, *, actor: Principal, now: datetime, check: Check) -> None:
    """Delete a check and its results; an open alert of the check is resolved (nothing else ever would)."""
    actor.require(OrgRole.admin, "deleting checks")
    _stand_down(session, check, now, "check deleted")
    record(session, actor=actor, action="check.delete", target_type="check", target_id=check.id, now=now,
           details={"name": check.name, "kind": check.kind, "target": check.target})
    session.execute(sa.delete(CheckResult).where(CheckResult.check_id == check.id))
    session.execute(sa.delete(CheckLocation).where(CheckLocation.check_id == check.id))
    session.delete(check)
    session.flush()


# --- results and uptime ------------------------------------------------------------------------

def results(session: Session, check: Check, *, since: datetime | None = None, limit: int = 100) -> list[CheckResult]:
    """Return the check's results, newest first, at or after `since` when given."""
    stmt = (sa.select(CheckResult).where(CheckResult.check_id == check.id)
            .order_by(CheckResult.at.desc(), CheckResult.id.desc()).limit(limit))
    if since is not None:
        stmt = stmt.where(CheckResult.at >= since)
    return list(session.execute(stmt).scalars())


@dataclass(frozen=True)
class Uptime:
    since: datetime
    checks: int
    failures: int
    uptime_percent: float | None  # None: nothing ran in the window
    p50_ms: float | None
    p95_ms: float | None


def _percentile(session: Session, base: Any, count: int, fraction: float) -> float | None:
    # Nearest rank, computed by the database (ORDER BY ... OFFSET), so a long window never
    # moves every latency into Python, and the same SQL works on SQLite and PostgreSQL.
    if count == 0:
        return None
    rank = max(1, math.ceil(fraction * count))
    return session.execute(base.order_by(CheckResult.latency_ms).offset(rank - 1).limit(1)).scalar_one()


def uptime(session: Session, check: Check, *, window: timedelta, now: datetime, location: str | None = None
           ) -> Uptime:
    """Return the share of passing results in (now - window, now], and latency p50/p95 (ms) over them
    (from one location's results when `location` is given, else from all)."""
    since = now - window
    in_window = sa.and_(CheckResult.check_id == check.id, CheckResult.at > since, CheckResult.at <= now)
    if location is not None:
        in_window = sa.and_(in_window, CheckResult.location == location)
    failed = sa.func.coalesce(sa.func.sum(sa.case((CheckResult.ok == sa.false(), 1), else_=0)), 0)
    total, failures = session.execute(sa.select(sa.func.count(), failed).where(in_window)).one()
    timed = sa.select(CheckResult.latency_ms).where(in_window, CheckResult.latency_ms.is_not(None))
    n_timed = session.execute(sa.select(sa.func.count()).select_from(timed.subquery())).scalar_one()
    percent = round(100.0 * (total - failures) / total, 3) if total else None
    return Uptime(since=since, checks=total, failures=failures, uptime_percent=percent,
                  p50_ms=_percentile(session, timed, n_timed, 0.50), p95_ms=_percentile(session, timed, n_timed, 0.95))


def prune_results(session: Session, *, before: datetime, limit: int) -> int:
    """Retention: delete up to `limit` check results taken before `before`, oldest first; return how
    many went. A check's state (up, down, its streaks) lives on the check row, not in its results."""
    return delete_batch(session, CheckResult, CheckResult.at < before, oldest_first=CheckResult.at, limit=limit)

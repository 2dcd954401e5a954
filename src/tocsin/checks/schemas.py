"""API shapes for synthetic checks, their results and uptime."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from tocsin.schemas import Name, Out, PatchIn, Slug, StrictIn, UTCInput

MIN_INTERVAL, MAX_INTERVAL = 10, 24 * 3600
MIN_TIMEOUT, MAX_TIMEOUT = 0.5, 60.0
MAX_HEADERS = 20
MAX_STREAK = 20
MAX_LOCATIONS = 16
MAX_REPORTS = 500

Kind = Literal["http", "tcp"]
Method = Literal["GET", "HEAD", "POST"]

_TARGET = "An http(s) URL for http checks, host:port (or [v6]:port) for tcp checks"
_STATUSES = "Statuses that pass, e.g. 200-299,301 (http checks)"
_LOCATIONS = "Where the check runs from: 'server' (this server) and/or registered agents' names"
_QUORUM = "How many locations must fail to alert (default: a majority, 2 of 3)"


class CheckIn(StrictIn):
    service: str = Field(min_length=1, max_length=64, description="Service slug or id")
    name: Name
    kind: Kind
    target: str = Field(min_length=1, max_length=2048, description=_TARGET)
    method: Method = "GET"
    headers: dict[str, str] = Field(default_factory=dict, max_length=MAX_HEADERS)
    interval_seconds: int = Field(60, ge=MIN_INTERVAL, le=MAX_INTERVAL)
    timeout_seconds: float = Field(10.0, ge=MIN_TIMEOUT, le=MAX_TIMEOUT, allow_inf_nan=False,
                                   description="Must be less than interval_seconds")
    expected_statuses: str = Field("200-399", min_length=1, max_length=200, description=_STATUSES)
    keyword: str | None = Field(None, min_length=1, max_length=500, description="Text the body must contain")
    keyword_absent: bool = Field(False, description="True: the keyword must NOT appear")
    latency_threshold_ms: int | None = Field(None, ge=1, le=600_000, description="Slower answers fail the check")
    tls_expiry_warn_days: int | None = Field(None, ge=1, le=365,
                                             description="Fail (warning) when the certificate expires sooner")
    failures_to_alert: int = Field(2, ge=1, le=MAX_STREAK, description="Consecutive failures that open an alert")
    successes_to_resolve: int = Field(1, ge=1, le=MAX_STREAK, description="Consecutive successes that resolve it")
    enabled: bool = True
    locations: list[Slug] = Field(default_factory=lambda: ["server"], min_length=1, max_length=MAX_LOCATIONS,
                                  description=_LOCATIONS)
    quorum: int | None = Field(None, ge=1, le=MAX_LOCATIONS, description=_QUORUM)


class CheckPatch(PatchIn):
    """Omit a field to leave it alone. Fields that always hold a value refuse null; `keyword`,
    `latency_threshold_ms` and `tls_expiry_warn_days` accept null to clear them."""

    clearable: ClassVar[frozenset[str]] = frozenset({"keyword", "latency_threshold_ms", "tls_expiry_warn_days",
                                                     "quorum"})

    name: Name | None = Field(None)
    kind: Kind | None = Field(None)
    target: str | None = Field(None, min_length=1, max_length=2048, description=_TARGET)
    method: Method | None = Field(None)
    headers: dict[str, str] | None = Field(None, max_length=MAX_HEADERS, description="Replaces all headers")
    interval_seconds: int | None = Field(None, ge=MIN_INTERVAL, le=MAX_INTERVAL)
    timeout_seconds: float | None = Field(None, ge=MIN_TIMEOUT, le=MAX_TIMEOUT, allow_inf_nan=False)
    expected_statuses: str | None = Field(None, min_length=1, max_length=200, description=_STATUSES)
    keyword: str | None = Field(None, min_length=1, max_length=500)
    keyword_absent: bool | None = Field(None)
    latency_threshold_ms: int | None = Field(None, ge=1, le=600_000)
    tls_expiry_warn_days: int | None = Field(None, ge=1, le=365)
    failures_to_alert: int | None = Field(None, ge=1, le=MAX_STREAK)
    successes_to_resolve: int | None = Field(None, ge=1, le=MAX_STREAK)
    enabled: bool | None = Field(None)
    locations: list[Slug] | None = Field(None, min_length=1, max_length=MAX_LOCATIONS, description=_LOCATIONS)
    quorum: int | None = Field(None, ge=1, le=MAX_LOCATIONS, description=_QUORUM + "; null: the majority")


class CheckOut(Out):
    id: uuid.UUID
    service_id: uuid.UUID
    name: str
    kind: str
    target: str
    method: str
    headers: dict[str, str] = Field(description="Values are shown to admins only (they may hold credentials)")
    interval_seconds: int
    timeout_seconds: float
    expected_statuses: str
    keyword: str | None
    keyword_absent: bool
    latency_threshold_ms: int | None
    tls_expiry_warn_days: int | None
    failures_to_alert: int
    successes_to_resolve: int
    enabled: bool
    locations: list[str]
    quorum: int | None = Field(description="null: a majority of the locations")
    state: str = Field(description="unknown (no verdict yet) | up | down")
    consecutive_failures: int
    consecutive_successes: int
    created_at: datetime
    next_run_at: datetime
    last_result_at: datetime | None


class CheckResultOut(Out):
    id: uuid.UUID
    at: datetime
    ok: bool
    latency_ms: float | None
    status_code: int | None
    error: str | None
    tls_expires_at: datetime | None


class LatencyOut(Out):
    p50: float | None
    p95: float | None


class UptimeOut(Out):
    window_hours: int
    since: datetime
    checks: int
    failures: int
    uptime_percent: float | None = Field(description="null when no check ran in the window")
    latency_ms: LatencyOut


class LocationOut(Out):
    location: str
    state: str = Field(description="unknown | up | down | offline (no result for 3 intervals; never counts as "
                                   "failing) | paused")
    last_result_at: datetime | None
    last_ok: bool | None
    last_error: str | None
    last_latency_ms: float | None
    last_status_code: int | None
    uptime: UptimeOut


class LocationsOut(Out):
    quorum: int
    failing: int
    reporting: int
    items: list[LocationOut]


class AgentIn(StrictIn):
    name: Slug = Field(description="The location this agent stands for, e.g. eu-west or customer-dc")


class AgentOut(Out):
    id: uuid.UUID
    name: str
    key_hint: str
    created_at: datetime
    last_seen_at: datetime | None
    poll_interval_seconds: int
    online: bool
    checks: int = Field(description="Enabled checks that list this location")


class NewAgentOut(AgentOut):
    key: str = Field(description="Shown only in this response: start the agent with --key")


class AgentCheckOut(Out):
    """What an agent needs to run a check, and nothing else (no service, no state)."""

    id: uuid.UUID
    name: str
    kind: str
    target: str
    method: str
    headers: dict[str, str]
    interval_seconds: int
    timeout_seconds: float
    expected_statuses: str
    keyword: str | None
    keyword_absent: bool
    latency_threshold_ms: int | None
    tls_expiry_warn_days: int | None


class AgentChecksOut(Out):
    location: str
    checks: list[AgentCheckOut]


class ReportIn(StrictIn):
    check_id: uuid.UUID
    at: UTCInput = Field(description="When the agent ran the probe; with check_id, the result's identity")
    ok: bool
    latency_ms: float | None = Field(None, ge=0, le=3_600_000, allow_inf_nan=False)
    status_code: int | None = Field(None, ge=100, le=599)
    error: str | None = Field(None, max_length=1000)
    tls_expires_at: UTCInput | None = None


class ReportsIn(StrictIn):
    results: list[ReportIn] = Field(max_length=MAX_REPORTS)


class ReportsOut(Out):
    accepted: int
    duplicates: int = Field(description="Already stored (a retried batch): not counted again")
    rejected: list[dict[str, object]] = Field(description="Dropped results: index in `results` and why")

"""API shapes for synthetic checks, their results and uptime."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from tocsin.schemas import Name, Out, PatchIn, StrictIn

MIN_INTERVAL, MAX_INTERVAL = 10, 24 * 3600
MIN_TIMEOUT, MAX_TIMEOUT = 0.5, 60.0
MAX_HEADERS = 20
MAX_STREAK = 20

Kind = Literal["http", "tcp"]
Method = Literal["GET", "HEAD", "POST"]

_TARGET = "An http(s) URL for http checks, host:port (or [v6]:port) for tcp checks"
_STATUSES = "Statuses that pass, e.g. 200-299,301 (http checks)"


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


class CheckPatch(PatchIn):
    """Omit a field to leave it alone. Fields that always hold a value refuse null; `keyword`,
    `latency_threshold_ms` and `tls_expiry_warn_days` accept null to clear them."""

    clearable: ClassVar[frozenset[str]] = frozenset({"keyword", "latency_threshold_ms", "tls_expiry_warn_days"})

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

"""Run one synthetic check (HTTP or TCP) and say whether it passed and, if not, why.

Pure of the database: the engine turns a stored check into a `CheckSpec`, calls `run_probe`
and records the `ProbeResult`. Network failures are results, not exceptions: a check that
cannot connect has answered the question it was asked. Only a programming error raises.
Every connection goes through the egress guard (`tocsin.net`), so a check cannot be aimed
at a cloud metadata endpoint.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import httpcore
import httpx

from tocsin.clock import Clock
from tocsin.net.guard import Blocked, EgressPolicy
from tocsin.net.http import GuardedBackend

MAX_BODY_BYTES = 1 << 20  # the keyword is searched for in the first 1 MiB only


class CheckKind(StrEnum):
    HTTP = "http"
    TCP = "tcp"


def parse_status_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """Return inclusive (low, high) pairs from text like "200-299,301,418".

    Raises ValueError for an empty list, a non-number, a code outside 100-599, or low > high.
    """
    ranges: list[tuple[int, int]] = []
    for part in text.split(","):
        item = part.strip()
        low_text, dash, high_text = item.partition("-")
        try:
            low = int(low_text.strip())
            high = int(high_text.strip()) if dash else low
        except ValueError:
            raise ValueError(f"bad status code or range: {item!r}") from None
        if not (100 <= low <= 599 and 100 <= high <= 599):
            raise ValueError(f"status codes must be within 100-599: {item!r}")
        if low > high:
            raise ValueError(f"status range runs backwards: {item!r}")
        ranges.append((low, high))
    return tuple(ranges)


def format_status_ranges(ranges: tuple[tuple[int, int], ...]) -> str:
    """Return the canonical text of `ranges` ("200-299,301")."""
    return ",".join(str(low) if low == high else f"{low}-{high}" for low, high in ranges)


def parse_tcp_target(target: str) -> tuple[str, int]:
    """Return (host, port) from "host:port" or "[v6]:port"; raise ValueError if malformed."""
    host, colon, port_text = target.strip().rpartition(":")
    if not colon or not host or not (port_text.isascii() and port_text.isdigit()):
        raise ValueError(f"TCP target must be host:port, got {target!r}")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(f"port out of range in {target!r}")
    if host.startswith("["):
        if not host.endswith("]"):
            raise ValueError(f"unclosed [ in {target!r}")
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"an IPv6 address needs brackets: [{host}]:{port}")
    return host, port


@dataclass(frozen=True)
class CheckSpec:
    """What to probe and what counts as passing. Raises ValueError when inconsistent."""

    kind: CheckKind
    target: str  # a URL for http, "host:port" for tcp
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: float = 10.0
    expected_statuses: str = "200-399"  # as the checks table defaults
    keyword: str | None = None
    keyword_absent: bool = False  # True: the keyword must NOT appear
    latency_threshold_ms: int | None = None
    tls_expiry_warn_days: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", CheckKind(self.kind))
        object.__setattr__(self, "method", self.method.upper())
        if not self.timeout_seconds > 0:
            raise ValueError("timeout_seconds must be positive")
        parse_status_ranges(self.expected_statuses)
        if self.kind is CheckKind.TCP:
            parse_tcp_target(self.target)
            return
        try:
            url = httpx.URL(self.target)
        except httpx.InvalidURL as exc:
            raise ValueError(f"bad URL {self.target!r}: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"an http check needs an http(s) URL with a host, got {self.target!r}")


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one probe; `error` is a short human reason when `ok` is False."""

    ok: bool
    latency_ms: float | None = None
    status_code: int | None = None
    error: str | None = None
    tls_expires_at: datetime | None = None


def run_probe(spec: CheckSpec, *, client: httpx.Client, policy: EgressPolicy, clock: Clock) -> ProbeResult:
    """Return the result of probing `spec` once: HTTP through `client`, TCP through `policy`.

    Never raises for network failures, refusals by the guard or timeouts.
    """
    if spec.kind is CheckKind.TCP:
        return _probe_tcp(spec, policy)
    return _probe_http(spec, client, policy, clock)


class _BodyTimeout(Exception):
    pass


def _probe_http(spec: CheckSpec, client: httpx.Client, policy: EgressPolicy, clock: Clock) -> ProbeResult:
    started = time.perf_counter()
    try:
        with client.stream(spec.method, spec.target, headers=dict(spec.headers), timeout=spec.timeout_seconds) as resp:
            has_stream = resp.extensions.get("network_stream") is not None
            expires_at = _expiry_from_stream(resp)
            body = _read_capped(resp, deadline=started + spec.timeout_seconds)
            latency_ms = (time.perf_counter() - started) * 1000
            status, encoding = resp.status_code, resp.encoding or "utf-8"
    except (httpx.TimeoutException, _BodyTimeout):
        return ProbeResult(ok=False, error=f"timeout after {spec.timeout_seconds:g} s")
    except Blocked as exc:
        return ProbeResult(ok=False, error=f"blocked: {exc.message}")
    except httpx.HTTPError as exc:
        return ProbeResult(ok=False, error=_describe(exc))

    url = httpx.URL(spec.target)
    if not has_stream and url.scheme == "https" and spec.tls_expiry_warn_days is not None:
        # A transport that exposes no stream to ask: look at the certificate separately.
        expires_at = certificate_expiry(url.host, url.port or 443, policy=policy, timeout=spec.timeout_seconds)

    ranges = parse_status_ranges(spec.expected_statuses)
    error = None
    if not any(low <= status <= high for low, high in ranges):
        error = f"status {status} not in {format_status_ranges(ranges)}"
    elif spec.keyword is not None:
        found = spec.keyword in _decode(body, encoding)
        if found and spec.keyword_absent:
            error = f"keyword {spec.keyword!r} found"
        elif not found and not spec.keyword_absent:
            error = f"keyword {spec.keyword!r} not found"
    error = error or _over_threshold(latency_ms, spec) or _expiry_warning(expires_at, spec, clock)
    return ProbeResult(
        ok=error is None, latency_ms=latency_ms, status_code=status, error=error, tls_expires_at=expires_at
    )


def _probe_tcp(spec: CheckSpec, policy: EgressPolicy) -> ProbeResult:
    host, port = parse_tcp_target(spec.target)
    started = time.perf_counter()
    try:
        stream = GuardedBackend(policy).connect_tcp(host, port, timeout=spec.timeout_seconds)
    except Blocked as exc:
        return ProbeResult(ok=False, error=f"blocked: {exc.message}")
    except httpcore.ConnectTimeout:
        return ProbeResult(ok=False, error=f"timeout after {spec.timeout_seconds:g} s")
    except httpcore.ConnectError as exc:
        return ProbeResult(ok=False, error=_describe(exc))
    latency_ms = (time.perf_counter() - started) * 1000
    stream.close()
    error = _over_threshold(latency_ms, spec)
    return ProbeResult(ok=error is None, latency_ms=latency_ms, error=error)


def _read_capped(response: httpx.Response, *, deadline: float) -> bytes:
    # httpx's timeouts bound each read, not the whole body; a server that trickles a byte
    # a second must still fail the check once the probe's own timeout has passed.
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY_BYTES:
            break
        if time.perf_counter() > deadline:
            raise _BodyTimeout
    return b"".join(chunks)[:MAX_BODY_BYTES]


def _decode(body: bytes, encoding: str) -> str:
    try:
        return body.decode(encoding, errors="replace")
    except LookupError:  # a charset Python does not know; UTF-8 is the best guess left
        return body.decode("utf-8", errors="replace")


def _not_after(cert: dict | None) -> datetime | None:
    # getpeercert() is only parsed when the certificate was verified; an unverified
    # connection gives {} and so no expiry, which is fine: an unverified date means little.
    if not cert or "notAfter" not in cert:
        return None
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), UTC)


def _expiry_from_stream(response: httpx.Response) -> datetime | None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    return _not_after(ssl_object.getpeercert()) if ssl_object is not None else None


def certificate_expiry(
    host: str, port: int, *, policy: EgressPolicy, timeout: float, ssl_context: ssl.SSLContext | None = None
) -> datetime | None:
    """Return when the certificate served at host:port expires, or None if it cannot be read.

    Connects through the guard (resolve, check, connect to a checked address) and verifies
    the certificate for `host` (SNI) with `ssl_context` (default: the system's CAs).
    Never raises for network or TLS failures.
    """
    context = ssl_context or ssl.create_default_context()
    try:
        stream = GuardedBackend(policy).connect_tcp(host, port, timeout=timeout)
        try:
            stream = stream.start_tls(context, server_hostname=host, timeout=timeout)
            ssl_object = stream.get_extra_info("ssl_object")
            return _not_after(ssl_object.getpeercert()) if ssl_object is not None else None
        finally:
            stream.close()
    except (Blocked, httpcore.NetworkError, httpcore.TimeoutException):
        return None


def _over_threshold(latency_ms: float, spec: CheckSpec) -> str | None:
    if spec.latency_threshold_ms is not None and latency_ms > spec.latency_threshold_ms:
        return f"latency {latency_ms:.0f} ms over {spec.latency_threshold_ms} ms"
    return None


def _expiry_warning(expires_at: datetime | None, spec: CheckSpec, clock: Clock) -> str | None:
    if expires_at is None or spec.tls_expiry_warn_days is None:
        return None
    left = expires_at - clock.now()
    day = expires_at.date().isoformat()
    if left <= timedelta(0):
        return f"TLS certificate expired on {day}"
    if left >= timedelta(days=spec.tls_expiry_warn_days):
        return None
    days = left.days
    if days == 0:
        return f"TLS certificate expires in under a day ({day})"
    return f"TLS certificate expires in {days} day{'s' if days != 1 else ''} ({day})"


def _describe(exc: BaseException) -> str:
    """Return a short reason for a failed connection, from the most telling cause."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, ConnectionResetError):
            return "connection reset"
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"TLS certificate verification failed: {seen.verify_message}"
        if isinstance(seen, ssl.SSLError):
            return f"TLS error: {seen.reason or seen}"
        if isinstance(seen, TimeoutError):
            return "timeout"
        seen = seen.__cause__ or seen.__context__
    # Not the exception's text: it can quote what the far end sent (h11's "illegal status line"
    # carries the bytes a non-HTTP service answered), and check results are shown to every user.
    text = str(exc)
    if isinstance(exc, httpx.ConnectError | httpcore.ConnectError) and text.startswith("could not resolve "):
        return text if len(text) <= 200 else text[:197] + "..."  # tocsin's resolver's words (net/http.py)
    if isinstance(exc, httpx.ReadError | httpcore.ReadError):
        return "connection lost mid-response"
    if isinstance(exc, httpx.RemoteProtocolError | httpcore.RemoteProtocolError):
        return "the server did not answer in HTTP"
    return f"connection failed ({type(exc).__name__})"

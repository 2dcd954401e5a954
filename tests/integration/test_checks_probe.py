"""Synthetic checks against real servers on 127.0.0.1: what passes, and the reason when not."""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.harness.webhook import Handler, LocalServer, self_signed_cert, server_tls
from tocsin.checks.probe import (
    MAX_BODY_BYTES,
    CheckKind,
    CheckSpec,
    ProbeResult,
    certificate_expiry,
    parse_status_ranges,
    parse_tcp_target,
    run_probe,
)
from tocsin.clock import ManualClock
from tocsin.net.guard import EgressPolicy
from tocsin.net.http import make_client

OPEN = EgressPolicy(deny_private=False)


class ProbeHandler(Handler):
    """Adds /slow/<seconds>, /trickle (a byte every 0.1 s) and /big (the keyword past 1 MiB)."""

    def do_GET(self) -> None:
        if self.path.startswith("/slow/"):
            time.sleep(float(self.path.rsplit("/", 1)[1]))
        elif self.path == "/trickle":
            self._send(b"x" * 30, delay=0.1)
            return
        elif self.path == "/big":
            self._send(b"a" * MAX_BODY_BYTES + b"NEEDLE")
            return
        super().do_GET()

    def _send(self, body: bytes, delay: float = 0.0) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not delay:
            self.wfile.write(body)
            return
        try:
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(delay)
        except OSError:  # the probe gave up and hung up, as it should
            pass


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer(ProbeHandler) as srv:
        yield srv


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(OPEN) as c:
        yield c


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(url: str, **kwargs: object) -> CheckSpec:
    return CheckSpec(kind=CheckKind.HTTP, target=url, timeout_seconds=kwargs.pop("timeout_seconds", 2.0), **kwargs)  # type: ignore[arg-type]


def probe(spec: CheckSpec, client: httpx.Client, clock: ManualClock, policy: EgressPolicy = OPEN) -> ProbeResult:
    return run_probe(spec, client=client, policy=policy, clock=clock)


def test_http_success(server: LocalServer, client: httpx.Client, clock: ManualClock) -> None:
    result = probe(http(f"http://localhost:{server.port}/"), client, clock)
    assert (result.ok, result.status_code, result.error, result.tls_expires_at) == (True, 200, None, None)
    assert result.latency_ms is not None and 0 < result.latency_ms < 2000


def test_method_and_headers_are_sent(server: LocalServer, client: httpx.Client, clock: ManualClock) -> None:
    spec = http(f"http://127.0.0.1:{server.port}/", method="get", headers={"X-Check": "yes"})
    assert probe(spec, client, clock).ok
    assert server.requests[0][1]["X-Check"] == "yes"


@pytest.mark.parametrize(
    ("path", "expected", "error"),
    [
        ("/status/200", "200-299", None),
        ("/status/503", "200-299", "status 503 not in 200-299"),
        ("/status/418", "200-299,301,418", None),
        ("/status/301", "200-299, 301 ,418", None),  # not followed: the 301 itself is judged
        ("/status/302", "200-299,301,418", "status 302 not in 200-299,301,418"),
        ("/status/404", "400-499", None),
        ("/status/500", "500", None),
    ],
)
def test_status_ranges(
    server: LocalServer, client: httpx.Client, clock: ManualClock, path: str, expected: str, error: str | None
) -> None:
    result = probe(http(f"http://127.0.0.1:{server.port}{path}", expected_statuses=expected), client, clock)
    assert (result.ok, result.error, result.status_code) == (error is None, error, int(path.rsplit("/", 1)[1]))


@pytest.mark.parametrize(
    ("path", "keyword", "absent", "error"),
    [
        ("/", "hello", False, None),
        ("/", "ell", False, None),
        ("/", "Hello", False, "keyword 'Hello' not found"),  # case matters
        ("/", "bye", False, "keyword 'bye' not found"),
        ("/", "hello", True, "keyword 'hello' found"),
        ("/", "bye", True, None),
        ("/big", "NEEDLE", False, "keyword 'NEEDLE' not found"),  # past the first 1 MiB
        ("/big", "aaaa", False, None),
    ],
)
def test_keyword(
    server: LocalServer, client: httpx.Client, clock: ManualClock, path: str, keyword: str, absent: bool, error: str | None
) -> None:
    spec = http(f"http://127.0.0.1:{server.port}{path}", keyword=keyword, keyword_absent=absent)
    result = probe(spec, client, clock)
    assert (result.ok, result.error) == (error is None, error)


def test_status_failure_is_reported_before_keyword(server: LocalServer, client: httpx.Client, clock: ManualClock) -> None:
    result = probe(http(f"http://127.0.0.1:{server.port}/status/500", keyword="missing"), client, clock)
    assert result.error == "status 500 not in 200-399"


def test_latency_threshold(server: LocalServer, client: httpx.Client, clock: ManualClock) -> None:
    result = probe(http(f"http://127.0.0.1:{server.port}/slow/0.2", latency_threshold_ms=100), client, clock)
    assert not result.ok and result.status_code == 200
    assert re.fullmatch(r"latency \d+ ms over 100 ms", result.error or ""), result.error
    assert result.latency_ms is not None and result.latency_ms >= 200


def test_latency_under_threshold_passes(server: LocalServer, client: httpx.Client, clock: ManualClock) -> None:
    assert probe(http(f"http://127.0.0.1:{server.port}/", latency_threshold_ms=1500), client, clock).ok


@pytest.mark.parametrize("path", ["/slow/1.0", "/trickle"])
def test_timeout(server: LocalServer, client: httpx.Client, clock: ManualClock, path: str) -> None:
    started = time.perf_counter()
    result = probe(http(f"http://127.0.0.1:{server.port}{path}", timeout_seconds=0.3), client, clock)
    assert (result.ok, result.error, result.latency_ms) == (False, "timeout after 0.3 s", None)
    assert time.perf_counter() - started < 0.9  # the probe's own deadline, not the server's pace


def test_http_connection_refused(client: httpx.Client, clock: ManualClock, closed_port: int) -> None:
    result = probe(http(f"http://127.0.0.1:{closed_port}/"), client, clock)
    assert (result.ok, result.error, result.status_code) == (False, "connection refused", None)


@pytest.mark.parametrize(
    ("url", "policy", "error"),
    [
        ("http://169.254.169.254/latest/meta-data/", OPEN, "blocked: 169.254.169.254 is a cloud metadata address"),
        ("http://metadata.google.internal/", OPEN, "blocked: metadata.google.internal is a cloud metadata hostname"),
        ("http://localhost:{port}/", EgressPolicy(deny_private=True), "blocked: localhost resolves to 127.0.0.1"),
    ],
)
def test_http_blocked_target(server: LocalServer, clock: ManualClock, url: str, policy: EgressPolicy, error: str) -> None:
    with make_client(policy) as guarded:
        result = probe(http(url.format(port=server.port)), guarded, clock, policy)
    assert not result.ok and (result.error or "").startswith(error), result.error
    assert server.connections == 0


def test_unresolvable_name(client: httpx.Client, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> list[tuple]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    result = probe(http("http://nowhere.tocsin.test/"), client, clock)
    assert not result.ok and (result.error or "").startswith("could not resolve nowhere.tocsin.test"), result.error


def test_transport_failure_is_a_result_not_an_exception(clock: ManualClock) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection lost mid-response", request=request)

    with make_client(OPEN, transport=httpx.MockTransport(broken)) as mocked:
        result = probe(http("http://service.tocsin.test/"), mocked, clock)
    assert (result.ok, result.error) == (False, "connection lost mid-response")


# --- TCP ---------------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_tcp_open_port(listener: int, client: httpx.Client, clock: ManualClock, host: str) -> None:
    result = probe(CheckSpec(kind="tcp", target=f"{host}:{listener}", timeout_seconds=2), client, clock)  # type: ignore[arg-type]
    assert (result.ok, result.error, result.status_code) == (True, None, None)
    assert result.latency_ms is not None and result.latency_ms < 2000


def test_tcp_closed_port(closed_port: int, client: httpx.Client, clock: ManualClock) -> None:
    result = probe(CheckSpec(kind=CheckKind.TCP, target=f"127.0.0.1:{closed_port}", timeout_seconds=2), client, clock)
    assert (result.ok, result.error, result.latency_ms) == (False, "connection refused", None)


@pytest.mark.parametrize(
    ("target", "policy", "error"),
    [
        ("169.254.169.254:80", OPEN, "blocked: 169.254.169.254 is a cloud metadata address"),
        ("[::ffff:169.254.169.254]:80", OPEN, "blocked: ::ffff:169.254.169.254 (169.254.169.254) is a cloud metadata"),
        ("metadata:80", OPEN, "blocked: metadata is a cloud metadata hostname"),
        ("localhost:{port}", EgressPolicy(deny_private=True), "blocked: localhost resolves to 127.0.0.1"),
    ],
)
def test_tcp_blocked_target(
    listener: int, client: httpx.Client, clock: ManualClock, target: str, policy: EgressPolicy, error: str
) -> None:
    spec = CheckSpec(kind=CheckKind.TCP, target=target.format(port=listener), timeout_seconds=2)
    result = probe(spec, client, clock, policy)
    assert not result.ok and (result.error or "").startswith(error), result.error


def test_tcp_latency_threshold(listener: int, client: httpx.Client, clock: ManualClock) -> None:
    # A zero threshold cannot be met: shows the threshold is applied to TCP checks too.
    spec = CheckSpec(kind=CheckKind.TCP, target=f"127.0.0.1:{listener}", latency_threshold_ms=0)
    result = probe(spec, client, clock)
    assert not result.ok and re.fullmatch(r"latency \d+ ms over 0 ms", result.error or ""), result.error


# --- TLS ---------------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[LocalServer, Path]]:
    cert, key = self_signed_cert(tmp_path, days=request.param)
    with LocalServer(ProbeHandler, tls=server_tls(cert, key)) as srv:
        yield srv, cert


def trusting(cert: Path) -> httpx.Client:
    return make_client(OPEN, verify=ssl.create_default_context(cafile=str(cert)))


def expected_expiry(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


@pytest.mark.parametrize("tls_server", [5 + 1 / 24], indirect=True)
def test_tls_certificate_close_to_expiry_fails(tls_server: tuple[LocalServer, Path], clock: ManualClock) -> None:
    srv, cert = tls_server
    with trusting(cert) as client:
        result = probe(http(f"https://localhost:{srv.port}/", tls_expiry_warn_days=14), client, clock)
    assert result.tls_expires_at is not None
    assert abs(result.tls_expires_at - expected_expiry(5 + 1 / 24)) < timedelta(seconds=5)
    day = result.tls_expires_at.date().isoformat()
    assert (result.ok, result.status_code, result.error) == (False, 200, f"TLS certificate expires in 5 days ({day})")


@pytest.mark.parametrize("tls_server", [90], indirect=True)
def test_tls_certificate_far_from_expiry_passes(tls_server: tuple[LocalServer, Path], clock: ManualClock) -> None:
    srv, cert = tls_server
    with trusting(cert) as client:
        result = probe(http(f"https://localhost:{srv.port}/", tls_expiry_warn_days=14), client, clock)
        unwatched = probe(http(f"https://localhost:{srv.port}/"), client, clock)
        clock.advance(days=100)
        late = probe(http(f"https://localhost:{srv.port}/", tls_expiry_warn_days=14), client, clock)
    assert (result.ok, result.error) == (True, None)
    assert result.tls_expires_at is not None and result.tls_expires_at.tzinfo is UTC
    assert unwatched.ok and unwatched.tls_expires_at == result.tls_expires_at  # reported even when not judged
    assert (late.ok, late.error) == (False, f"TLS certificate expired on {result.tls_expires_at.date().isoformat()}")


@pytest.mark.parametrize("tls_server", [90], indirect=True)
def test_tls_untrusted_or_wrong_name_fails(tls_server: tuple[LocalServer, Path], clock: ManualClock) -> None:
    srv, cert = tls_server
    with make_client(OPEN) as default_trust:
        untrusted = probe(http(f"https://localhost:{srv.port}/"), default_trust, clock)
    with trusting(cert) as client:
        wrong_name = probe(http(f"https://127.0.0.1:{srv.port}/"), client, clock)  # cert names only localhost
    assert not untrusted.ok and (untrusted.error or "").startswith("TLS certificate verification failed"), untrusted.error
    assert not wrong_name.ok and "127.0.0.1" in (wrong_name.error or ""), wrong_name.error
    assert srv.requests == []


@pytest.mark.parametrize("tls_server", [30], indirect=True)
def test_certificate_expiry_by_separate_connection(tls_server: tuple[LocalServer, Path]) -> None:
    srv, cert = tls_server
    trust = ssl.create_default_context(cafile=str(cert))
    expires = certificate_expiry("localhost", srv.port, policy=OPEN, timeout=2, ssl_context=trust)
    assert expires is not None and abs(expires - expected_expiry(30)) < timedelta(seconds=5)
    # Through the guard, and never raising: refused, untrusted and closed all give None.
    denied = EgressPolicy(deny_private=True)
    assert certificate_expiry("localhost", srv.port, policy=denied, timeout=2, ssl_context=trust) is None
    assert certificate_expiry("localhost", srv.port, policy=OPEN, timeout=2) is None


# --- parsing and validation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("200-299", ((200, 299),)),
        ("200-299,301,418", ((200, 299), (301, 301), (418, 418))),
        (" 100 - 599 ", ((100, 599),)),
        ("204", ((204, 204),)),
    ],
)
def test_parse_status_ranges(text: str, ranges: tuple[tuple[int, int], ...]) -> None:
    assert parse_status_ranges(text) == ranges


@pytest.mark.parametrize("text", ["", ",", "abc", "200-", "-200", "99", "600", "200-600", "299-200", "2xx", "200,,300"])
def test_parse_status_ranges_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_status_ranges(text)


@pytest.mark.parametrize(
    ("target", "parsed"),
    [("db.internal:5432", ("db.internal", 5432)), ("[::1]:22", ("::1", 22)), ("10.0.0.1:1", ("10.0.0.1", 1))],
)
def test_parse_tcp_target(target: str, parsed: tuple[str, int]) -> None:
    assert parse_tcp_target(target) == parsed


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "icmp", "target": "x"},
        {"kind": "tcp", "target": "db.internal"},
        {"kind": "tcp", "target": "db.internal:0"},
        {"kind": "tcp", "target": "db.internal:70000"},
        {"kind": "tcp", "target": "::1:22"},
        {"kind": "tcp", "target": "[::1:22"},
        {"kind": "http", "target": "ftp://example.com/"},
        {"kind": "http", "target": "not a url"},
        {"kind": "http", "target": "http://0251.0376.0251.0376/"},
        {"kind": "http", "target": "http://example.com/", "expected_statuses": "2xx"},
        {"kind": "http", "target": "http://example.com/", "timeout_seconds": 0},
    ],
)
def test_check_spec_rejects_inconsistent_input(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CheckSpec(**kwargs)  # type: ignore[arg-type]


def test_a_non_http_answer_is_described_without_repeating_it(clock: ManualClock) -> None:
    # A check aimed at an internal non-HTTP service (an SSH daemon, say) must not read its banner back.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def banner() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"SSH-2.0-OpenSSH_internal-secret-banner\r\n\r\n")  # h11 quotes it in its error

        thread = threading.Thread(target=banner, daemon=True)
        thread.start()
        with make_client(OPEN, timeout=5) as client:
            result = probe(http(f"http://127.0.0.1:{port}/"), client, clock)
        thread.join(5)
    assert (result.ok, result.error) == (False, "the server did not answer in HTTP")

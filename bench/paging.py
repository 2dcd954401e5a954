"""Paging latency: from an ingest 2xx to the page arriving by email and by webhook, idle and
under background ingest; and how late escalation steps run when 10,000 are due within a minute.

    .venv/bin/python bench/paging.py [--backend sqlite|postgres|both] [--pages 200] [--rate 1000]
                                     [--escalations 10000] [--spread 45] [--page-rate 5] [--batch 10] [--workdir DIR]
                                     [--chat]

Needs, for `--backend postgres|both`, a PostgreSQL server at TOCSIN_TEST_PG_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test, the test suite's): a fresh database is
created for every run and dropped after it. Nothing else: the mail and webhook servers run in
this process.

What runs, per backend, fresh: `tocsin serve` as an operator runs it (engine in-process, default
engine interval, log level warning) with TOCSIN_SMTP_URL pointing at an aiosmtpd SMTP server in
this process, and a webhook receiver (http.server, HTTP/1.1 keep-alive) in this process. Set up
through the API: a person with two verified contact methods (their account email, and a webhook
verified with the code it received) and a notification rule for each at 0 minutes, so every page
goes out by email and by webhook at once; a service `paged` whose escalation policy pages that
person; a service `noise` without a policy; PagerDuty Events v2 integrations on both.

Phases:

1. reference: the same provider code tocsin sends with (`EmailProvider`, `WebhookProvider` over
   the guarded httpx client), called directly from this process against the same two servers,
   50 times each: the bare delivery round trip, with nothing of tocsin around it. Ratios `x bare`
   divide tocsin's page latency by this (p50 by p50, p99 by p99).
2. idle: --pages pages at --page-rate per second (5), open loop: POST /v2/enqueue (a new dedup
   key) to `paged`; the clock starts when the 2xx arrives and stops when the SMTP server accepts
   the message (end of DATA) and when the receiver has read the webhook POST. All times are this
   process's monotonic clock. After the last page the script waits for the stragglers (until
   none has arrived for 30 s); a page that never arrives is counted `lost`.
3. load: the same, while a separate process sends --rate new alerts/s in the background to
   `noise` (Alertmanager webhook bodies of --batch alerts from 16 threads, open loop, paced by
   the clock; the rate tocsin acknowledged is printed in the `phase` column). `noise` has no policy, so only the foreground alerts page, but
   every background alert still goes through ingest and the engine (which records it was not
   paged because the service has no policy).
4. lateness: a person `late` with only a verified webhook; --escalations alerts sent to a
   service without a policy (Alertmanager bodies of 100); then as many `escalations` rows
   **inserted directly into the database** by this process, one per alert, active, level 0,
   with the snapshot of a one-level policy paging `late`, and `next_at` evenly spread over
   --spread seconds starting 5 s after the insert. tocsin is not told: its engine finds them by
   its own schedule (it sleeps until the next step is due, at most its interval). Lateness per
   escalation is measured twice: `step taken` is the notification's `created_at` (the time of
   the engine tick that took the step, as tocsin records it) minus `next_at`, a lower bound;
   `page received` is when the receiver got the page (this process's wall clock) minus
   `next_at`, what a person sees.

With --chat (chat-ops, issue 18: pages must never wait behind chat), the load and lateness phases
are replaced by a chat phase, and tocsin serve also gets the Slack app (TOCSIN_SLACK_SIGNING_SECRET,
TOCSIN_SLACK_BOT_TOKEN, TOCSIN_SLACK_BASE_URL) pointed at a stand-in Slack in this process: the
test harness's fake (tests/harness/slack.py, Slack's wire format) made slow and rate limiting:
every Web API call waits CHAT_DELAY seconds (2) before it is answered, and every other call is
answered 429 ratelimited with Retry-After: 1. The idle phase (Slack configured, the chat outbox
empty) is the baseline without chat.

5. chat: first CHAT_INCIDENTS incidents (20) are declared through the API (each gets a channel:
   create, topic, bookmarks, invite, first post, all through the chat outbox on the engine's
   `tocsin-chat` thread); CHAT_WARMUP seconds later --pages pages are sent as in idle while a
   thread adds key-event notes through the API to those incidents, CHAT_NOTE_RATE a second (4,
   round robin; each becomes a post to its channel), so the chat outbox always has calls waiting
   on the slow, rate-limited Slack. Its lines carry `x idle` ratios (p50 by p50, p99 by p99,
   against the idle phase of the same run) besides `x bare`. The notes print the chat calls the
   stand-in answered during the phase (ok and 429) and, at the end, the `chat_outbox` rows by
   status and the channels by state, read from the database.
   The phase's API writes (declarations, notes) share the database with the pages: a ratio
   above 1 is an upper bound on what chat-ops itself costs a page.

Targets (the Paging issue): page latency p50 <= 100 ms and p99 <= 1 s; escalation lateness
p99 <= 1 s. Each line says whether it met the target. The server's CPU use (cores, from
/proc) is printed per phase; on PostgreSQL the database server's CPU comes on top, and this
process (the mail server, the receiver, the client) shares the same cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.server
import json
import os
import platform
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import (  # noqa: E402  (the sibling benchmark's server and database helpers)
    PG_ADMIN_URL,
    TOCSIN,
    _pg_conninfo,
    admin_token,
    clean_env,
    cpu_seconds,
    database,
    free_port,
    stop,
    wait_ready,
)

TARGET_P50_MS, TARGET_P99_MS, TARGET_LATE_P99_MS = 100.0, 1000.0, 1000.0
DRAIN_STALL = 30.0  # stop waiting for pages after this many seconds without one arriving
DRAIN_MAX = 900.0
REFERENCE_SENDS = 50
WARMUP_LOAD_SECONDS = 2.0
LATE_LEAD_SECONDS = 5.0
TOKEN = re.compile(r"bench page (\S+)")
LOOPBACK = "127.0.0.1/32"
CHAT_DELAY = 2.0  # seconds the stand-in Slack waits before answering any Web API call
CHAT_INCIDENTS = 20
CHAT_NOTE_RATE = 4.0  # key-event notes per second while the chat phase's pages are sent
CHAT_WARMUP = 5.0  # seconds between the declarations and the first page
ROOT = Path(__file__).resolve().parent.parent  # the repository: tests.harness.slack is the stand-in Slack


# --- the mail server and the webhook receiver, in this process -----------------------------------

@dataclass
class Arrivals:
    """When each page arrived, per channel: token -> (monotonic, wall) seconds."""

    email: dict[str, tuple[float, float]] = field(default_factory=dict)
    webhook: dict[str, tuple[float, float]] = field(default_factory=dict)
    late: dict[str, float] = field(default_factory=dict)  # alert id -> wall time (lateness phase)
    codes: list[str] = field(default_factory=list)  # verification codes the receiver got
    counts: dict[str, int] = field(default_factory=lambda: {"email": 0, "webhook": 0, "late": 0, "reference": 0})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def arrived(self, channel: str, token: str, mono: float, wall: float) -> None:
        with self.lock:
            seen = getattr(self, channel)
            seen.setdefault(token, (mono, wall))
            self.counts[channel] += 1


class SmtpSink:
    """aiosmtpd handler: accepts everything and notes when each page's DATA ended."""

    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mono, wall = time.perf_counter(), time.time()
        head = envelope.content.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
        subject = re.search(r"^Subject: (.*)$", head, re.M)
        found = TOKEN.search(subject.group(1)) if subject else None
        if found:
            self.arrivals.arrived("email", found.group(1), mono, wall)
        else:
            self.arrivals.counts["reference"] += 1
        return "250 2.0.0 OK"


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as most webhook receivers do
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm holds the
    # body back until the client's delayed ACK (40 ms), which would be measured as tocsin's.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        mono, wall = time.perf_counter(), time.time()
        arrivals: Arrivals = self.server.arrivals  # type: ignore[attr-defined]
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {}
        text = f"{doc.get('subject', '')}"
        if (code := re.search(r"verification code is (\d+)", doc.get("body", ""))) is not None:
            with arrivals.lock:
                arrivals.codes.append(code.group(1))
        elif self.path.startswith("/late"):
            for alert_id in (doc.get("data") or {}).get("alert_ids", []):
                with arrivals.lock:
                    arrivals.late.setdefault(alert_id, wall)
                    arrivals.counts["late"] += 1
        elif (found := TOKEN.search(text)) is not None:
            arrivals.arrived("webhook", found.group(1), mono, wall)
        else:
            arrivals.counts["reference"] += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


class ReceiverServer(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # room for every connection tocsin opens at once (up to 16 sends at a time)
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        quiet_reset(self, request, client_address)


def quiet_reset(server: http.server.HTTPServer, request: Any, client_address: Any) -> None:
    """A client closing its idle keep-alive connection with a reset is not an error worth a traceback."""
    if not isinstance(sys.exc_info()[1], ConnectionResetError):
        http.server.HTTPServer.handle_error(server, request, client_address)


@contextmanager
def sinks(arrivals: Arrivals) -> Iterator[tuple[str, str]]:
    """Start the SMTP server and the webhook receiver; yield (smtp URL, receiver base URL)."""
    from aiosmtpd.controller import Controller

    smtp_port = free_port()
    controller = Controller(SmtpSink(arrivals), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    receiver = ReceiverServer(("127.0.0.1", 0), ReceiverHandler)
    receiver.arrivals = arrivals  # type: ignore[attr-defined]
    thread = threading.Thread(target=receiver.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"smtp://127.0.0.1:{smtp_port}", f"http://127.0.0.1:{receiver.server_address[1]}"
    finally:
        receiver.shutdown()
        receiver.server_close()
        controller.stop()


# --- statistics ------------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


@dataclass
class Line:
    backend: str
    phase: str
    what: str
    values_ms: list[float]
    lost: int = 0
    bare: tuple[float, float] | None = None  # the reference's (p50, p99) in ms
    target: tuple[float, float] | None = None  # (p50, p99) targets in ms; p50 None-able
    note: str = ""
    idle: tuple[float, float] | None = None  # the same run's idle (p50, p99) in ms, for the chat phase's ratios

    @property
    def p50(self) -> float:
        return pct(self.values_ms, 50)

    @property
    def p99(self) -> float:
        return pct(self.values_ms, 99)

    def verdict(self) -> str:
        if self.target is None:
            return ""
        p50_t, p99_t = self.target
        ok = self.p99 <= p99_t and (p50_t is None or self.p50 <= p50_t) and not self.lost
        return "met" if ok else "NOT met"


# --- tocsin ---------------------------------------------------------------------------------------

@dataclass
class Server:
    url: str
    pid: int
    token: str
    database_url: str
    log: Path
    keys: dict[str, str] = field(default_factory=dict)  # "<service>/<type>" -> integration key
    person: dict[str, str] = field(default_factory=dict)  # name -> user id

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30,
                            trust_env=False)


@contextmanager
def tocsin(backend: str, workdir: Path, smtp_url: str, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    workdir.mkdir(parents=True)
    with database(backend, workdir) as url:
        token = admin_token(url, workdir / "data")
        port, log = free_port(), workdir / "tocsin.log"
        env = {**clean_env(), "TOCSIN_DATABASE_URL": url, "TOCSIN_DATA_DIR": str(workdir / "data"),
               "TOCSIN_LOG_LEVEL": "warning", "TOCSIN_SMTP_URL": smtp_url, "TOCSIN_SMTP_FROM": "pager@bench.test",
               # the webhook receiver is on loopback, which the egress guard refuses unless allowed
               "TOCSIN_OUTBOUND_ALLOW": LOOPBACK, **(extra_env or {})}
        with log.open("wb") as fh:
            proc = subprocess.Popen([str(TOCSIN), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                    stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(f"{base}/readyz", proc, log)
            yield Server(base, proc.pid, token, url, log)
        finally:
            stop(proc)
            errors = [line for line in log.read_text(errors="replace").splitlines() if "Traceback" in line
                      or " ERROR" in line or line.startswith("ERROR")]
            if errors:
                print(f"  note: tocsin logged errors ({len(errors)} lines), see {log}: {errors[0]}")


def _ok(r: httpx.Response) -> dict[str, Any]:
    if r.status_code >= 300:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}")
    return r.json() if r.content else {}


def add_person(srv: Server, arrivals: Arrivals, name: str, hook: str, *, email: bool) -> None:
    """A person paged by webhook (verified with the code it received) and, with `email`, by their
    account email too, each with a rule at 0 minutes."""
    with srv.api() as api:
        user = _ok(api.post("/api/v1/users", json={"email": f"{name}@bench.test", "name": name.title()}))
        uid = user["id"]
        srv.person[name] = uid
        if email:
            m = _ok(api.post(f"/api/v1/users/{uid}/contact-methods", json={"type": "email",
                                                                          "address": f"{name}@bench.test"}))
            assert m["verified"], m  # the account's own address
            _ok(api.post(f"/api/v1/users/{uid}/notification-rules", json={"contact_method_id": m["id"]}))
        m = _ok(api.post(f"/api/v1/users/{uid}/contact-methods", json={"type": "webhook", "address": hook}))
        before = len(arrivals.codes)
        sent = _ok(api.post(f"/api/v1/contact-methods/{m['id']}/send-code"))
        if not sent["sent"] or len(arrivals.codes) == before:
            raise RuntimeError(f"the verification code did not arrive: {sent}")
        assert _ok(api.post(f"/api/v1/contact-methods/{m['id']}/verify",
                            json={"code": arrivals.codes[-1]}))["verified"]
        rules = _ok(api.get(f"/api/v1/users/{uid}/notification-rules"))["items"]
        if not any(r["contact_method_id"] == m["id"] for r in rules):
            _ok(api.post(f"/api/v1/users/{uid}/notification-rules", json={"contact_method_id": m["id"]}))


def add_service(srv: Server, slug: str, kinds: tuple[str, ...], policy_for: str | None = None) -> None:
    with srv.api() as api:
        # per alert: every foreground alert is a page of its own, timed on its own (new services page per
        # alert group, which would fold the 100 foreground alerts into one page)
        _ok(api.post("/api/v1/services", json={"name": slug.title(), "slug": slug, "tier": 1, "paging_unit": "alert"}))
        if policy_for is not None:
            _ok(api.post("/api/v1/escalation-policies", json={
                "name": f"{slug} on-call", "slug": slug, "repeat": 0,
                "levels": [{"delay_minutes": 60, "targets": [{"type": "user", "id": srv.person[policy_for]}]}]}))
            _ok(api.put(f"/api/v1/services/{slug}/escalation-policy", json={"policy": slug}))
        for kind in kinds:
            srv.keys[f"{slug}/{kind}"] = _ok(api.post("/api/v1/integrations", json={
                "service": slug, "type": kind, "name": kind}))["key"]


# --- phases ---------------------------------------------------------------------------------------

def reference(smtp_url: str, hooks: str) -> tuple[list[float], list[float]]:
    """Bare delivery round trips (ms) with tocsin's own providers, called directly."""
    from tocsin.net.guard import EgressPolicy
    from tocsin.net.http import make_client
    from tocsin.notify.email import EmailProvider
    from tocsin.notify.types import Message, Outcome
    from tocsin.notify.webhook import WebhookProvider

    email = EmailProvider(smtp_url, "pager@bench.test")
    client = make_client(EgressPolicy.from_settings(LOOPBACK))  # what the server is given (TOCSIN_OUTBOUND_ALLOW)
    hook = WebhookProvider(client, "whsec_reference")
    smtp_ms, hook_ms = [], []
    try:
        for i in range(REFERENCE_SENDS + 5):  # the first 5 warm up (imports, connections)
            msg = Message(idempotency_key=f"reference:{i}", to="ref@bench.test", subject="reference",
                          body="reference message", data={"kind": "reference"}, created_at=datetime.now(UTC))
            t0 = time.perf_counter()
            r = email.send(msg)
            t1 = time.perf_counter()
            r2 = hook.send(dataclasses.replace(msg, to=f"{hooks}/reference"))
            t2 = time.perf_counter()
            if r.outcome is not Outcome.delivered or r2.outcome is not Outcome.delivered:
                raise RuntimeError(f"reference send failed: {r} {r2}")
            if i >= 5:
                smtp_ms.append((t1 - t0) * 1000)
                hook_ms.append((t2 - t1) * 1000)
            time.sleep(0.01)
    finally:
        client.close()
    return smtp_ms, hook_ms


@dataclass
class PageRun:
    email_ms: list[float] = field(default_factory=list)
    webhook_ms: list[float] = field(default_factory=list)
    ingest_ms: list[float] = field(default_factory=list)
    lost_email: int = 0
    lost_webhook: int = 0
    cpu: float = 0.0


def pages(srv: Server, arrivals: Arrivals, phase: str, n: int, rate: float) -> PageRun:
    """Send `n` pages at `rate` per second (open loop: a slow page does not hold back the next),
    then wait for them; return their latencies from the ingest 2xx."""
    run = PageRun()
    key = srv.keys["paged/events_v2"]
    acked: dict[str, float] = {}
    cpu0, wall0 = cpu_seconds(srv.pid), time.monotonic()
    with httpx.Client(base_url=srv.url, timeout=60, trust_env=False) as http:
        started = time.perf_counter()
        for i in range(n):
            token = f"{phase}-{i}"
            wait = started + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            body = {"routing_key": key, "event_action": "trigger", "dedup_key": f"page-{token}",
                    "payload": {"summary": f"bench page {token}", "source": "bench", "severity": "critical"}}
            t0 = time.perf_counter()
            r = http.post("/v2/enqueue", json=body)
            t1 = time.perf_counter()
            if r.status_code != 202:
                raise RuntimeError(f"ingest answered {r.status_code}: {r.text}")
            run.ingest_ms.append((t1 - t0) * 1000)
            acked[token] = t1
    run.cpu = (cpu_seconds(srv.pid) - cpu0) / (time.monotonic() - wall0)

    def missing() -> int:
        with arrivals.lock:
            return sum((t not in arrivals.email) + (t not in arrivals.webhook) for t in acked)

    drain(missing)
    with arrivals.lock:
        for token, t1 in acked.items():
            if (got := arrivals.email.get(token)) is not None:
                run.email_ms.append((got[0] - t1) * 1000)
            else:
                run.lost_email += 1
            if (got := arrivals.webhook.get(token)) is not None:
                run.webhook_ms.append((got[0] - t1) * 1000)
            else:
                run.lost_webhook += 1
    return run


def drain(missing: Any) -> None:
    """Wait until `missing()` is 0, or it has not moved for DRAIN_STALL seconds, or DRAIN_MAX passed."""
    last, moved, deadline = missing(), time.monotonic(), time.monotonic() + DRAIN_MAX
    while last and time.monotonic() < deadline and time.monotonic() - moved < DRAIN_STALL:
        time.sleep(0.2)
        now = missing()
        if now != last:
            last, moved = now, time.monotonic()


def am_body(prefix: str, start: int, count: int, summary: str = "background alert") -> dict[str, Any]:
    """An Alertmanager (version 4) webhook body with `count` new alerts."""
    starts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    alerts = [{"status": "firing", "labels": {"alertname": "BenchNoise", "instance": f"h{prefix}-{start + j}",
                                               "severity": "warning"},
               "annotations": {"summary": f"{summary} {start + j}"}, "startsAt": starts,
               "endsAt": "0001-01-01T00:00:00Z", "fingerprint": f"{prefix}{start + j:010x}"}
              for j in range(count)]
    return {"receiver": "tocsin", "status": "firing", "alerts": alerts, "groupLabels": {"alertname": "BenchNoise"},
            "commonLabels": {"alertname": "BenchNoise"}, "commonAnnotations": {}, "version": "4",
            "externalURL": "http://alertmanager.bench:9093", "groupKey": "{}:{alertname=\"BenchNoise\"}"}


def generate(url: str, rate: float, batch: int, threads: int) -> int:
    """The background load (run as a separate process): `rate` new alerts/s to `url`, in bodies of
    `batch`, open loop, until SIGTERM; then print what was sent and acknowledged as JSON."""
    stop_flag = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_flag.set())
    tally = {"sent": 0, "acked": 0, "errors": 0, "behind": 0}
    lock = threading.Lock()
    period = threads * batch / rate  # seconds between one thread's requests
    started = time.monotonic()

    def worker(w: int) -> None:
        prefix = f"{os.getpid() % 0xFFFF:04x}{w:02x}"
        n = 0
        due = started + w * period / threads
        with httpx.Client(timeout=30, trust_env=False) as http:
            while not stop_flag.is_set():
                wait = due - time.monotonic()
                if wait > 0:
                    stop_flag.wait(wait)
                    if stop_flag.is_set():
                        break
                elif wait < -period:
                    with lock:
                        tally["behind"] += 1
                due += period
                body = am_body(prefix, n, batch)
                n += batch
                try:
                    r = http.post(url, json=body)
                    ok = r.status_code == 202
                except httpx.HTTPError:
                    ok = False
                with lock:
                    tally["sent"] += batch
                    tally["acked" if ok else "errors"] += batch if ok else 1

    pool = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    print(json.dumps({**tally, "seconds": time.monotonic() - started}), flush=True)
    return 0


@dataclass
class LoadStats:
    rate: float  # acknowledged background alerts per second
    errors: int
    behind: int
    gen_cpu: float


@contextmanager
def background(srv: Server, rate: float, batch: int, workdir: Path) -> Iterator[list[LoadStats]]:
    url = f"{srv.url}/integrations/alertmanager/{srv.keys['noise/alertmanager']}"
    out = workdir / "generator.out"
    with out.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, __file__, "--generate", url, "--rate", str(rate),
                                 "--batch", str(batch)], stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=clean_env())
    result: list[LoadStats] = []
    t0 = time.monotonic()
    try:
        time.sleep(WARMUP_LOAD_SECONDS)
        yield result
    finally:
        gen_cpu = cpu_seconds(proc.pid) / (time.monotonic() - t0)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        try:
            stats = json.loads(out.read_text().strip().splitlines()[-1])
            result.append(LoadStats(stats["acked"] / stats["seconds"], stats["errors"], stats["behind"], gen_cpu))
        except (ValueError, IndexError, KeyError):
            print(f"  note: the load generator's output was unreadable: {out.read_text()[-2000:]}")


# --- chat-ops: a slow, rate-limiting Slack and incidents keeping it busy ----------------------------

def slow_slack() -> Any:
    """The harness's fake Slack, made slow (every call waits CHAT_DELAY s) and rate limiting (every
    other Web API call 429 with Retry-After: 1); not started."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.harness.slack import FakeSlack

    class SlowSlack(FakeSlack):
        def __init__(self) -> None:
            super().__init__()
            self.delay = CHAT_DELAY
            self.calls = {"ok": 0, "429": 0, "other": 0}
            self.add_user("bench@example.test", "Bench")  # the incident commander: invites find them

        def answer_api(self, method: str, authorization: str | None,
                       payload: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
            with self.lock:
                limited = sum(self.calls.values()) % 2 == 1
                if limited:
                    self.calls["429"] += 1
            if limited:
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
            status, body, headers = super().answer_api(method, authorization, payload)
            with self.lock:
                self.calls["ok" if status == 200 and isinstance(body, dict) and body.get("ok") else "other"] += 1
            return status, body, headers

        def handle_error(self, request: Any, client_address: Any) -> None:
            quiet_reset(self, request, client_address)

    return SlowSlack()


def chat_env(api_url: str) -> dict[str, str]:
    from tests.harness.slack import TOKEN as SLACK_TOKEN

    return {"TOCSIN_SLACK_SIGNING_SECRET": "bench-signing-secret", "TOCSIN_SLACK_BOT_TOKEN": SLACK_TOKEN,
            "TOCSIN_SLACK_BASE_URL": api_url}


@contextmanager
def chat_busy(srv: Server) -> Iterator[dict[str, int]]:
    """Declare CHAT_INCIDENTS incidents, wait CHAT_WARMUP s, then add key-event notes to them at
    CHAT_NOTE_RATE per second until the block ends; yields the counts (incidents, notes, errors)."""
    tally = {"incidents": 0, "notes": 0, "errors": 0}
    refs: list[str] = []
    with srv.api() as api:
        for i in range(CHAT_INCIDENTS):
            inc = _ok(api.post("/api/v1/incidents", json={"title": f"Chat bench incident {i + 1}",
                                                          "severity": "SEV2"}))
            refs.append(inc["ref"])
            tally["incidents"] += 1
    time.sleep(CHAT_WARMUP)
    done = threading.Event()

    def notes() -> None:
        with srv.api() as api:
            started, n = time.perf_counter(), 0
            while not done.is_set():
                wait = started + n / CHAT_NOTE_RATE - time.perf_counter()
                if wait > 0 and done.wait(wait):
                    break
                r = api.post(f"/api/v1/incidents/{refs[n % len(refs)]}/notes",
                             json={"text": f"bench key event {n}", "key_event": True})
                tally["notes" if r.status_code == 201 else "errors"] += 1
                n += 1

    thread = threading.Thread(target=notes, daemon=True)
    thread.start()
    try:
        yield tally
    finally:
        done.set()
        thread.join(timeout=60)


def chat_state(srv: Server) -> str:
    """The chat outbox's rows by status and the channels by state, from the database."""
    import sqlalchemy as sa

    from tocsin.chatops.models import ChatChannel, ChatOutbox
    from tocsin.db import Database

    db = Database(srv.database_url)
    try:
        with db.unit_of_work() as s:
            rows = {k: n for k, n in s.execute(sa.select(ChatOutbox.status, sa.func.count())
                                               .group_by(ChatOutbox.status)).all()}
            channels = {k: n for k, n in s.execute(sa.select(ChatChannel.state, sa.func.count())
                                                   .group_by(ChatChannel.state)).all()}
    finally:
        db.dispose()
    return ("chat_outbox " + ", ".join(f"{k} {v}" for k, v in sorted(rows.items()))
            + "; channels " + ", ".join(f"{k} {v}" for k, v in sorted(channels.items())))


@dataclass
class Lateness:
    step_ms: list[float]
    delivered_ms: list[float]
    lost: int
    cpu: float
    busy_note: str


def lateness(srv: Server, arrivals: Arrivals, n: int, spread: float) -> Lateness:
    """Escalations inserted directly into the database, due over `spread` seconds (see the docstring)."""
    import sqlalchemy as sa

    from tocsin.alerts.models import Alert, AlertEvent, IngestJournal, PageRequest
    from tocsin.db import Database
    from tocsin.escalation import plan
    from tocsin.escalation.models import Escalation, Notification
    from tocsin.ids import new_id

    key = srv.keys["late/alertmanager"]
    event_ids: list[uuid.UUID] = []
    with httpx.Client(base_url=srv.url, timeout=60, trust_env=False) as http:
        for start in range(0, n, 100):
            r = http.post(f"/integrations/alertmanager/{key}",
                          json=am_body("1a7e", start, min(100, n - start), summary="late alert"))
            event_ids += [uuid.UUID(x["event_id"]) for x in _ok(r)["results"]]
    db = Database(srv.database_url)
    try:
        # A 202 means journaled: wait until the journal is applied, then find each event's alert.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with db.unit_of_work() as s:
                if not s.execute(sa.select(sa.func.count()).select_from(IngestJournal)).scalar_one():
                    break
            time.sleep(0.2)
        with db.unit_of_work() as s:
            stored = dict(s.execute(sa.select(AlertEvent.id, AlertEvent.alert_id)
                                    .where(AlertEvent.id.in_(event_ids))).tuples().all())
            alert_ids = [str(stored[e]) for e in event_ids]
            service_id = s.execute(sa.select(Alert.service_id).where(Alert.id == uuid.UUID(alert_ids[0]))).scalar_one()
        # Let the engine finish with these alerts' page requests (not paged: no policy) first.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with db.unit_of_work() as s:
                pending = s.execute(sa.select(sa.func.count()).select_from(PageRequest)
                                    .where(PageRequest.status == "pending")).scalar_one()
            if not pending:
                break
            time.sleep(0.2)
        snap = plan.snapshot([{"delay_minutes": 60, "targets": [{"type": "user", "id": srv.person["late"]}]}], 0,
                             policy_id=None, slug="late", name="Lateness bench")
        order = list(range(n))
        random.Random(11).shuffle(order)  # rows are not inserted in due order
        now = datetime.now(UTC)
        base = now + timedelta(seconds=LATE_LEAD_SECONDS)
        due = {alert_ids[i]: base + timedelta(seconds=spread * i / n) for i in range(n)}
        rows = [{"id": new_id(), "alert_id": uuid.UUID(alert_ids[i]), "incident_id": None, "service_id": service_id,
                 "policy_snapshot": snap, "level": 0, "loop": 0, "status": "active", "stop_reason": None,
                 "next_at": due[alert_ids[i]], "epoch": 0, "started_at": now, "updated_at": now,
                 "lease_owner": None, "lease_until": None} for i in order]
        with db.unit_of_work() as s:
            for chunk in range(0, n, 1000):
                s.execute(sa.insert(Escalation.__table__), rows[chunk:chunk + 1000])
        inserted = datetime.now(UTC)
        if inserted > base:
            print(f"  note: the insert ended {(inserted - base).total_seconds():.1f} s after the first step was due")
        cpu0, wall0 = cpu_seconds(srv.pid), time.monotonic()
        time.sleep(LATE_LEAD_SECONDS + spread)
        drain(lambda: n - len(arrivals.late))
        cpu = (cpu_seconds(srv.pid) - cpu0) / (time.monotonic() - wall0)
        esc_ids = {r["id"]: str(r["alert_id"]) for r in rows}
        retried = 0
        with db.unit_of_work() as s:
            created = {}
            for chunk in range(0, n, 1000):
                ids = list(esc_ids)[chunk:chunk + 1000]
                for esc_id, at, attempts in s.execute(
                        sa.select(Notification.escalation_id, Notification.created_at, Notification.attempts)
                        .where(Notification.escalation_id.in_(ids))):
                    created[esc_ids[esc_id]] = at
                    retried += attempts > 1
    finally:
        db.dispose()
    step = [(created[a] - due[a]).total_seconds() * 1000 for a in alert_ids if a in created]
    delivered = [(arrivals.late[a] - due[a].timestamp()) * 1000 for a in alert_ids if a in arrivals.late]
    return Lateness(step, delivered, n - len(delivered), cpu,
                    f"{len(created)} of {n} steps taken; {retried} pages needed a retry")


# --- driving --------------------------------------------------------------------------------------

def run_backend(backend: str, args: argparse.Namespace, root: Path) -> list[Line]:
    arrivals = Arrivals()
    lines: list[Line] = []
    with sinks(arrivals) as (smtp_url, hooks), (slow_slack() if args.chat else nullcontext()) as slack:
        print(f"[{backend}] reference: bare SMTP send and webhook POST from this process ...", flush=True)
        smtp_ref, hook_ref = reference(smtp_url, hooks)
        bare_smtp, bare_hook = (pct(smtp_ref, 50), pct(smtp_ref, 99)), (pct(hook_ref, 50), pct(hook_ref, 99))
        lines += [Line(backend, "reference", "bare SMTP send (EmailProvider)", smtp_ref),
                  Line(backend, "reference", "bare webhook POST (WebhookProvider)", hook_ref)]
        env = chat_env(slack.api_url) if slack is not None else None
        with tocsin(backend, root / f"tocsin-{backend}", smtp_url, env) as srv:
            add_person(srv, arrivals, "oncall", f"{hooks}/page/oncall", email=True)
            add_person(srv, arrivals, "late", f"{hooks}/late", email=False)
            add_service(srv, "paged", ("events_v2",), policy_for="oncall")
            add_service(srv, "noise", ("alertmanager",))
            add_service(srv, "late", ("alertmanager",))
            pages(srv, arrivals, "warmup", 10, args.page_rate)

            print(f"[{backend}] idle: {args.pages} pages ...", flush=True)
            idle = pages(srv, arrivals, "idle", args.pages, args.page_rate)
            tp = (TARGET_P50_MS, TARGET_P99_MS)
            lines += [
                Line(backend, "idle", "ingest 2xx round trip", idle.ingest_ms, note=f"server CPU {idle.cpu:.2f}"),
                Line(backend, "idle", "2xx -> email accepted", idle.email_ms, idle.lost_email, bare_smtp, tp),
                Line(backend, "idle", "2xx -> webhook received", idle.webhook_ms, idle.lost_webhook, bare_hook, tp),
            ]
            if slack is not None:
                lines += chat_phase(srv, arrivals, slack, args, backend, idle, bare_smtp, bare_hook)
                return lines
            print(f"[{backend}] load: {args.pages} pages with {args.rate:.0f} alerts/s in the background ...",
                  flush=True)
            with background(srv, args.rate, args.batch, root / f"tocsin-{backend}") as stats:
                loaded = pages(srv, arrivals, "load", args.pages, args.page_rate)
            load = stats[0] if stats else None
            label = f"load {load.rate:,.0f}/s" if load else "load"
            note = (f"server CPU {loaded.cpu:.2f}; background {load.rate:,.0f} alerts/s acknowledged "
                    f"({load.errors} errors, generator CPU {load.gen_cpu:.2f})" if load else "")
            lines += [
                Line(backend, label, "ingest 2xx round trip", loaded.ingest_ms, note=note),
                Line(backend, label, "2xx -> email accepted", loaded.email_ms, loaded.lost_email, bare_smtp, tp),
                Line(backend, label, "2xx -> webhook received", loaded.webhook_ms, loaded.lost_webhook, bare_hook, tp),
            ]
            print(f"[{backend}] lateness: {args.escalations} escalations due over {args.spread:.0f} s ...", flush=True)
            late = lateness(srv, arrivals, args.escalations, args.spread)
            tl = (None, TARGET_LATE_P99_MS)
            lines += [
                Line(backend, "lateness", f"step taken - next_at ({args.escalations:,} due in {args.spread:.0f} s)",
                     late.step_ms, args.escalations - len(late.step_ms), None, tl, note=late.busy_note),
                Line(backend, "lateness", "page received - next_at", late.delivered_ms, late.lost, None, tl,
                     note=f"server CPU {late.cpu:.2f}"),
            ]
    return lines


def chat_phase(srv: Server, arrivals: Arrivals, slack: Any, args: argparse.Namespace, backend: str, idle: PageRun,
               bare_smtp: tuple[float, float], bare_hook: tuple[float, float]) -> list[Line]:
    """The chat phase (see the docstring): pages while the chat outbox has work waiting on a slow Slack."""
    print(f"[{backend}] chat: {CHAT_INCIDENTS} incidents, then {args.pages} pages with {CHAT_NOTE_RATE:g} "
          f"key-event notes/s, Slack answering in {CHAT_DELAY:g} s and every other call 429 ...", flush=True)
    with chat_busy(srv) as tally:
        with slack.lock:
            before = dict(slack.calls)
        t0 = time.monotonic()
        run = pages(srv, arrivals, "chat", args.pages, args.page_rate)
        seconds = time.monotonic() - t0
        with slack.lock:
            during = {k: slack.calls[k] - before[k] for k in before}
    state = chat_state(srv)
    tp, label = (TARGET_P50_MS, TARGET_P99_MS), "chat busy"

    def of(values: list[float]) -> tuple[float, float]:
        return pct(values, 50), pct(values, 99)

    note = (f"server CPU {run.cpu:.2f}; {tally['incidents']} incidents, {tally['notes']} key-event notes "
            f"({tally['errors']} refused); while the pages ran ({seconds:.0f} s) Slack answered "
            f"{during['ok']} calls ok, {during['429']} with 429 ({during['other']} other); at the end: {state}")
    return [
        Line(backend, label, "ingest 2xx round trip", run.ingest_ms, note=note, idle=of(idle.ingest_ms)),
        Line(backend, label, "2xx -> email accepted", run.email_ms, run.lost_email, bare_smtp, tp,
             idle=of(idle.email_ms)),
        Line(backend, label, "2xx -> webhook received", run.webhook_ms, run.lost_webhook, bare_hook, tp,
             idle=of(idle.webhook_ms)),
    ]


def fmt_ms(v: float) -> str:
    return "-" if v != v else (f"{v:,.1f}" if abs(v) < 100 else f"{v:,.0f}")


def table(lines: list[Line]) -> str:
    head: tuple[str, ...] = ("backend", "phase", "measure", "n", "p50 ms", "p99 ms", "max ms", "x bare p50",
                             "x bare p99", "target")
    with_idle = any(ln.idle for ln in lines)  # the chat phase: ratios to the same run's idle phase too
    if with_idle:
        head = (*head[:9], "x idle p50", "x idle p99", head[9])
    body = []
    for ln in lines:
        ratio50 = f"{ln.p50 / ln.bare[0]:.1f}" if ln.bare and ln.values_ms else ""
        ratio99 = f"{ln.p99 / ln.bare[1]:.1f}" if ln.bare and ln.values_ms else ""
        idle = (f"{ln.p50 / ln.idle[0]:.2f}", f"{ln.p99 / ln.idle[1]:.2f}") if ln.idle and ln.values_ms else ("", "")
        target = ""
        if ln.target:
            target = (f"p50<={ln.target[0]:.0f} " if ln.target[0] else "") + f"p99<={ln.target[1]:.0f}: {ln.verdict()}"
        n = f"{len(ln.values_ms)}" + (f" ({ln.lost} lost)" if ln.lost else "")
        body.append((ln.backend, ln.phase, ln.what, n, fmt_ms(ln.p50), fmt_ms(ln.p99),
                     fmt_ms(max(ln.values_ms)) if ln.values_ms else "-", ratio50, ratio99,
                     *(idle if with_idle else ()), target))
    widths = [max(len(str(c)) for c in col) for col in zip(head, *body, strict=True)]
    right = set(range(3, len(head) - 1))

    def row(values: tuple[str, ...]) -> str:
        return "| " + " | ".join(v.rjust(w) if i in right else v.ljust(w)
                                 for i, (v, w) in enumerate(zip(values, widths, strict=True))) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    notes = [f"- {ln.backend} {ln.phase}: {ln.note}" for ln in lines if ln.note]
    return "\n".join([row(head), sep, *(row(b) for b in body)]) + ("\n\n" + "\n".join(notes) if notes else "")


def header(backends: list[str]) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    from tocsin import __version__
    from tocsin.config import Settings

    git = subprocess.run(["git", "-C", str(Path(__file__).parent), "describe", "--always", "--dirty"],
                         capture_output=True, text=True, check=False).stdout.strip() or "unknown"
    lines = [
        f"date      {datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%S')} UTC (commit {git})",
        f"machine   {cpu}, {os.cpu_count()} cores (nproc), {mem} MiB RAM, {platform.system()} {platform.release()}",
        f"software  tocsin {__version__} (Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}); "
        f"engine interval {Settings().engine_interval:g} s (default)",
    ]
    if "postgresql" in backends:
        import psycopg

        with psycopg.connect(_pg_conninfo(PG_ADMIN_URL)) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
            sync = conn.execute("SHOW synchronous_commit").fetchone()[0]  # type: ignore[index]
            autovacuum = conn.execute("SHOW autovacuum").fetchone()[0]  # type: ignore[index]
        lines.append(f"postgres  {version} on 127.0.0.1 (synchronous_commit={sync}, autovacuum={autovacuum})")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "postgresql", "both"), default="both")
    parser.add_argument("--pages", type=int, default=200, help="pages per phase (idle, load)")
    parser.add_argument("--page-rate", type=float, default=5.0, help="foreground pages per second")
    parser.add_argument("--rate", type=float, default=1000.0, help="background alerts per second in the load phase")
    parser.add_argument("--batch", type=int, default=10, help="background alerts per request")
    parser.add_argument("--escalations", type=int, default=10_000, help="escalations in the lateness phase")
    parser.add_argument("--spread", type=float, default=45.0, help="seconds the escalations fall due over")
    parser.add_argument("--chat", action="store_true",
                        help="chat-ops: instead of the load and lateness phases, pages while a slow, rate-limiting "
                             "stand-in Slack keeps the chat outbox busy")
    parser.add_argument("--workdir", help="keep the servers' logs (and the SQLite file) here instead of a temp dir")
    parser.add_argument("--generate", metavar="URL", help=argparse.SUPPRESS)  # the load generator process
    args = parser.parse_args()
    if args.generate:
        return generate(args.generate, args.rate, args.batch, threads=16)
    backends = {"sqlite": ["sqlite"], "postgres": ["postgresql"], "postgresql": ["postgresql"],
                "both": ["sqlite", "postgresql"]}[args.backend]
    print(header(backends), flush=True)
    lines: list[Line] = []
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-paging-") as tmp:
        root = Path(args.workdir) if args.workdir else Path(tmp)
        for backend in backends:
            lines += run_backend(backend, args, root)
    print()
    print(table(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

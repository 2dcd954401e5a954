"""Ingest throughput: tocsin against Prometheus Alertmanager, under the same load.

    .venv/bin/python bench/ingest.py [--seconds 5] [--backend sqlite|postgresql|both] [--connections 32]
                                     [--workers 1 --workers 2] [--scenario new-1 ...]
    .venv/bin/python bench/ingest.py --sustained 600 [--backend ...] [--sustained-rate 1000]

`--sustained SECONDS` runs the sustained run alone instead (see `sustained` below): a steady,
rate-limited load for that long, printing the server's RSS and the database's size at start and
end, and the alerts/s it kept up, with every engine job (retention included) running.

Needs `prometheus-alertmanager` and `wrk` on PATH (Debian: `apt-get install -y
prometheus-alertmanager wrk`) and, for `--backend postgresql|both`, a PostgreSQL server at
TOCSIN_TEST_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test, the test
suite's): a fresh database is created for every tocsin run and dropped after it.

What runs. Every (scenario, system) pair gets fresh server processes on loopback, so the peak
RSS (VmHWM from /proc/<pid>/status, read just before the server is stopped) belongs to that
run alone, and a fresh database, so no run inherits another's rows:

  * Alertmanager, `--cluster.listen-address=` (no clustering), one route to a receiver with no
    integrations: alerts are validated, stored in memory and grouped; nothing is sent.
  * `tocsin serve` as an operator runs it (engine on, log level warning), on SQLite in a temp
    directory (WAL, synchronous=NORMAL) or on PostgreSQL; tocsin answers once the request is
    journaled (committed), and applies it right behind.

Scenarios (the same alert content for both systems, in the shape each API takes):

  new-1    one new alert per request: Alertmanager `POST /api/v2/alerts` with a one-element
           list, vs tocsin `POST /integrations/alertmanager/<key>` with a version 4 webhook body
           holding one alert with a new fingerprint, and tocsin `POST /v2/enqueue` (a PagerDuty
           Events v2 trigger) with a new dedup key
  new-100  100 new alerts per request (both Alertmanager-shaped APIs take lists)
  dup-1    the same alert again and again (the dedup path), one per request
  dup-100  the same 100 alerts again and again

Load generator: wrk (C, epoll, HTTP/1.1 keep-alive), closed loop: --connections (default 32)
connections on one wrk thread, each sending its next request as soon as the previous answer
arrives, for --seconds after a 1 s warm-up that is not measured. A LuaJIT script builds every
request body (new alerts get new labels and fingerprints) and reads every answer (tocsin's
answers list the dedup keys it accepted). wrk rather than a Python client because Alertmanager
answers faster than a Python client can send on a small machine: the table would measure the
client. The generator shares the machine's cores with the server, so its CPU use is printed
(`gen CPU`, in cores) next to the server's (`srv CPU`): a server near its core limit while the
generator stays well under one core means the server is what was measured. Latency is wrk's
per request (send to last byte) over the measured run; `alerts/s` counts acknowledged alerts
(2xx answers x alerts per request) per second; `x AM` is tocsin's alerts/s over
Alertmanager's in the same scenario. `lag p50/p99 ms` is tocsin's apply lag: a 2xx means the
events are journaled, and the pipeline applies them right behind; each stored event keeps when
it was accepted and when it was applied, and after the run the lags of the events accepted
during the measured seconds are read back from the database. `srv CPU` and `peak RSS MB` are the server process's
own (with `--workers N`, summed over the supervising process and its workers, shown as `xN`): on PostgreSQL the database server's CPU and memory come on top (it runs on the same
machine, so it also takes cores from tocsin and wrk).

Correctness, after every tocsin run: wrk stops with up to --connections requests in flight,
which tocsin may still commit without anyone hearing the answer. So for new alerts the check
is that every dedup key acknowledged in a 2xx answer is stored as exactly one alert and that
the only other stored alerts are unanswered in-flight ones (stored = acknowledged + k, k no
more than were in flight); for duplicates, that there is exactly one alert per distinct alert
and that their occurrences add up to the acknowledged events plus at most the in-flight ones.
A failed check prints FAIL and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

TOCSIN = Path(sys.executable).parent / "tocsin"
PG_ADMIN_URL = os.environ.get("TOCSIN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WARMUP_SECONDS = 1
READY_TIMEOUT = 60.0

LUA = r"""
-- Written by bench/ingest.py. Parameters come from BENCH_* environment variables, because
-- wrk hands its script arguments to worker threads only, not to done().
local mode = os.getenv("BENCH_MODE")            -- am | webhook | pd
local per = tonumber(os.getenv("BENCH_PER"))
local unique = os.getenv("BENCH_UNIQUE") == "1"
local prefix = os.getenv("BENCH_PREFIX")        -- 4 hex digits, new for every wrk run
local routing_key = os.getenv("BENCH_KEY") or ""
local collect = os.getenv("BENCH_COLLECT") == "1"
local out_path = os.getenv("BENCH_OUT")
local starts = os.date("!%Y-%m-%dT%H:%M:%SZ")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

-- per-thread tallies, read by done() through thread:get
tid = 0
sent, answered, acked, nkeys = 0, 0, 0, 0
keys, statuses = {}, {}
local n = 0

local function ident(i)
  if unique then  -- 16 hex digits, like an Alertmanager fingerprint
    return string.format("%s%02x%08x%02x", prefix, tid, n, i)
  end
  return string.format("d0d0d0d0d0d0d0%02x", i)
end

local function am_alert(id)
  return string.format('{"labels":{"alertname":"BenchAlert","severity":"critical","instance":"host-%s:9100",'
    .. '"job":"bench"},"annotations":{"summary":"Bench alert %s"},"startsAt":"%s",'
    .. '"generatorURL":"http://prometheus.bench:9090/graph?g0.expr=up"}', id, id, starts)
end

local function hook_alert(id)
  return string.format('{"status":"firing","labels":{"alertname":"BenchAlert","severity":"critical",'
    .. '"instance":"host-%s:9100","job":"bench"},"annotations":{"summary":"Bench alert %s"},"startsAt":"%s",'
    .. '"endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.bench:9090/graph?g0.expr=up",'
    .. '"fingerprint":"%s"}', id, id, starts, id)
end

local hook_head = '{"receiver":"tocsin","status":"firing","alerts":['
local hook_tail = '],"groupLabels":{"alertname":"BenchAlert"},"commonLabels":{"alertname":"BenchAlert",'
  .. '"job":"bench","severity":"critical"},"commonAnnotations":{},"externalURL":"http://alertmanager.bench:9093",'
  .. '"version":"4","groupKey":"{}:{alertname=\\"BenchAlert\\"}","truncatedAlerts":0}'

local function pd_event(id)
  return string.format('{"routing_key":"%s","event_action":"trigger","dedup_key":"%s","payload":{'
    .. '"summary":"Bench alert %s","source":"host-%s:9100","severity":"critical","component":"bench",'
    .. '"custom_details":{"alertname":"BenchAlert","job":"bench"}}}', routing_key, id, id, id)
end

function request()
  n = n + 1
  sent = sent + 1
  local body
  if mode == "pd" then
    body = pd_event(ident(0))
  else
    local parts = {}
    for i = 1, per do
      parts[i] = (mode == "am") and am_alert(ident(i)) or hook_alert(ident(i))
    end
    local list = table.concat(parts, ",")
    if mode == "am" then body = "[" .. list .. "]" else body = hook_head .. list .. hook_tail end
  end
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  answered = answered + 1
  local s = tostring(status)
  statuses[s] = (statuses[s] or 0) + 1
  if status >= 200 and status < 300 then
    acked = acked + 1
    if collect then
      for k in string.gmatch(body, '"dedup_key":"([^"]*)"') do
        nkeys = nkeys + 1
        keys[nkeys] = k
      end
    end
  end
end

function done(summary, latency, requests)
  local f = assert(io.open(out_path, "w"))
  local total = {sent = 0, answered = 0, acked = 0}
  local codes = {}
  for _, t in ipairs(threads) do
    for name, _ in pairs(total) do total[name] = total[name] + t:get(name) end
    for code, count in pairs(t:get("statuses")) do codes[code] = (codes[code] or 0) + count end
    for _, k in ipairs(t:get("keys")) do f:write("key ", k, "\n") end
  end
  for name, value in pairs(total) do f:write(name, " ", value, "\n") end
  for code, count in pairs(codes) do f:write("status_", code, " ", count, "\n") end
  f:write("requests ", summary.requests, "\n", "duration_us ", summary.duration, "\n")
  for name, value in pairs(summary.errors) do f:write("error_", name, " ", value, "\n") end
  f:write("p50_us ", latency:percentile(50), "\n", "p99_us ", latency:percentile(99), "\n")
  f:close()
end
"""


# --- measurement helpers -----------------------------------------------------------------------

@dataclass
class Scenario:
    name: str
    per_request: int
    unique: bool


SCENARIOS = [Scenario("new-1", 1, True), Scenario("new-100", 100, True), Scenario("dup-1", 1, False),
             Scenario("dup-100", 100, False)]


@dataclass
class WrkRun:
    sent: int = 0
    answered: int = 0
    acked: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: dict[str, int] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    gen_cpu: float = 0.0  # cores used by wrk

    @property
    def in_flight(self) -> int:
        return self.sent - self.answered


@dataclass
class Row:
    scenario: str
    system: str
    alerts_per_s: float
    p50_ms: float
    p99_ms: float
    rss_mb: float
    srv_cpu: float
    gen_cpu: float
    check: str = ""
    ok: bool = True
    lag_p50_ms: float | None = None  # apply lag (2xx -> alert stored), tocsin only
    lag_p99_ms: float | None = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (`tocsin serve --workers N` runs N worker processes)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants (all their threads) so far."""
    total = 0.0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _status_mb(pid: int, field: str) -> float:
    """The sum of one /proc/<pid>/status size field (kB) over a process and its descendants, in MiB."""
    total = 0.0
    for p in process_tree(pid):
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:
            continue
        total += next((int(line.split()[1]) / 1024 for line in lines if line.startswith(f"{field}:")), 0.0)
    return total


def peak_rss_mb(pid: int) -> float:
    """The sum of the peak resident sizes of a process and its descendants."""
    return _status_mb(pid, "VmHWM")


def run_wrk(url: str, seconds: int, connections: int, workdir: Path, *, mode: str, scenario: Scenario,
            routing_key: str = "", collect: bool = False) -> WrkRun:
    script = workdir / "ingest.lua"
    script.write_text(LUA)
    out = workdir / f"wrk-{secrets.token_hex(4)}.out"
    env = {**os.environ, "BENCH_MODE": mode, "BENCH_PER": str(scenario.per_request),
           "BENCH_UNIQUE": "1" if scenario.unique else "0", "BENCH_PREFIX": secrets.token_hex(2),
           "BENCH_KEY": routing_key, "BENCH_COLLECT": "1" if collect else "0", "BENCH_OUT": str(out)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", str(script),
                           url], env=env, capture_output=True, text=True, timeout=seconds + 120, check=False)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    run = WrkRun(gen_cpu=(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / wall)
    for line in out.read_text().splitlines():
        name, value = line.split(" ", 1)
        if name == "key":
            run.keys.append(value)
        elif name.startswith("status_"):
            run.statuses[name[7:]] += int(value)
        elif name.startswith("error_"):
            run.errors[name[6:]] = int(value)
        elif name in ("sent", "answered", "acked"):
            setattr(run, name, int(value))
        elif name == "duration_us":
            run.seconds = int(value) / 1e6
        elif name == "p50_us":
            run.p50_ms = float(value) / 1000
        elif name == "p99_us":
            run.p99_ms = float(value) / 1000
    out.unlink()
    return run


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited {proc.returncode}:\n{log.read_text()[-5000:]}")
        try:
            if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {READY_TIMEOUT:.0f}s:\n{log.read_text()[-5000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_") and not k.lower().endswith("_proxy")}


# --- the servers -------------------------------------------------------------------------------

AM_CONFIG = """\
route:
  receiver: blackhole
  group_by: [alertname]
receivers:
  - name: blackhole
"""


@dataclass
class Target:
    url: str
    pid: int
    routing_key: str = ""
    database_url: str = ""
    integration_id: str = ""
    measured_since: datetime = datetime.min.replace(tzinfo=UTC)  # when the measured run started


@contextmanager
def alertmanager(workdir: Path) -> Iterator[Target]:
    workdir.mkdir(parents=True)
    (workdir / "am.yml").write_text(AM_CONFIG)
    port, log = free_port(), workdir / "alertmanager.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([shutil.which("prometheus-alertmanager") or "prometheus-alertmanager",
                                 f"--config.file={workdir / 'am.yml'}", f"--storage.path={workdir}",
                                 f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                                stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir)
    try:
        wait_ready(f"http://127.0.0.1:{port}/-/ready", proc, log)
        yield Target(f"http://127.0.0.1:{port}", proc.pid)
    finally:
        stop(proc)


def _pg_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """A new, migrated tocsin database; a PostgreSQL one is dropped afterwards."""
    from tocsin.db.migrate import upgrade

    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'tocsin.db'}"
        upgrade(url)
        yield url
        return
    name = f"tocsin_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def admin_token(url: str, data_dir: Path) -> str:
    """An admin's API token, made directly in the database; audited with the key the server will
    use (`data_dir/audit_key`, created here first), so the audit chain verifies."""
    from tocsin.audit.service import configure_key
    from tocsin.clock import SystemClock
    from tocsin.config import kept_secret
    from tocsin.db import Database
    from tocsin.principal import OrgRole, Principal
    from tocsin.users.service import create_token, create_user

    configure_key(kept_secret(data_dir / "audit_key"))
    db, now, actor = Database(url), SystemClock().now(), Principal.system("bench")
    try:
        with db.unit_of_work() as s:
            user = create_user(s, actor=actor, now=now, email="bench@example.test", name="Bench", org_role=OrgRole.admin)
            return create_token(s, actor=actor, now=now, user=user, name="bench")[1]
    finally:
        db.dispose()


@contextmanager
def tocsin(backend: str, workdir: Path, kind: str, workers: int = 1) -> Iterator[Target]:
    """`tocsin serve` on a fresh database with a service and one integration of `kind`."""
    workdir.mkdir(parents=True)
    with database(backend, workdir) as url:
        token = admin_token(url, workdir / "data")
        port, log = free_port(), workdir / "tocsin.log"
        env = {**clean_env(), "TOCSIN_DATABASE_URL": url, "TOCSIN_DATA_DIR": str(workdir / "data"),
               "TOCSIN_LOG_LEVEL": "warning"}
        with log.open("wb") as fh:
            proc = subprocess.Popen([str(TOCSIN), "serve", "--host", "127.0.0.1", "--port", str(port),
                                     "--workers", str(workers)], env=env,
                                    stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(f"{base}/readyz", proc, log)
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, trust_env=False,
                              timeout=30) as api:
                r = api.post("/api/v1/services", json={"name": "Bench", "slug": "bench", "tier": 1})
                r.raise_for_status()
                r = api.post("/api/v1/integrations", json={"service": "bench", "type": kind, "name": "bench"})
                r.raise_for_status()
            yield Target(base, proc.pid, r.json()["key"], url, r.json()["id"])
        finally:
            stop(proc)
            errors = [line for line in log.read_text(errors="replace").splitlines() if "Traceback" in line
                      or " ERROR" in line or line.startswith("ERROR")]
            if errors:
                print(f"  note: tocsin logged errors ({len(errors)} lines), see {log}: {errors[0]}")


# --- correctness -------------------------------------------------------------------------------

def settle(database_url: str, integration_id: str) -> None:
    """Wait until tocsin has journaled what was still in flight when wrk stopped, and applied the journal."""
    from tocsin.alerts.models import AlertEvent, IngestJournal

    engine = sa.create_engine(database_url)
    try:
        last = -1
        for _ in range(400):
            with engine.connect() as conn:
                count = conn.execute(sa.select(sa.func.count()).select_from(AlertEvent).where(
                    AlertEvent.integration_id == uuid.UUID(integration_id))).scalar_one()
                journal = conn.execute(sa.select(sa.func.count()).select_from(IngestJournal)).scalar_one()
            if count == last and journal == 0:
                return
            last = count
            time.sleep(0.3)
    finally:
        engine.dispose()


def apply_lag(database_url: str, integration_id: str, since: datetime) -> tuple[float, float] | None:
    """p50 and p99 of the apply lag (accepted -> applied, ms) of the events accepted since `since`."""
    from tocsin.alerts.models import AlertEvent

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(AlertEvent.received_at, AlertEvent.applied_at).where(
                AlertEvent.integration_id == uuid.UUID(integration_id), AlertEvent.received_at >= since,
                AlertEvent.applied_at.is_not(None))).all()
    finally:
        engine.dispose()
    lags = sorted((applied - received).total_seconds() * 1000 for received, applied in rows)
    if not lags:
        return None
    return lags[len(lags) // 2], lags[min(len(lags) - 1, int(len(lags) * 0.99))]


def check(target: Target, scenario: Scenario, runs: list[WrkRun]) -> tuple[bool, str]:
    """Compare what tocsin stored with what its answers acknowledged (see the module docstring)."""
    settle(target.database_url, target.integration_id)
    in_flight = sum(r.in_flight for r in runs) * scenario.per_request
    acked_alerts = sum(r.acked for r in runs) * scenario.per_request
    from tocsin.alerts.models import Alert

    engine = sa.create_engine(target.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(Alert.dedup_key, Alert.occurrences).where(
                Alert.integration_id == uuid.UUID(target.integration_id))).all()
    finally:
        engine.dispose()
    keys = Counter(r.dedup_key for r in rows)
    if scenario.unique:
        acked_keys = [k for r in runs for k in r.keys]
        missing = set(acked_keys) - set(keys)
        doubled = [k for k, n in keys.items() if n > 1]
        extra = len(keys) - len(set(acked_keys))
        ok = (not missing and not doubled and len(acked_keys) == acked_alerts == len(set(acked_keys))
              and 0 <= extra <= in_flight)
        text = (f"stored {len(rows)} = acknowledged {acked_alerts} + {extra} of {in_flight} in flight"
                + (f"; {len(missing)} acknowledged keys missing" if missing else "")
                + (f"; {len(doubled)} keys stored twice" if doubled else ""))
        return ok, text
    distinct = scenario.per_request
    occurrences = sum(r.occurrences for r in rows)
    extra = occurrences - acked_alerts
    ok = len(rows) == distinct and len(keys) == distinct and 0 <= extra <= in_flight
    return ok, (f"{len(rows)} alerts (want {distinct}); occurrences {occurrences} = acknowledged {acked_alerts}"
                f" + {extra} of {in_flight} in flight")


# --- driving -----------------------------------------------------------------------------------

def measure(target: Target, path: str, mode: str, scenario: Scenario, args: argparse.Namespace, workdir: Path,
            *, collect: bool) -> tuple[list[WrkRun], WrkRun, float]:
    """Warm up, then measure; return (all runs, the measured run, server CPU in cores)."""
    url = target.url + path
    warm = run_wrk(url, WARMUP_SECONDS, args.connections, workdir, mode=mode, scenario=scenario,
                   routing_key=target.routing_key, collect=collect)
    # Requests in flight when the warm-up stopped are still being applied: let that finish, so
    # the measured run is not charged for work it does not count.
    if target.database_url:
        settle(target.database_url, target.integration_id)
    else:
        time.sleep(0.5)
    cpu0, t0 = cpu_seconds(target.pid), time.monotonic()
    target.measured_since = datetime.now(UTC)
    run = run_wrk(url, args.seconds, args.connections, workdir, mode=mode, scenario=scenario,
                  routing_key=target.routing_key, collect=collect)
    srv_cpu = (cpu_seconds(target.pid) - cpu0) / (time.monotonic() - t0)
    return [warm, run], run, srv_cpu


def row(scenario: Scenario, system: str, run: WrkRun, rss: float, srv_cpu: float) -> Row:
    bad = {code: n for code, n in run.statuses.items() if not code.startswith("2")}
    errors = {k: v for k, v in run.errors.items() if v and k != "status"}
    r = Row(scenario.name, system, run.acked * scenario.per_request / run.seconds, run.p50_ms, run.p99_ms, rss,
            srv_cpu, run.gen_cpu)
    if bad or errors:
        r.ok, r.check = False, f"non-2xx answers {bad}, wrk errors {errors}"
    return r


# --- the sustained run (--sustained SECONDS) ---------------------------------------------------
#
# Storage and memory over time rather than peak speed: one `tocsin serve` (engine on, so the
# retention job runs with its default settings) gets a steady open-loop load for the whole run.
# Every request is an Alertmanager webhook body with --sustained-batch new firing alerts and the
# resolves of the alerts the same thread fired one request earlier, so alerts open and close as
# in production and the open set stays small. The generator is Python threads pacing their
# requests (wrk has no fixed-rate mode); a thread that falls more than one period behind counts
# as `behind`, which means the server did not keep up. Every SAMPLE_SECONDS a line shows the
# rates, the server's RSS (VmRSS summed over its processes) and the database's size (SQLite: the
# file and its WAL; PostgreSQL: pg_database_size). Retention keeps days, so a 10-minute run shows
# what the retention job costs while it finds nothing old enough, not pruning itself (the tests in
# tests/scenarios/test_retention.py show that); `bytes/alert` and the size of a million alerts are
# what docs/operations.md sizes disks with.

SAMPLE_SECONDS = 10
SUSTAINED_THREADS = 8


def rss_now_mb(pid: int) -> float:
    """The current resident size of a process and its descendants (VmRSS), in MiB."""
    return _status_mb(pid, "VmRSS")


def database_mb(url: str) -> float:
    """The database's size on disk in MiB: SQLite's file plus its WAL, or PostgreSQL's pg_database_size."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        path = Path(u.database or "")
        return sum(f.stat().st_size for f in (path, path.with_name(path.name + "-wal")) if f.exists()) / 2**20
    with psycopg.connect(_pg_conninfo(url)) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return (row[0] if row else 0) / 2**20


def _hook_body(prefix: str, firing: range, resolving: range) -> dict[str, object]:
    starts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def alert(n: int, status: str) -> dict[str, object]:
        ident = f"{prefix}{n:010x}"
        return {"status": status, "labels": {"alertname": "BenchSteady", "instance": f"host-{ident}:9100",
                                             "severity": "warning", "job": "bench"},
                "annotations": {"summary": f"steady alert {ident}"}, "startsAt": starts,
                "endsAt": starts if status == "resolved" else "0001-01-01T00:00:00Z", "fingerprint": ident}

    alerts = [alert(n, "firing") for n in firing] + [alert(n, "resolved") for n in resolving]
    return {"receiver": "tocsin", "status": "firing", "alerts": alerts, "version": "4",
            "groupLabels": {"alertname": "BenchSteady"}, "commonLabels": {"alertname": "BenchSteady"},
            "commonAnnotations": {}, "externalURL": "http://alertmanager.bench:9093",
            "groupKey": '{}:{alertname="BenchSteady"}'}


class Steady:
    """Open-loop load: `rate` new alerts/s to `url` in bodies of `batch` (plus the previous body's
    resolves), from SUSTAINED_THREADS threads, until `stop`."""

    def __init__(self, url: str, rate: float, batch: int) -> None:
        self.url, self.rate, self.batch = url, rate, batch
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.tally = {"fired": 0, "events": 0, "errors": 0, "behind": 0}
        self.threads = [threading.Thread(target=self._worker, args=(w,), daemon=True)
                        for w in range(SUSTAINED_THREADS)]

    def start(self) -> None:
        self.started = time.monotonic()
        for t in self.threads:
            t.start()

    def stop(self) -> None:
        self.stop_flag.set()
        for t in self.threads:
            t.join()

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.tally)

    def _worker(self, w: int) -> None:
        period = SUSTAINED_THREADS * self.batch / self.rate
        prefix = f"{secrets.token_hex(2)}{w:02x}"
        due, n = self.started + w * period / SUSTAINED_THREADS, 0
        with httpx.Client(timeout=30, trust_env=False) as http:
            while not self.stop_flag.is_set():
                wait = due - time.monotonic()
                if wait > 0:
                    if self.stop_flag.wait(wait):
                        break
                elif wait < -period:
                    with self.lock:
                        self.tally["behind"] += 1
                due += period
                body = _hook_body(prefix, range(n, n + self.batch), range(max(n - self.batch, 0), n))
                events = self.batch + min(n, self.batch)  # the new alerts and the previous body's resolves
                n += self.batch
                try:
                    ok = http.post(self.url, json=body).status_code // 100 == 2
                except httpx.HTTPError:
                    ok = False
                with self.lock:
                    if ok:
                        self.tally["fired"] += self.batch
                        self.tally["events"] += events
                    else:
                        self.tally["errors"] += 1


def sustained(backend: str, args: argparse.Namespace, root: Path) -> bool:
    """The sustained run on one backend (see above); return whether every request was acknowledged."""
    from tocsin.config import Settings

    print(f"sustained run, {backend}: {args.sustained_rate:,.0f} new alerts/s (+ as many resolves) in bodies of "
          f"{args.sustained_batch}, {args.sustained} s, retention defaults "
          f"(alerts {Settings().retention_alert_days} d)", flush=True)
    with tocsin(backend, root / f"sustained-{backend}", "alertmanager") as target:
        url = f"{target.url}/integrations/alertmanager/{target.routing_key}"
        rss0, db0 = rss_now_mb(target.pid), database_mb(target.database_url)
        print(f"  start: RSS {rss0:.0f} MB, database {db0:.1f} MB", flush=True)
        print(f"  {'s':>5}  {'alerts/s':>9}  {'events/s':>9}  {'RSS MB':>7}  {'DB MB':>8}  errors  behind")
        load = Steady(url, args.sustained_rate, args.sustained_batch)
        cpu0 = cpu_seconds(target.pid)
        load.start()
        last, last_at = load.snapshot(), load.started
        end = load.started + args.sustained
        while (now := time.monotonic()) < end:
            time.sleep(min(SAMPLE_SECONDS, end - now))
            t, at = load.snapshot(), time.monotonic()
            span = at - last_at
            print(f"  {at - load.started:5.0f}  {(t['fired'] - last['fired']) / span:9,.0f}  "
                  f"{(t['events'] - last['events']) / span:9,.0f}  {rss_now_mb(target.pid):7.0f}  "
                  f"{database_mb(target.database_url):8.1f}  {t['errors']:6}  {t['behind']:6}", flush=True)
            last, last_at = t, at
        load.stop()
        seconds = time.monotonic() - load.started
        srv_cpu = (cpu_seconds(target.pid) - cpu0) / seconds
        settle(target.database_url, target.integration_id)
        total = load.snapshot()
        rss1, peak, db1 = rss_now_mb(target.pid), peak_rss_mb(target.pid), database_mb(target.database_url)
    per_alert = (db1 - db0) * 2**20 / total["fired"] if total["fired"] else 0.0
    days = Settings().retention_alert_days
    print(f"  end:   RSS {rss1:.0f} MB (peak {peak:.0f} MB), database {db1:.1f} MB")
    print(f"  over the run: {total['fired'] / seconds:,.0f} alerts/s ({total['events'] / seconds:,.0f} events/s) "
          f"for {args.sustained_rate:,.0f} offered, srv CPU {srv_cpu:.2f} cores, {total['errors']} failed requests, "
          f"{total['behind']} times behind; database +{db1 - db0:.1f} MB = {per_alert:,.0f} bytes/alert "
          f"(fired and resolved), about {per_alert * 1e6 / 2**30:.1f} GiB per million alerts kept "
          f"({days} days by default)", flush=True)
    return total["errors"] == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="measured seconds per run (after a 1 s warm-up)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections")
    parser.add_argument("--scenario", action="append", choices=[s.name for s in SCENARIOS],
                        help="run only these scenarios (repeatable)")
    parser.add_argument("--workers", type=int, action="append",
                        help="tocsin server processes (repeatable: one row each; default 1)")
    parser.add_argument("--sustained", type=int, default=0, metavar="SECONDS",
                        help="run only the sustained run, this long (the issue's is 600); default off")
    parser.add_argument("--sustained-rate", type=float, default=1000.0, help="new alerts/s in the sustained run")
    parser.add_argument("--sustained-batch", type=int, default=10, help="new alerts per request in the sustained run")
    args = parser.parse_args()
    if args.sustained:
        backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
        with tempfile.TemporaryDirectory(prefix="tocsin-bench-") as tmp:
            return 0 if all([sustained(b, args, Path(tmp)) for b in backends]) else 1
    args.workers = args.workers or [1]
    for tool in ("wrk", "prometheus-alertmanager"):
        if shutil.which(tool) is None:
            print(f"{tool} is not on PATH (Debian: apt-get install -y {tool})", file=sys.stderr)
            return 2
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    scenarios = [s for s in SCENARIOS if not args.scenario or s.name in args.scenario]

    print(header(backends))
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-") as tmp:
        root = Path(tmp)
        for scenario in scenarios:
            with alertmanager(root / f"am-{scenario.name}") as am:
                _all, run, srv_cpu = measure(am, "/api/v2/alerts", "am", scenario, args, root, collect=False)
                am_row = row(scenario, "alertmanager", run, peak_rss_mb(am.pid), srv_cpu)
            rows.append(am_row)
            print_row(am_row, None)
            kinds = [("alertmanager", "webhook", "/integrations/alertmanager/{key}")]
            if scenario.per_request == 1:
                kinds.append(("events_v2", "events_v2", "/v2/enqueue"))
            for backend in backends:
                for (kind, label, path), workers in [(k, w) for k in kinds for w in args.workers]:
                    if workers > 1:
                        label = f"{label} x{workers}"
                    workdir = root / f"tocsin-{scenario.name}-{backend}-{label.replace(' ', '')}"
                    with tocsin(backend, workdir, kind, workers) as target:
                        runs, run, srv_cpu = measure(target, path.format(key=target.routing_key),
                                                     "webhook" if kind == "alertmanager" else "pd", scenario, args,
                                                     root, collect=scenario.unique)
                        rss = peak_rss_mb(target.pid)
                        r = row(scenario, f"tocsin {backend} {label}", run, rss, srv_cpu)
                        ok, text = check(target, scenario, runs)
                        lag = apply_lag(target.database_url, target.integration_id, target.measured_since)
                        if lag is not None:
                            r.lag_p50_ms, r.lag_p99_ms = lag
                        r.ok, r.check = r.ok and ok, (r.check + "; " if r.check else "") + text
                    rows.append(r)
                    print_row(r, am_row)

    print()
    print(table(rows))
    failed = [r for r in rows if not r.ok]
    print(f"\ncorrectness: {'FAIL' if failed else 'ok'} ({len(rows) - len(failed)} of {len(rows)} runs passed)")
    return 1 if failed else 0


# --- output ------------------------------------------------------------------------------------

def header(backends: list[str]) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    am = subprocess.run(["prometheus-alertmanager", "--version"], capture_output=True, text=True, check=False)
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    from tocsin import __version__

    lines = [
        f"date      {datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%S')} UTC",
        f"machine   {cpu}, {os.cpu_count()} cores, {mem} MiB RAM, {platform.system()} {platform.release()}",
        (f"software  tocsin {__version__} (Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}), "
         f"{(am.stdout or am.stderr).splitlines()[0]}, {(wrk.stdout or wrk.stderr).splitlines()[0].split(' [')[0]}"),
    ]
    if "postgresql" in backends:
        with psycopg.connect(_pg_conninfo(PG_ADMIN_URL)) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
            sync = conn.execute("SHOW synchronous_commit").fetchone()[0]  # type: ignore[index]
            fsync = conn.execute("SHOW fsync").fetchone()[0]  # type: ignore[index]
        lines.append(f"postgres  {version} on 127.0.0.1 (fsync={fsync}, synchronous_commit={sync})")
    return "\n".join(lines) + "\n"


COLUMNS = ("scenario", "system", "alerts/s", "x AM", "p50 ms", "p99 ms", "lag p50 ms", "lag p99 ms", "peak RSS MB",
           "srv CPU", "gen CPU")


def cells(r: Row, am: Row | None) -> list[str]:
    ratio = f"{r.alerts_per_s / am.alerts_per_s:.2f}" if am and am.alerts_per_s else ""
    return [r.scenario, r.system, f"{r.alerts_per_s:,.0f}", ratio, f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}",
            "" if r.lag_p50_ms is None else f"{r.lag_p50_ms:.0f}", "" if r.lag_p99_ms is None else f"{r.lag_p99_ms:.0f}",
            f"{r.rss_mb:.0f}", f"{r.srv_cpu:.2f}", f"{r.gen_cpu:.2f}"]


def print_row(r: Row, am: Row | None) -> None:
    print("  " + "  ".join(cells(r, am)) + (f"  [{'ok' if r.ok else 'FAIL'}: {r.check}]" if r.check else ""),
          flush=True)


def table(rows: list[Row]) -> str:
    am_by = {r.scenario: r for r in rows if r.system == "alertmanager"}
    body = [cells(r, None if r.system == "alertmanager" else am_by.get(r.scenario)) for r in rows]
    widths = [max(len(c) for c in col) for col in zip(COLUMNS, *body, strict=True)]
    right = {2, 3, 4, 5, 6, 7, 8, 9, 10}

    def fmt(values: list[str] | tuple[str, ...]) -> str:
        return "| " + " | ".join(v.rjust(w) if i in right else v.ljust(w)
                                 for i, (v, w) in enumerate(zip(values, widths, strict=True))) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    out = [fmt(COLUMNS), sep, *(fmt(b) for b in body)]
    checks = [f"- {r.scenario} {r.system}: {'ok' if r.ok else 'FAIL'} — {r.check}" for r in rows if r.check]
    return "\n".join(out) + ("\n\nchecks:\n" + "\n".join(checks) if checks else "")


if __name__ == "__main__":
    sys.exit(main())

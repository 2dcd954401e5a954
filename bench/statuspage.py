"""Status page serving: tocsin's in-memory fast path against nginx serving the same bytes.

    .venv/bin/python bench/statuspage.py [--seconds 10] [--connections 50] [--threads 2] [--workers 1]

Needs nginx (Debian `nginx`, /usr/sbin/nginx) and wrk (/usr/bin/wrk).

What runs, all on loopback in a temp directory:

  * a SQLite database seeded with a realistic page: 4 groups and 16 components with 90-day
    uptime bars, an open incident, a scheduled maintenance and a fortnight of past incidents
    (about 20 KB of HTML);
  * `tocsin serve` as an operator runs it (engine on, log level warning, --workers N);
  * `tocsin statuspage export` of that page, served by nginx (same --workers N worker
    processes, the configuration from docs/status-page-hosting.md: try_files, the same
    caching and security headers, sendfile);
  * while every measurement runs, a background thread posts a public incident update every
    --update-every seconds (0.5) through tocsin's API (cycles of open, identified, monitoring,
    resolved, so the page keeps its size), so tocsin re-renders the page twice a second (off
    the request path) while serving it; after each, the thread copies tocsin's new index and
    summary.json into nginx's directory (publish-on-change), so nginx serves the same bytes.

Load: wrk, closed loop, --threads threads and --connections keep-alive connections for
--seconds after a 2 s warm-up that is not counted, against four URLs: tocsin's HTML index,
tocsin's api/v2/summary.json, and the same two files from nginx. Reported: requests/s, wrk's
p50 and p99 latency, and tocsin's rate over nginx's for the same file (`x nginx`). The targets
are at least 0.5x nginx and a p99 under 10 ms for tocsin; a miss prints MISS.

Checks: before the load, the nginx copy of summary.json must be byte-identical to tocsin's,
and after it tocsin's incidents.json must show the last posted update (the cache kept up).
Non-2xx answers or socket errors print FAIL and make the exit status 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import TOCSIN, clean_env, free_port, stop, wait_ready  # noqa: E402  (the sibling benchmark's helpers)

NGINX = "/usr/sbin/nginx"
WRK = "/usr/bin/wrk"
SLUG = "acme"
WARMUP_SECONDS = 2
TARGET_RATIO, TARGET_P99_MS = 0.5, 10.0
PUBLIC_URL = "https://tocsin.acme.example"  # the same for the server and the export: same links, same bytes


# --- the page ------------------------------------------------------------------------------------

GROUPS = {"Platform": ["API", "Web app", "Mobile API", "Webhooks"],
          "Payments": ["Card payments", "Bank transfers", "Invoices", "Refunds"],
          "Data": ["Search", "Reports", "Exports", "Analytics"],
          "Infrastructure": ["EU region", "US region", "CDN", "DNS"]}


def seed(url: str, data_dir: Path) -> tuple[str, str]:
    """Create the page and an admin token; return (token, id of the open public incident). Audited with
    the key the server will use (`data_dir/audit_key`, created here first), so the audit chain verifies."""
    from tocsin.audit.service import configure_key
    from tocsin.clock import SystemClock
    from tocsin.config import kept_secret
    from tocsin.db import Database
    from tocsin.principal import OrgRole, Principal
    from tocsin.statuspage import service
    from tocsin.statuspage.incidents import post_incident_update
    from tocsin.users.service import create_token, create_user

    configure_key(kept_secret(data_dir / "audit_key"))
    db, now, actor = Database(url), SystemClock().now(), Principal.system("bench")
    try:
        with db.unit_of_work() as s:
            user = create_user(s, actor=actor, now=now, email="bench@example.test", name="Bench",
                               org_role=OrgRole.admin)
            token = create_token(s, actor=actor, now=now, user=user, name="bench")[1]
            page = service.create_page(s, actor=actor, now=now - timedelta(days=120), slug=SLUG, name="Acme Cloud",
                                       description="Live status of the Acme Cloud services.",
                                       time_zone="Europe/Berlin", logo_url="https://cdn.example.com/acme.png")
            comps = []
            for group_name, names in GROUPS.items():
                group = service.create_component(s, actor=actor, now=now - timedelta(days=120), page=page,
                                                 name=group_name, is_group=True)
                for name in names:
                    comps.append(service.create_component(s, actor=actor, now=now - timedelta(days=120), page=page,
                                                          name=name, group=group,
                                                          description=f"{name} for all customers"))
            for n in range(8):  # a fortnight of past incidents, each with an outage on one component
                at = now - timedelta(days=13 - n, hours=n)
                comp = comps[(n * 5) % len(comps)]
                inc = post_incident_update(s, actor=actor, now=at, page=page, name=f"Elevated errors on {comp.name}",
                                           status="investigating", body="We are investigating elevated error rates.",
                                           component_statuses={comp.id: "partial_outage" if n % 2 else "major_outage"})
                post_incident_update(s, actor=actor, now=at + timedelta(minutes=20), page=page, status_incident=inc,
                                     status="identified", body="The cause is a faulty deploy; rolling back.")
                post_incident_update(s, actor=actor, now=at + timedelta(minutes=50), page=page, status_incident=inc,
                                     status="resolved", body="Error rates are back to normal.")
            current = post_incident_update(s, actor=actor, now=now - timedelta(minutes=30), page=page,
                                           name="Slow card payments", status="identified",
                                           body="Card payments take longer than usual. We have found the cause.",
                                           component_statuses={comps[4].id: "degraded_performance"})
            service.schedule_maintenance(s, actor=actor, now=now, page=page, name="Database upgrade",
                                         body="Reports may be unavailable for up to 30 minutes.",
                                         scheduled_for=now + timedelta(days=2),
                                         scheduled_until=now + timedelta(days=2, hours=1),
                                         component_ids=[comps[9].id])
            return token, str(current.id)
    finally:
        db.dispose()


# --- the servers ---------------------------------------------------------------------------------

@dataclass
class Server:
    name: str
    base: str
    pid: int


@contextmanager
def tocsin(workdir: Path, url: str, workers: int) -> Iterator[Server]:
    port, log = free_port(), workdir / "tocsin.log"
    env = {**clean_env(), "TOCSIN_DATABASE_URL": url, "TOCSIN_DATA_DIR": str(workdir / "data"),
           "TOCSIN_LOG_LEVEL": "warning", "TOCSIN_PUBLIC_URL": PUBLIC_URL}
    with log.open("wb") as fh:
        proc = subprocess.Popen([str(TOCSIN), "serve", "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", str(workers)], env=env, stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/status/{SLUG}/api/v2/status.json", proc, log)
        yield Server("tocsin", base, proc.pid)
    finally:
        stop(proc)
        errors = [line for line in log.read_text(errors="replace").splitlines() if "Traceback" in line
                  or " ERROR" in line or line.startswith("ERROR")]
        if errors:
            print(f"  note: tocsin logged errors ({len(errors)} lines), see {log}: {errors[0]}")


@contextmanager
def nginx(workdir: Path, www: Path, workers: int) -> Iterator[Server]:
    from tocsin.statuspage.export import nginx_config

    prefix = workdir / "nginx"
    prefix.mkdir()
    port, log = free_port(), prefix / "stderr.log"
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(root=www, port=port, prefix=prefix, workers=workers,
                                 run_as_root=os.geteuid() == 0))
    with log.open("wb") as fh:
        proc = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                                stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/status/{SLUG}/api/v2/status.json", proc, log)
        yield Server("nginx", base, proc.pid)
    finally:
        stop(proc)


# --- load ----------------------------------------------------------------------------------------

@dataclass
class Result:
    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    bytes_per_req: float
    errors: str


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def run_wrk(url: str, seconds: int, threads: int, connections: int) -> tuple[float, float, float, int, str]:
    done = subprocess.run([WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                          capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = []
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors.append(f"non-2xx {m.group(1)}")
    if m := re.search(r"Socket errors: (.*)", out):
        errors.append(f"socket errors: {m.group(1)}")
    return rps, p50, p99, requests, "; ".join(errors)


class Updater(threading.Thread):
    """Posts a public incident update every `every` seconds through tocsin's API, in cycles of
    four (open a new incident, identified, monitoring, resolved) so the page stays the same
    size, and then copies tocsin's new index and summary.json into nginx's directory (what
    publish-on-change does), so both servers always serve the same bytes."""

    def __init__(self, base: str, token: str, every: float, www: Path) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.api = f"{base}/api/v1/status-pages/{SLUG}/incidents"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.every = every
        self.www = www / "status" / SLUG
        self.stopped = threading.Event()
        self.posted = 0
        self.failed = 0
        self.last_body = ""
        self.open_id: str | None = None

    def run(self) -> None:
        with httpx.Client(trust_env=False, timeout=10) as client:
            while not self.stopped.wait(self.every):
                step = self.posted % 4
                body = f"Update {self.posted + 1} at {datetime.now(UTC):%H:%M:%S}."
                if step == 0:
                    r = client.post(self.api, headers=self.headers, json={
                        "name": f"Intermittent timeouts ({self.posted // 4 + 1})", "status": "investigating",
                        "body": body})
                    self.open_id = r.json().get("id") if r.status_code == 201 else None
                elif self.open_id:
                    status = ("identified", "monitoring", "resolved")[step - 1]
                    r = client.post(f"{self.api}/{self.open_id}/updates", headers=self.headers,
                                    json={"status": status, "body": body})
                else:
                    self.failed += 1
                    continue
                if r.status_code != 201:
                    self.failed += 1
                    continue
                self.posted += 1
                self.last_body = body
                time.sleep(0.2)  # tocsin re-renders off the request path; then publish to nginx
                for path, name in (("/", "index.html"), ("/api/v2/summary.json", "api/v2/summary.json")):
                    content = client.get(f"{self.base}/status/{SLUG}{path}").content
                    tmp = self.www / f"{name}.tmp"
                    tmp.write_bytes(content)
                    os.replace(tmp, self.www / name)


def measure(label: str, url: str, args: argparse.Namespace) -> Result:
    run_wrk(url, WARMUP_SECONDS, args.threads, args.connections)
    size = len(httpx.get(url, trust_env=False).content)
    rps, p50, p99, _n, errors = run_wrk(url, args.seconds, args.threads, args.connections)
    return Result(label, rps, p50, p99, size, errors)


# --- main ----------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="tocsin serve --workers and nginx worker_processes")
    parser.add_argument("--update-every", type=float, default=0.5)
    args = parser.parse_args()
    for tool in (NGINX, WRK):
        if not Path(tool).exists():
            print(f"missing {tool}: apt-get install -y nginx wrk", file=sys.stderr)
            return 2

    workdir = Path(tempfile.mkdtemp(prefix="tocsin-bench-status-"))
    ok = True
    try:
        url = f"sqlite:///{workdir / 'tocsin.db'}"
        from tocsin.db.migrate import upgrade

        upgrade(url)
        token, _incident = seed(url, workdir / "data")
        www = workdir / "www"
        env = {**clean_env(), "TOCSIN_DATABASE_URL": url, "TOCSIN_DATA_DIR": str(workdir / "data"),
               "TOCSIN_PUBLIC_URL": PUBLIC_URL}
        with tocsin(workdir, url, args.workers) as t:
            subprocess.run([str(TOCSIN), "statuspage", "export", str(www / "status")], env=env, check=True,
                           capture_output=True)
            with nginx(workdir, www, args.workers) as n:
                ours = httpx.get(f"{t.base}/status/{SLUG}/api/v2/summary.json", trust_env=False).content
                theirs = httpx.get(f"{n.base}/status/{SLUG}/api/v2/summary.json", trust_env=False).content
                same = "identical" if ours == theirs else "DIFFERENT"
                if ours != theirs:
                    ok = False
                html = httpx.get(f"{t.base}/status/{SLUG}/", trust_env=False).content
                print(header(args, len(html), same))
                updater = Updater(t.base, token, args.update_every, www)
                updater.start()
                results = []
                try:
                    for label, server, path in (("tocsin HTML", t, "/"), ("nginx HTML", n, "/"),
                                                ("tocsin summary.json", t, "/api/v2/summary.json"),
                                                ("nginx summary.json", n, "/api/v2/summary.json")):
                        results.append(measure(label, f"{server.base}/status/{SLUG}{path}", args))
                        print(f"  measured {label}: {results[-1].rps:,.0f} req/s", flush=True)
                finally:
                    updater.stopped.set()
                    updater.join(timeout=15)
                time.sleep(0.5)
                final = httpx.get(f"{t.base}/status/{SLUG}/api/v2/incidents.json", trust_env=False).json()
                fresh = final["incidents"][0]["incident_updates"][0]["body"] == updater.last_body
        print()
        print(table(results))
        ok = report(results, updater, fresh) and ok
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


def header(args: argparse.Namespace, html_bytes: int, same: str) -> str:
    nginx_v = subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr.strip()
    wrk_v = subprocess.run([WRK, "-v"], capture_output=True, text=True).stdout.splitlines()[0].split(" [")[0]
    import uvicorn

    return (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}, uvicorn {uvicorn.__version__}, "
            f"{nginx_v}, {wrk_v}\n"
            f"wrk -t{args.threads} -c{args.connections} -d{args.seconds}s (after {WARMUP_SECONDS} s warm-up); "
            f"workers {args.workers}; an update posted every {args.update_every} s; index {html_bytes:,} bytes; "
            f"summary.json tocsin vs nginx: {same}")


def table(results: list[Result]) -> str:
    by = {r.label: r for r in results}
    lines = ["| file | server | req/s | x nginx | p50 ms | p99 ms | bytes |",
             "|------|--------|------:|--------:|-------:|-------:|------:|"]
    for r in results:
        server, _, file = r.label.partition(" ")
        ratio = "" if server == "nginx" else f"{r.rps / by['nginx ' + file].rps:.2f}"
        lines.append(f"| {file} | {server} | {r.rps:,.0f} | {ratio} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | "
                     f"{r.bytes_per_req:,.0f} |")
    return "\n".join(lines)


def report(results: list[Result], updater: Updater, fresh: bool) -> bool:
    ok = True
    by = {r.label: r for r in results}
    for r in results:
        if r.errors:
            print(f"FAIL {r.label}: {r.errors}")
            ok = False
    for file in ("HTML", "summary.json"):
        ours, theirs = by[f"tocsin {file}"], by[f"nginx {file}"]
        ratio = ours.rps / theirs.rps
        verdict = "ok" if ratio >= TARGET_RATIO and ours.p99_ms < TARGET_P99_MS else "MISS"
        print(f"{verdict} tocsin {file}: {ratio:.2f}x nginx (target >= {TARGET_RATIO}), "
              f"p99 {ours.p99_ms:.2f} ms (target < {TARGET_P99_MS:.0f})")
    print(f"updates posted during the runs: {updater.posted} (failed {updater.failed}); "
          f"last one served afterwards: {'yes' if fresh else 'NO'}")
    if updater.failed or not fresh:
        ok = False
    return ok


if __name__ == "__main__":
    sys.exit(main())

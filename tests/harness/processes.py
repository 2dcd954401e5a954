"""Real programs a test starts as subprocesses: `tocsin serve` and Prometheus Alertmanager, with
the waiting that goes with them.

- `tocsin_env(data_dir, database_url)`: the environment for a `tocsin` process (the inherited one
  minus TOCSIN_* and proxy settings: every server here is on loopback).
- `TocsinProcess(env, log, port=None, extra=())`: `tocsin serve` on a loopback port, its output in
  `log`; `.wait_ready()`, `.client(token)`, `.stop()`, `.kill()` (SIGKILL: nothing is flushed).
- `admin_token(database_url)`: an admin user with an API token, made in this process.
- `make_stack(server, env, types)` -> `Stack`: on a started server, the service `checkout` and one
  integration of each type, with `.api()`, `.alerts()` and `.alert(id)`.
- `Alertmanager(workdir, config)`: Debian's `prometheus-alertmanager` on a loopback port.
- `wait_http_ready(url, proc, what, log_text, timeout)` and `poll(check, what=...)`: wait for a
  program, or for a condition, failing the test with what was awaited and the logs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa

from tests.harness.backends import CHEAP_PASSWORD_HASHING, TEST_EGRESS
from tests.harness.ports import free_port

TOCSIN = Path(sys.executable).parent / "tocsin"
ALERTMANAGER = "prometheus-alertmanager"
READY_TIMEOUT = 30
POLL_TIMEOUT = 30.0
SERVICE = "checkout"

T = TypeVar("T")


def wait_journal_applied(database_url: str, timeout: float = POLL_TIMEOUT) -> None:
    """Wait until the ingest journal of the database is empty: every event a server answered 2xx for
    is applied (rows are deleted in the transaction that applies them)."""
    engine = sa.create_engine(database_url)
    try:
        def empty() -> bool:
            with engine.connect() as conn:
                return conn.execute(sa.text("SELECT count(*) FROM ingest_journal")).scalar_one() == 0

        poll(empty, what="the ingest journal to be applied", timeout=timeout)
    finally:
        engine.dispose()


def wait_http_ready(url: str, proc: subprocess.Popen[bytes], what: str, log_text: Callable[[], str],
                    timeout: float) -> None:
    """Poll `url` until it answers 200; fail the test (with the log) if `proc` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited {proc.returncode}:\n{log_text()}")
        try:
            if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not ready after {timeout:.0f}s:\n{log_text()}")
        time.sleep(0.1)


def poll(check: Callable[[], T | None], *, what: str, timeout: float = POLL_TIMEOUT, interval: float = 0.2,
         explain: Callable[[], str] = lambda: "") -> T:
    """Call `check` until it returns something other than None/False; return that.

    Fails the test after `timeout` seconds, naming `what` was awaited and adding `explain()`
    (typically the last value seen and the other program's log).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{explain()}")
        time.sleep(interval)


def terminate(proc: subprocess.Popen[Any], timeout: float = 10) -> None:
    """SIGTERM `proc` if it still runs and wait for it; SIGKILL it if it does not stop within `timeout`."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def utc_iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def tocsin_env(data_dir: Path, database_url: str) -> dict[str, str]:
    """The inherited environment minus TOCSIN_* and proxy settings (every server is on loopback),
    with the tests' cheap password hashing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_") and not k.lower().endswith("_proxy")}
    env.update(CHEAP_PASSWORD_HASHING)
    env.update(TEST_EGRESS)
    env.update(TOCSIN_DATA_DIR=str(data_dir), TOCSIN_DATABASE_URL=database_url, TOCSIN_LOG_LEVEL="warning")
    return env


class TocsinProcess:
    """A `tocsin serve` subprocess on a loopback port (plus `extra` arguments); its output goes to `log`."""

    def __init__(self, env: dict[str, str], log: Path, port: int | None = None, extra: Sequence[str] = ()) -> None:
        self.env, self.log = env, log
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with log.open("ab") as fh:
            self.proc = subprocess.Popen(
                [str(TOCSIN), "serve", "--host", "127.0.0.1", "--port", str(self.port), *extra],
                env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-20_000:]

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> TocsinProcess:
        wait_http_ready(f"{self.url}/readyz", self.proc, "tocsin serve", self.log_text, timeout)
        return self

    def client(self, token: str) -> httpx.Client:
        """An HTTP client for this server's API, with `token`."""
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=10,
                            trust_env=False)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, nothing is flushed."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        terminate(self.proc)


@dataclass
class Stack:
    """A running tocsin with an admin token, the service `checkout` and its integration keys."""

    server: TocsinProcess
    env: dict[str, str]
    token: str
    service: str
    keys: dict[str, str] = field(default_factory=dict)  # integration type -> key
    integration_ids: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def api(self) -> httpx.Client:
        return self.server.client(self.token)

    def wait_applied(self) -> None:
        """Wait until what the server answered 2xx for so far is applied (a 2xx means journaled)."""
        wait_journal_applied(self.env["TOCSIN_DATABASE_URL"])

    def alerts(self, **params: Any) -> list[dict[str, Any]]:
        """Every alert of the service (all pages), newest first."""
        out: list[dict[str, Any]] = []
        cursor = None
        with self.api() as api:
            while True:
                query = {"service": self.service, "limit": 500, **params, **({"cursor": cursor} if cursor else {})}
                r = api.get("/api/v1/alerts", params=query)
                assert r.status_code == 200, r.text
                page = r.json()
                out.extend(page["items"])
                cursor = page["next_cursor"]
                if not cursor:
                    return out

    def alert(self, alert_id: str) -> dict[str, Any]:
        with self.api() as api:
            r = api.get(f"/api/v1/alerts/{alert_id}")
        assert r.status_code == 200, r.text
        return r.json()


def admin_token(database_url: str) -> str:
    """Create an admin user with an API token, as `tocsin user create --role admin --token` does.

    Done in this process rather than by running the CLI: a second Python start-up would
    compete with the server's for the CPU and add seconds to every test.
    """
    from tocsin.clock import SystemClock
    from tocsin.db import Database
    from tocsin.principal import OrgRole, Principal
    from tocsin.users.service import create_token, create_user

    db, now, actor = Database(database_url), SystemClock().now(), Principal.system("cli")
    try:
        with db.unit_of_work() as s:
            user = create_user(s, actor=actor, now=now, email="admin@example.test", name="Admin",
                               org_role=OrgRole.admin)
            return create_token(s, actor=actor, now=now, user=user, name="interop tests")[1]
    finally:
        db.dispose()


def make_stack(server: TocsinProcess, env: dict[str, str], types: tuple[str, ...]) -> Stack:
    """Create the admin user, then the service and integrations (API) on a started server."""
    token = admin_token(env["TOCSIN_DATABASE_URL"])
    assert token.startswith("tcs_"), token
    server.wait_ready()
    stack = Stack(server, env, token, SERVICE)
    with stack.api() as api:
        r = api.post("/api/v1/services", json={"name": "Checkout", "slug": SERVICE, "tier": 1,
                                                   "paging_unit": "alert"})  # the paging tests count one page per alert
        assert r.status_code == 201, r.text
        for kind in types:
            r = api.post("/api/v1/integrations", json={"service": SERVICE, "type": kind, "name": f"{kind} test"})
            assert r.status_code == 201, r.text
            stack.keys[kind] = r.json()["key"]
            stack.integration_ids[kind] = r.json()["id"]
    return stack


class Alertmanager:
    """A `prometheus-alertmanager` subprocess (no clustering) on a loopback port."""

    def __init__(self, workdir: Path, config: str) -> None:
        binary = shutil.which(ALERTMANAGER)
        if binary is None:
            pytest.fail(f"{ALERTMANAGER} is not installed; run scripts/test-deps.sh (make test does)")
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "am.yml").write_text(config)
        self.log = workdir / "alertmanager.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with self.log.open("wb") as fh:
            self.proc = subprocess.Popen(
                [binary, f"--config.file={workdir / 'am.yml'}", f"--storage.path={workdir}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=", "--log.level=debug"],
                stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-20_000:]

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> Alertmanager:
        wait_http_ready(f"{self.url}/-/ready", self.proc, "alertmanager", self.log_text, timeout)
        return self

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        r = httpx.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=10, trust_env=False)
        assert r.status_code == 200, f"{r.status_code} {r.text}\n{self.log_text()}"

    def alerts(self) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.url}/api/v2/alerts", timeout=10, trust_env=False)
        assert r.status_code == 200, r.text
        return r.json()

    def stop(self) -> None:
        terminate(self.proc)

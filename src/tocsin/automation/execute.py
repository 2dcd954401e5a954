"""Running an approved action, outside any database transaction: a command from the allow-list
(no shell, a timeout that kills its whole process group, a minimal environment, stdout and stderr
captured to a file and truncated) or a signed webhook through the egress guard (only the status is
kept: the remote's reply is never read into tocsin)."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime

import httpx
import orjson

from tocsin.automation.types import RunStatus
from tocsin.contacts.mask import mask
from tocsin.net.guard import Blocked, EgressPolicy
from tocsin.net.http import make_client
from tocsin.notify.webhook import signed_request

MAX_OUTPUT = 16 * 1024
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
       "LC_ALL": "C.UTF-8"}


@dataclass(frozen=True)
class Outcome:
    status: RunStatus
    output: str
    exit_status: int | None = None
    http_status: int | None = None


def truncate(text: str, limit: int = MAX_OUTPUT) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit} more characters not kept)"


def _exited(pid: int, deadline: float) -> bool:
    """Wait until the process `pid` has exited, without reaping it (True), or until `deadline` (False)."""
    pause = 0.001
    while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.05)
    return True


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_command(argv: list[str], *, timeout_s: int, extra_env: dict[str, str]) -> Outcome:
    """Run `argv` (no shell) in its own session; after `timeout_s` the whole process group is killed, and
    when the program exits first, whatever it left running in its group is killed with it. (A child that
    starts a session of its own escapes the group: an allow-listed command should not daemonise.)"""
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    env={**ENV, **extra_env}, start_new_session=True, close_fds=True, cwd="/")
        except OSError as exc:
            return Outcome(RunStatus.failed, f"could not start {argv[0]}: {exc.strerror or exc}")
        timed_out = not _exited(proc.pid, time.monotonic() + timeout_s)
        # the program has exited (not yet reaped, so its group id cannot be reused) or is past its timeout:
        # its group goes, with whatever it left running (a `&` child), then the program is reaped
        _kill_group(proc.pid)
        code = proc.wait()
        out.seek(0)
        raw = out.read(MAX_OUTPUT + 1)
    text = raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")  # PostgreSQL's text refuses NUL
    if len(raw) > MAX_OUTPUT:
        text = text[:MAX_OUTPUT] + "\n… (output truncated)"
    if timed_out:
        return Outcome(RunStatus.timed_out, text + f"\n(killed after {timeout_s} s)", exit_status=code)
    return Outcome(RunStatus.succeeded if code == 0 else RunStatus.failed, text, exit_status=code)


def webhook_body(*, action: str, run_id: str, incident: str, params: dict[str, object], dry_run: bool,
                 drill: bool = False) -> bytes:
    """The signed JSON; `drill` says the incident is an exercise's (drills are marked everywhere)."""
    return orjson.dumps({"action": action, "run_id": run_id, "incident": incident, "params": params,
                         "dry_run": dry_run, "drill": drill})


def post_webhook(url: str, body: bytes, *, key: str, secret: str, policy: EgressPolicy, timeout_s: int,
                 now: datetime, transport: httpx.BaseTransport | None = None) -> Outcome:
    """POST the signed `body` (notify/webhook.py's headers and signature); succeeded on 2xx. Only the
    status is recorded: the reply is never read (redirects are not followed)."""
    sent = f"POST {mask('webhook', url)} ({len(body)} bytes)"  # the path or query may carry a token
    with make_client(policy, timeout=float(timeout_s), transport=transport) as client:
        try:
            request = signed_request(client, url, key, body, secret, now)
            response = client.send(request, stream=True)
        except Blocked as exc:
            return Outcome(RunStatus.refused, f"{sent}: blocked by the egress guard: {exc.message} "
                                              "(TOCSIN_OUTBOUND_ALLOW opens ranges)")
        except httpx.TimeoutException:
            return Outcome(RunStatus.timed_out, f"{sent}: no answer within {timeout_s} s")
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            return Outcome(RunStatus.failed, f"{sent}: could not reach the receiver ({type(exc).__name__})")
        status = response.status_code
        response.close()
    ok = 200 <= status < 300
    return Outcome(RunStatus.succeeded if ok else RunStatus.failed, f"{sent}: HTTP {status}", http_status=status)

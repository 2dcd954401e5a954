"""The agent's loop: refresh assignments, run the due checks, report, back off while the server is away.

Results wait in a bounded in-memory buffer (the oldest go first when it is full: the newest say most
about now) and are posted in batches; each carries its run time, which with the check and location
identifies it, so re-posting a batch whose answer was lost counts nothing twice. A batch the server
finds too large (413: its body limit is configurable) is halved until it fits, not dropped.

Egress: probes go through the same guard as the server's. Link-local and cloud metadata addresses
(169.254.169.254 and the rest of `tocsin.net.guard.ALWAYS_DENIED`) are always refused; private,
loopback and CGNAT ranges are refused unless the agent is started with `allow_private`, because an
agent inside a network would otherwise let whoever administers checks on the server probe (and map)
that network's internal hosts; an operator who runs an agent to watch internal services opts in.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from tocsin.agent.server import Assignment, Refused, Server, ServerError
from tocsin.checks.probe import CheckSpec, ProbeResult, run_probe
from tocsin.clock import Clock, SystemClock
from tocsin.net.guard import EgressPolicy
from tocsin.net.http import make_client

log = logging.getLogger("tocsin.agent")

MAX_BUFFER = 10_000
BATCH = 500
MAX_BACKOFF = 60.0
PROBE_THREADS = 8


def iso(at: datetime) -> str:
    return at.isoformat()


class Backoff:
    """Exponential backoff with jitter: 1, 2, 4 ... MAX_BACKOFF seconds; `reset` after a success."""

    def __init__(self, first: float = 1.0, cap: float = MAX_BACKOFF, rand: Callable[[], float] = random.random
                 ) -> None:
        self.first, self.cap, self._rand, self.failures = first, cap, rand, 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.first * 2 ** self.failures)
        self.failures += 1
        return delay * (0.5 + self._rand() / 2)

    def reset(self) -> None:
        self.failures = 0


class Agent:
    def __init__(self, server: Server, *, interval: int = 60, allow_private: bool = False,
                 clock: Clock | None = None, max_buffer: int = MAX_BUFFER) -> None:
        self.server, self.interval = server, interval
        self.policy = EgressPolicy(deny_private=not allow_private)
        self.clock = clock or SystemClock()
        self.location: str | None = None
        self.assignments: dict[str, Assignment] = {}
        self.next_run: dict[str, float] = {}
        self.buffer: deque[dict[str, Any]] = deque(maxlen=max_buffer)
        self.dropped = 0  # results pushed out of a full buffer
        self._fetch_at = 0.0
        self._post_at = 0.0
        self._fetch_backoff, self._post_backoff = Backoff(), Backoff()
        self.batch = BATCH  # halved when the server finds a batch too large (413)

    # --- assignments -----------------------------------------------------------------------
    def refresh(self, now: float) -> None:
        try:
            self.location, checks = self.server.checks(self.interval)
        except (ServerError, Refused) as exc:
            delay = self._fetch_backoff.next_delay()
            log.warning("fetching checks failed (%s); next try in %.0f s", exc, delay)
            self._fetch_at = now + min(delay, self.interval)
            return
        self._fetch_backoff.reset()
        self._fetch_at = now + self.interval
        self.assignments = {c.id: c for c in checks}
        for cid in list(self.next_run):
            if cid not in self.assignments:
                del self.next_run[cid]
        for cid in self.assignments:
            self.next_run.setdefault(cid, now)  # a new check runs at once

    # --- probes ----------------------------------------------------------------------------
    def run_due(self, now: float) -> int:
        due = [self.assignments[cid] for cid, at in self.next_run.items() if at <= now and cid in self.assignments]
        if not due:
            return 0
        for a in due:
            self.next_run[a.id] = now + a.interval_seconds
        with make_client(self.policy, timeout=max(float(a.spec["timeout_seconds"]) for a in due)) as client, \
                ThreadPoolExecutor(max_workers=min(PROBE_THREADS, len(due)), thread_name_prefix="agent-probe") as pool:
            client.headers["User-Agent"] = f"{client.headers['User-Agent']} agent ({self.location})"
            for a, result in zip(due, pool.map(lambda a: self._probe(a, client), due), strict=True):
                self._buffer(a, *result)
        return len(due)

    def _probe(self, a: Assignment, client: Any) -> tuple[datetime, ProbeResult]:
        at = self.clock.now()
        try:
            spec = CheckSpec(**a.spec)
            return at, run_probe(spec, client=client, policy=self.policy, clock=self.clock)
        except ValueError as exc:
            return at, ProbeResult(ok=False, error=f"invalid check configuration: {exc}")
        except Exception as exc:  # a bug in the probe: a failure rather than a lost run
            log.exception("probe of check %s raised", a.id)
            return at, ProbeResult(ok=False, error=f"internal error: {type(exc).__name__}")

    def _buffer(self, a: Assignment, at: datetime, r: ProbeResult) -> None:
        if len(self.buffer) == self.buffer.maxlen:
            self.dropped += 1
        self.buffer.append({"check_id": a.id, "at": iso(at), "ok": r.ok, "latency_ms": r.latency_ms,
                            "status_code": r.status_code, "error": r.error,
                            "tls_expires_at": iso(r.tls_expires_at) if r.tls_expires_at else None})

    # --- reports ---------------------------------------------------------------------------
    def flush(self, now: float) -> bool:
        """Post buffered results in batches; False when the server is away (they stay buffered)."""
        while self.buffer:
            batch = list(self.buffer)[:self.batch]
            try:
                answer = self.server.report(batch)
            except ServerError as exc:
                delay = self._post_backoff.next_delay()
                log.warning("reporting %d results failed (%s); %d buffered, next try in %.0f s",
                            len(batch), exc, len(self.buffer), delay)
                self._post_at = now + delay
                return False
            except Refused as exc:
                self._post_backoff.reset()
                foreign = set(exc.details.get("check_ids") or []) if exc.status == 403 else set()
                if foreign:  # checks taken away from this location: drop theirs, keep the rest
                    log.warning("the server refused results of %d checks no longer assigned here", len(foreign))
                    self._discard(foreign)
                    self._fetch_at = now
                    continue
                if exc.status == 413 and len(batch) > 1:  # the server's body limit: smaller batches, nothing lost
                    self.batch = max(1, len(batch) // 2)
                    log.warning("the server found %d results too large a batch; posting %d at a time",
                                len(batch), self.batch)
                    continue
                if exc.status == 401:
                    delay = self._post_backoff.next_delay()
                    log.error("the server rejected this agent's key (revoked?): %s", exc.message)
                    self._post_at = now + delay
                    return False
                log.error("the server refused a batch of %d results (%s); dropped", len(batch), exc)
                for _ in batch:
                    self.buffer.popleft()
                continue
            self._post_backoff.reset()
            if answer.get("rejected"):
                log.warning("the server dropped %d results: %s", len(answer["rejected"]), answer["rejected"][:3])
            for _ in batch:
                self.buffer.popleft()
        self._post_at = now
        return True

    def _discard(self, check_ids: set[str]) -> None:
        """Drop the buffered results of these checks."""
        kept = [r for r in self.buffer if r["check_id"] not in check_ids]
        self.buffer.clear()
        self.buffer.extend(kept)

    # --- the loop ----------------------------------------------------------------------------
    def step(self, now: float) -> float:
        """Do what is due at monotonic time `now`; return how long to sleep."""
        if now >= self._fetch_at:
            self.refresh(now)
        self.run_due(now)
        if self.buffer and now >= self._post_at:
            self.flush(now)
        upcoming = [self._fetch_at, *self.next_run.values()]
        if self.buffer:
            upcoming.append(self._post_at)
        return max(0.05, min(1.0, min(upcoming) - time.monotonic()))

    def run(self, stop: threading.Event) -> None:
        log.info("agent started; server %s", self.server.url)
        trouble = Backoff()
        while not stop.is_set():
            try:
                pause = self.step(time.monotonic())
                trouble.reset()
            except Exception:  # a bug must not end a long-running agent: log it, wait, go on
                pause = trouble.next_delay()
                log.exception("agent step failed; again in %.0f s", pause)
            stop.wait(pause)
        if self.buffer:  # a last try, so a clean stop loses nothing it can still deliver
            self.flush(time.monotonic())

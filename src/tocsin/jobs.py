"""What a background job gets each engine tick, and what the jobs share.

A job is `run(ctx: JobContext) -> int` (how much work it did): it processes a bounded batch, is
idempotent, and claims work shared with other engine processes with leases, so a crash mid-tick
loses nothing. The jobs live with their domains (`escalation/steps.py`, `escalation/deliver.py`,
`heartbeats/monitor.py`, `checks/monitor.py`, `actions/jobs.py`, `statuspage/deliver.py`); the
engine (`engine/`) only runs them in order. What they share across ticks lives in `ctx.shared`:
one notification dispatcher (and its guarded HTTP client), one pool of sending threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from tocsin.clock import Clock
from tocsin.config import Settings
from tocsin.db import Database
from tocsin.notify.dispatch import Dispatcher

SEND_CONCURRENCY = 16  # sends in flight at once (each waits on a provider)


class JobContext:
    """The database, the clock, this tick's `now`, this process's lease owner id, the settings, and
    what the jobs keep across ticks (`shared`)."""

    def __init__(self, db: Database, clock: Clock, owner: str, now: datetime, settings: Settings,
                 shared: dict[str, object] | None = None) -> None:
        self.db, self.clock, self.owner, self.now = db, clock, owner, now
        self.settings = settings  # required: a job never reads the environment behind the caller's back
        self.shared: dict[str, object] = shared if shared is not None else {}  # kept across ticks


def backoff(attempts: int) -> timedelta:
    """How long a retryable send waits before its next attempt: 30 s, 1 min, 2 min, ... capped at 15 min.
    Every outbox (pages, status page subscribers, tracker sync) retries on this schedule."""
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), timedelta(minutes=15))


def dispatcher(ctx: JobContext) -> Dispatcher:
    """The engine's one dispatcher: providers keep their connections between ticks, and its guarded
    HTTP client (the egress policy) is the one every job's outbound request goes through."""
    found = ctx.shared.get("dispatcher")
    if not isinstance(found, Dispatcher):
        found = ctx.shared["dispatcher"] = Dispatcher(ctx.settings, ctx.clock)
    return found


def send_pool(ctx: JobContext) -> ThreadPoolExecutor:
    """The engine's one pool of sending threads (SEND_CONCURRENCY), shared by the jobs that send."""
    found = ctx.shared.get("send_pool")
    if not isinstance(found, ThreadPoolExecutor):
        found = ctx.shared["send_pool"] = ThreadPoolExecutor(SEND_CONCURRENCY, thread_name_prefix="tocsin-send")
    return found

"""Run the engine's jobs in a fixed order, every `interval` seconds (sooner when work is due sooner).

A job is `run(ctx: JobContext) -> int` (how much work it did; see `tocsin/jobs.py`). It processes
a bounded batch and must be idempotent: a crash mid-tick loses nothing, the next tick (in this or
another process) picks the work up. Work shared across processes is claimed with leases
(conditional UPDATEs), so two engines never do the same job at once. The jobs live with their
domains; `engine/modules.py` lists them in order.

A started engine runs three threads: `tocsin-engine` runs every job but the senders, in order;
`tocsin-delivery` runs the senders (`modules.SENDERS`: pages, status page subscribers, tracker
sync), so a send never waits behind a batch of escalation steps, checks or other jobs; `tocsin-chat`
runs the chat outbox (`modules.CHAT_SENDERS`), so pages never wait behind a slow chat platform. The
engine thread rings the sending threads after a tick that did work (a step may have queued
pages, the chat follower chat calls); they otherwise sleep until their next row is due. Each
thread has its own `shared` (dispatcher, send pool, chat clients). `tick()` still runs every job
in order on the caller's thread, which is what tests and `run_until_idle` use.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from tocsin import wake
from tocsin.clock import Clock
from tocsin.config import Settings
from tocsin.db import Database
from tocsin.db.listen import Listener
from tocsin.engine.lock import EngineLock
from tocsin.engine.modules import CHAT_SENDERS, ORDER, SENDERS, next_chat, next_send
from tocsin.escalation.steps import next_due
from tocsin.jobs import JobContext

log = logging.getLogger("tocsin.engine")

Module = Callable[[JobContext], int]

# Rings closer together than this are taken as one: during a storm the ingest applier rings after
# every batch (every few milliseconds), and a tick per ring spent the process's one core on probes
# that queue for SQLite's write lock beside the applier. A page waits at most this long extra.
MIN_RUNG_GAP = 0.05


class Engine:
    def __init__(self, db: Database, clock: Clock, *, settings: Settings,
                 modules: Sequence[tuple[str, Module]] | None = None, interval: float = 1.0) -> None:
        self.db, self.clock = db, clock
        self.settings = settings
        self.modules = list(modules) if modules is not None else list(ORDER)
        self.interval = interval
        self.owner = f"{socket.gethostname()}:{uuid.uuid4().hex[:12]}"
        self.shared: dict[str, object] = {}
        self._send_shared: dict[str, object] = {}  # the delivery thread's own
        self._chat_shared: dict[str, object] = {}  # the chat thread's own
        self._stop = threading.Event()
        self._send_wake = threading.Event()
        self._chat_wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._sender: threading.Thread | None = None
        self._chatter: threading.Thread | None = None
        self._lock = EngineLock(db.url)
        self._listener: Listener | None = None

    def tick(self) -> dict[str, int]:
        """Run every module once with one `now`; return the work each did. A failing module is logged
        and does not stop the others."""
        return self._run(self.modules, self.shared)

    def _run(self, modules: Sequence[tuple[str, Module]], shared: dict[str, object]) -> dict[str, int]:
        now = self.clock.now()
        done: dict[str, int] = {}
        for name, module in modules:
            try:
                done[name] = module(JobContext(self.db, self.clock, self.owner, now, self.settings, shared))
            except Exception:
                log.exception("engine module %s failed", name)
                done[name] = -1
        return done

    def run_until_idle(self, max_ticks: int = 20) -> None:
        """Tick until no module has work left (for tests and the CLI)."""
        for _ in range(max_ticks):
            if not any(v > 0 for v in self.tick().values()):
                return

    def start(self) -> None:
        """Start ticking in a thread; raise EngineLocked if another engine holds this SQLite database."""
        self._lock.acquire()
        if self.db.dialect == "postgresql":
            self._listener = wake.listener(self.db.engine.url)
            self._listener.start()
        self._thread = threading.Thread(target=self._loop, name="tocsin-engine", daemon=True)
        self._sender = threading.Thread(target=self._send_loop, name="tocsin-delivery", daemon=True,
                                        args=(SENDERS, self._send_shared, self._send_wake, next_send))
        self._chatter = threading.Thread(target=self._send_loop, name="tocsin-chat", daemon=True,
                                         args=(CHAT_SENDERS, self._chat_shared, self._chat_wake, next_chat))
        self._thread.start()
        self._sender.start()
        self._chatter.start()

    def stop(self) -> None:
        """Stop the threads (each finishes the cycle it is in: a send under way is recorded) and
        release what they kept."""
        self._stop.set()
        wake.ring()
        self._send_wake.set()
        self._chat_wake.set()
        for thread in (self._thread, self._sender, self._chatter):
            if thread is not None:
                thread.join(timeout=30)
        if self._listener is not None:
            self._listener.stop()
        self.close()
        self._lock.release()

    def close(self) -> None:
        """Release what the modules kept across ticks (the send pool, provider connections)."""
        for shared in (self.shared, self._send_shared, self._chat_shared):
            for value in shared.values():
                for name in ("shutdown", "close"):
                    if hasattr(value, name):
                        getattr(value, name)()
                        break
            shared.clear()

    def _loop(self) -> None:
        work = [(name, m) for name, m in self.modules if name not in SENDERS | CHAT_SENDERS]
        while not self._stop.is_set():
            started = time.monotonic()
            worked = any(v > 0 for v in self._run(work, self.shared).values())
            if worked:
                self._send_wake.set()  # a step may have queued pages: send them now
                self._chat_wake.set()  # and the chat follower chat calls
            if wake.wait(self._sleep(lambda: next_due(self.db), worked=worked)):
                gap = MIN_RUNG_GAP - (time.monotonic() - started)
                if gap > 0 and not self._stop.is_set():
                    self._stop.wait(gap)  # rings during this pause are kept: the next wait returns at once

    def _send_loop(self, names: frozenset[str], shared: dict[str, object], ring: threading.Event,
                   next_at: Callable[[JobContext], datetime | None]) -> None:
        senders = [(name, m) for name, m in self.modules if name in names]
        if not senders:
            return

        def due() -> datetime | None:
            return next_at(JobContext(self.db, self.clock, self.owner, self.clock.now(), self.settings, shared))

        while not self._stop.is_set():
            ring.clear()  # a ring during the tick below stays set: the wait returns at once
            worked = any(v > 0 for v in self._run(senders, shared).values())
            ring.wait(self._sleep(due, worked=worked))

    def _sleep(self, next_at: Callable[[], datetime | None], worked: bool = True) -> float:
        """Until the next tick: the interval, or less when work (`next_at`) is due sooner. Work that
        is already due but was not done this tick (it keeps failing) waits the interval, so a stuck
        row cannot make the engine spin."""
        try:
            due = next_at()
        except Exception:  # the database is away: tick on the interval and let the modules report it
            return self.interval
        if due is None:
            return self.interval
        wait = (due - self.clock.now()).total_seconds()
        if wait <= 0 and not worked:
            return self.interval
        return min(self.interval, max(wait, 0.005))

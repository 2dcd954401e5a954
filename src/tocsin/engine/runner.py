"""Run the engine's jobs in a fixed order, every `interval` seconds (sooner when work is due sooner).

A job is `run(ctx: JobContext) -> int` (how much work it did; see `tocsin/jobs.py`). It processes
a bounded batch and must be idempotent: a crash mid-tick loses nothing, the next tick (in this or
another process) picks the work up. Work shared across processes is claimed with leases
(conditional UPDATEs), so two engines never do the same job at once. The jobs live with their
domains; `engine/modules.py` lists them in order.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Callable, Sequence

from tocsin import wake
from tocsin.clock import Clock
from tocsin.config import Settings
from tocsin.db import Database
from tocsin.db.listen import Listener
from tocsin.engine.lock import EngineLock
from tocsin.engine.modules import ORDER
from tocsin.escalation.steps import next_due
from tocsin.jobs import JobContext

log = logging.getLogger("tocsin.engine")

Module = Callable[[JobContext], int]


class Engine:
    def __init__(self, db: Database, clock: Clock, *, settings: Settings,
                 modules: Sequence[tuple[str, Module]] | None = None, interval: float = 1.0) -> None:
        self.db, self.clock = db, clock
        self.settings = settings
        self.modules = list(modules) if modules is not None else list(ORDER)
        self.interval = interval
        self.owner = f"{socket.gethostname()}:{uuid.uuid4().hex[:12]}"
        self.shared: dict[str, object] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = EngineLock(db.url)
        self._listener: Listener | None = None

    def tick(self) -> dict[str, int]:
        """Run every module once with one `now`; return the work each did. A failing module is logged
        and does not stop the others."""
        now = self.clock.now()
        done: dict[str, int] = {}
        for name, module in self.modules:
            try:
                done[name] = module(JobContext(self.db, self.clock, self.owner, now, self.settings, self.shared))
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
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        wake.ring()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._listener is not None:
            self._listener.stop()
        self.close()
        self._lock.release()

    def close(self) -> None:
        """Release what the modules kept across ticks (the send pool, provider connections)."""
        for value in self.shared.values():
            for name in ("shutdown", "close"):
                if hasattr(value, name):
                    getattr(value, name)()
                    break
        self.shared.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            done = self.tick()
            wake.wait(self._sleep(worked=any(v > 0 for v in done.values())))

    def _sleep(self, worked: bool = True) -> float:
        """Until the next tick: the interval, or less when a step or a notification is due sooner.
        Work that is already due but was not done this tick (it keeps failing) waits the interval,
        so a stuck row cannot make the engine spin."""
        try:
            due = next_due(self.db)
        except Exception:  # the database is away: tick on the interval and let the modules report it
            return self.interval
        if due is None:
            return self.interval
        wait = (due - self.clock.now()).total_seconds()
        if wait <= 0 and not worked:
            return self.interval
        return min(self.interval, max(wait, 0.005))

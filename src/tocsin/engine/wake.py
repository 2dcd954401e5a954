"""Wake the engine early: work that must not wait for the next tick (a new page) rings this.

- In one process (`serve` runs the engine beside the API): an ingest commit calls `ring()`.
- Across processes on PostgreSQL (`serve --workers N`, or `tocsin engine` beside
  `serve --no-engine`): the ingest transaction also sends `NOTIFY tocsin_engine` (delivered on
  commit), and each engine LISTENs on its own connection (`Listener`) and rings itself.

Waking is an optimisation, never a requirement: an engine that misses a ring still ticks on its
interval, sooner when work is due sooner. On SQLite a separate engine process is not woken.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

CHANNEL = "tocsin_engine"
log = logging.getLogger("tocsin.engine.wake")
_event = threading.Event()


def ring() -> None:
    """Ask the engine in this process (if any) to tick now."""
    _event.set()


def wait(timeout: float) -> bool:
    """Sleep until rung or `timeout` seconds pass; return whether it was rung (and reset it)."""
    rung = _event.wait(timeout)
    _event.clear()
    return rung


def notify_sql(dialect: str) -> str | None:
    """The statement that wakes engines in other processes when the transaction commits, if any."""
    return f"NOTIFY {CHANNEL}" if dialect == "postgresql" else None


class Listener:
    """LISTEN for wake-ups on PostgreSQL in a daemon thread; reconnects after errors."""

    def __init__(self, sqlalchemy_url: Any) -> None:
        from sqlalchemy.engine import make_url

        url = make_url(sqlalchemy_url) if isinstance(sqlalchemy_url, str) else sqlalchemy_url
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tocsin-engine-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            ring()
            except Exception as exc:  # the database restarts: keep ticking on the interval meanwhile
                log.warning("engine wake-up listener: %s; retrying in 5 s", exc)
                self._stop.wait(5)

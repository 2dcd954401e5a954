"""Wake the engine early: work that must not wait for the next tick (a new page) rings this.

- In one process (`serve` runs the engine beside the API): an ingest commit calls `ring()`.
- Across processes on PostgreSQL (`serve --workers N`, or `tocsin engine` beside
  `serve --no-engine`): the ingest transaction also sends `NOTIFY tocsin_engine` (delivered on
  commit), and each engine LISTENs on its own connection (`listener()`) and rings itself.

Waking is an optimisation, never a requirement: an engine that misses a ring still ticks on its
interval, sooner when work is due sooner. On SQLite a separate engine process is not woken.
"""

from __future__ import annotations

import threading
from typing import Any

from tocsin.db.listen import Listener

CHANNEL = "tocsin_engine"
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


def listener(sqlalchemy_url: Any) -> Listener:
    """A LISTEN thread (PostgreSQL) that rings this process's engine on every NOTIFY."""
    return Listener(sqlalchemy_url, CHANNEL, lambda _payload: ring(), retry_seconds=5.0)

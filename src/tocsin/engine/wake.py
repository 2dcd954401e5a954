"""Wake the engine early: work that must not wait for the next tick (a new page) rings this.

In-process only: `serve` runs the engine beside the API, so an ingest commit that wrote work
wakes it at once instead of up to `TOCSIN_ENGINE_INTERVAL` later. A separate `tocsin engine`
process is not woken this way; it ticks on its interval (and sleeps less when work is due sooner).
"""

from __future__ import annotations

import threading

_event = threading.Event()


def ring() -> None:
    """Ask the engine in this process (if any) to tick now."""
    _event.set()


def wait(timeout: float) -> bool:
    """Sleep until rung or `timeout` seconds pass; return whether it was rung (and reset it)."""
    rung = _event.wait(timeout)
    _event.clear()
    return rung

"""A PostgreSQL LISTEN loop in a daemon thread: the one way a process hears another's NOTIFY.

Used by the engine's wake-up (`engine/wake.py`) and by live change notices (`live.py`).
Hearing is an optimisation in both: each keeps working on its own timer when the database is
away, and this loop reconnects when it is back.

The thread sleeps in a selector on the connection's socket and a self-pipe, so `stop()` returns at
once (not after a polling interval) and every notification already received is delivered first.
"""

from __future__ import annotations

import logging
import os
import selectors
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

log = logging.getLogger("tocsin.db.listen")


class Listener:
    """Call `on_notify(payload)` for every notification on `channel`, from a daemon thread."""

    def __init__(self, sqlalchemy_url: Any, channel: str, on_notify: Callable[[str], None], *,
                 retry_seconds: float = 2.0) -> None:
        url = make_url(sqlalchemy_url) if isinstance(sqlalchemy_url, str) else sqlalchemy_url
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.channel = channel
        self.on_notify = on_notify
        self.retry_seconds = retry_seconds
        self.ready = threading.Event()  # set once the first LISTEN is in place
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()  # a byte written here wakes the thread
        self._thread = threading.Thread(target=self._run, name=f"tocsin-listen-{channel}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if not self._stop.is_set():
            self._stop.set()
            os.write(self._wake_w, b"x")
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if not self._thread.is_alive():
            for fd in (self._wake_r, self._wake_w):
                try:
                    os.close(fd)
                except OSError:
                    pass  # closed by an earlier stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn, \
                        selectors.DefaultSelector() as selector:
                    conn.execute(f"LISTEN {self.channel}")
                    self.ready.set()
                    selector.register(conn.fileno(), selectors.EVENT_READ)
                    selector.register(self._wake_r, selectors.EVENT_READ)
                    while True:
                        # first what has arrived (also any read along with the LISTEN's answer)
                        for note in conn.notifies(timeout=0):
                            self.on_notify(note.payload)
                        if self._stop.is_set():
                            return
                        selector.select()  # the socket (notifications, or the server gone) or stop()
            except Exception as exc:  # the database restarts: pick up again when it is back
                if self._stop.is_set():
                    return
                log.warning("LISTEN %s: %s; retrying in %s s", self.channel, exc, self.retry_seconds)
                self._stop.wait(self.retry_seconds)

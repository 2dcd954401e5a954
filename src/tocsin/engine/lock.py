"""One engine per SQLite database.

Several engines share a PostgreSQL database safely (row locks, SKIP LOCKED, fence epochs), but
SQLite has none of those, so on SQLite an engine takes an exclusive lock on a file beside the
database (`<db>.engine.lock`) for as long as it runs. A second engine, in `serve` or `tocsin
engine`, refuses to start with a message naming the lock. The operating system drops the lock
when the process dies, so a crash never leaves it stale. In-memory databases need no lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy.engine import make_url


class EngineLocked(RuntimeError):
    """Another engine runs against this SQLite database."""


def lock_path(url: str) -> Path | None:
    """Where the lock for this database lives, or None when no lock is needed."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:" \
            or u.database.startswith("file::memory:"):
        return None
    return Path(u.database).resolve().with_name(Path(u.database).name + ".engine.lock")


class EngineLock:
    def __init__(self, url: str) -> None:
        self.path = lock_path(url)
        self._fd: int | None = None

    def acquire(self) -> None:
        if self.path is None or self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            os.close(fd)
            raise EngineLocked(
                f"another tocsin engine is already running against this SQLite database ({holder or 'unknown'}; "
                f"lock {self.path}). SQLite supports one engine: stop it, run this one with --no-engine, "
                f"or use PostgreSQL for several engines.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

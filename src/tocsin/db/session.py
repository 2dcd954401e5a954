"""Engine creation and the unit of work owned by the edges (API request, CLI command, engine tick).

Services receive a `Session` and never commit; `Database.unit_of_work()` commits on
success and rolls back on any exception.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.orm import Session, sessionmaker

from tocsin.db import counters  # noqa: F401  (registers the version-counter flush listener)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """Return an engine for `url` configured for tocsin's needs on SQLite or PostgreSQL."""
    # orjson for JSON columns: several times faster than the standard library, and alerts
    # carry their labels, details and source payload as JSON.
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.query.get("uri"):
            _private_sqlite_file(Path(parsed.database))
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # Plain postgresql:// would pick psycopg2, which we do not ship.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def _private_sqlite_file(path: Path) -> None:
    """Create the database file readable by its owner only (0600) before SQLite opens it, in a directory
    of its own (0700) when tocsin creates that; an existing file readable by others loses those bits.

    The file holds password hashes and contact destinations. SQLite gives the -wal and -shm files it
    creates the database file's mode, so they are private too.
    """
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        for existing in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
            try:
                mode = existing.stat().st_mode & 0o777
                if mode & 0o077:
                    existing.chmod(mode & 0o700)
            except OSError:  # absent, or not ours to change: SQLite reports what matters when it opens
                continue


def rowcount(session: Session, statement: sa.Update | sa.Delete) -> int:
    """Execute an UPDATE or DELETE (without RETURNING) and return how many rows it matched."""
    # Session.execute is typed to return Result for every statement; for DML it returns a
    # CursorResult, the class that has rowcount (SQLAlchemy's stubs have no overload for it).
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def _configure_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so that we can BEGIN IMMEDIATE below.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # One writer at a time, decided at BEGIN: a deferred transaction that later
        # wants to write can fail with SQLITE_BUSY instead of waiting its turn.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """An engine plus a session factory; the edges open units of work from it."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """Yield a session; commit when the block succeeds, roll back when it raises, except for
        errors marked `commit_anyway` (a wrong password or code: the count of tries must stick)."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException as exc:
            if getattr(exc, "commit_anyway", False):
                try:
                    session.commit()
                except Exception:
                    session.rollback()
            else:
                session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()

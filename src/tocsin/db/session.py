"""Engine creation and the unit of work owned by the edges (API request, CLI command, engine tick).

Services receive a `Session` and never commit; `Database.unit_of_work()` commits on
success and rolls back on any exception.
"""

from __future__ import annotations

import os
import sqlite3
import threading
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

BUSY_TIMEOUT_S = 30  # SQLite's busy handler: the cross-process fallback behind the in-process lock
READ_ONLY = "tocsin_read_only"  # execution option: a read transaction (SQLite: deferred, no writer lock)

# One writer lock per SQLite database file in this process (see `_configure_sqlite`).
_WRITER_LOCKS: dict[str, threading.Lock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def _writer_lock(path: str) -> threading.Lock:
    key = os.path.realpath(path)
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(key, threading.Lock())


class _LockingConnection(sqlite3.Connection):
    """A pysqlite connection that releases this process's writer lock of its file once its
    transaction has ended (commit, rollback or close), not before: the lock is taken in the
    engine's `begin` event, right before `BEGIN IMMEDIATE`."""

    writer_lock: threading.Lock | None = None
    holding = False

    def _release(self) -> None:
        if self.holding:
            self.holding = False
            assert self.writer_lock is not None
            self.writer_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            if not self.in_transaction:
                self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()


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
        lock = None
        if parsed.database and parsed.database != ":memory:" and not parsed.query.get("uri"):
            lock = _writer_lock(parsed.database)
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False,
                                                     "factory": _LockingConnection}, **kwargs)
        _configure_sqlite(engine, lock)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # Plain postgresql:// would pick psycopg2, which we do not ship.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    # Plans are made per execution: psycopg prepares a statement after its 5th use, and PostgreSQL
    # then switches to a generic plan once that looks no dearer than the custom ones, judged by the
    # statistics of the moment. A server started on an empty database (fresh install, tests, the
    # benchmark) kept generic plans made for empty tables (sequential scans of alerts, page_requests
    # and escalations) after they had grown. Custom plans cost a planning pass per statement.
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("options", "-c plan_cache_mode=force_custom_plan")
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


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


def _configure_sqlite(engine: sa.Engine, lock: threading.Lock | None) -> None:
    """WAL, foreign keys, and writers serialised at BEGIN.

    Every transaction is a write transaction (`BEGIN IMMEDIATE`) unless opened with the
    `READ_ONLY` execution option (`Database.read()`). Writers of this process queue on one
    `threading.Lock` per database file, taken before `BEGIN IMMEDIATE` and released when the
    transaction ends: a waiter wakes the moment the writer before it commits. SQLite's own busy
    handler (busy_timeout) polls with growing sleeps (up to 100 ms), so under a steady writer a
    waiting transaction was often that late; it stays as the fallback between processes (the API
    workers and a separate engine process of `serve --workers N`)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so that we can BEGIN IMMEDIATE below.
        dbapi_conn.isolation_level = None
        if isinstance(dbapi_conn, _LockingConnection):
            dbapi_conn.writer_lock = lock
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            # A reader: WAL gives it a snapshot without waiting for the writer.
            conn.exec_driver_sql("BEGIN")
            return
        # One writer at a time, decided at BEGIN: a deferred transaction that later
        # wants to write can fail with SQLITE_BUSY instead of waiting its turn.
        dbapi_conn = conn.connection.dbapi_connection
        held = False
        if isinstance(dbapi_conn, _LockingConnection) and lock is not None and not dbapi_conn.holding:
            # Bounded like busy_timeout: a thread that opens a second write transaction while its
            # first is open would otherwise wait for itself forever; this way it fails as before.
            held = lock.acquire(timeout=BUSY_TIMEOUT_S)
            dbapi_conn.holding = held
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if held and isinstance(dbapi_conn, _LockingConnection):
                dbapi_conn.holding = False
                lock.release()
            raise


class Database:
    """An engine plus a session factory; the edges open units of work from it."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)

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

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Yield a session for reading only, rolled back at the end. On SQLite it does not queue
        behind writers (a deferred transaction on WAL's snapshot): for an engine job's cheap check
        whether it has work at all, before it opens a unit of work that waits for the write lock."""
        session = self._readers()
        try:
            yield session
        finally:
            session.rollback()
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

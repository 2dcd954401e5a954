"""The engine's wake-up (an ingest commit on PostgreSQL reaches a LISTENing engine in another
connection) and its lock (one engine per SQLite file; none needed in memory or on PostgreSQL)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from tocsin import wake
from tocsin.clock import ManualClock
from tocsin.config import Settings
from tocsin.db import Database
from tocsin.engine.lock import EngineLock, EngineLocked
from tocsin.engine.runner import Engine


def test_a_notify_from_another_connection_wakes_a_listening_engine(db):
    if db.dialect != "postgresql":
        assert wake.notify_sql(db.dialect) is None  # SQLite: in-process rings only
        return
    listener = wake.listener(db.engine.url)
    listener.start()
    try:
        wake.wait(0)  # forget earlier rings
        deadline = time.monotonic() + 10
        rung = False
        while not rung and time.monotonic() < deadline:  # the listener connects in the background
            with db.engine.begin() as conn:
                conn.execute(sa.text(wake.notify_sql(db.dialect)))
            rung = wake.wait(0.5)
        assert rung, "the NOTIFY committed in another connection did not wake the engine"
    finally:
        listener.stop()


def test_a_second_engine_on_one_sqlite_file_refuses_with_a_clear_message(tmp_path):
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    first, second = EngineLock(url), EngineLock(url)
    first.acquire()
    try:
        with pytest.raises(EngineLocked, match="another tocsin engine is already running.*use PostgreSQL"):
            second.acquire()
    finally:
        first.release()
    second.acquire()  # free again once the first is gone
    second.release()


def test_an_engine_holds_the_lock_while_it_runs(tmp_path):
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    db = Database(url)
    try:
        engine = Engine(db, ManualClock(), settings=Settings(secret_key="test-secret"), modules=[], interval=0.05)
        engine.start()
        try:
            with pytest.raises(EngineLocked):
                EngineLock(url).acquire()
        finally:
            engine.stop()
        EngineLock(url).acquire()
    finally:
        db.dispose()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "postgresql+psycopg://u@h/db"])
def test_no_lock_where_none_is_needed(url):
    assert EngineLock(url).path is None

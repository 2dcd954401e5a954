"""The engine's wake-up (an ingest commit on PostgreSQL reaches a LISTENing engine in another
connection), its lock (one engine per SQLite file; none needed in memory or on PostgreSQL), and
its delivery thread (a page goes out while another job is stuck)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from tocsin import wake
from tocsin.clock import ManualClock
from tocsin.config import Settings
from tocsin.db import Database
from tocsin.engine.lock import EngineLock, EngineLocked
from tocsin.engine.runner import Engine
from tocsin.escalation.deliver import deliver


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


def test_a_started_engine_sends_pages_while_another_job_is_stuck(runbook):
    # Runbook: an alert pages Alice → the engine runs, and one of its jobs hangs (a batch of
    # escalation steps, a slow probe) → Alice is emailed all the same, once → the engine stops
    # cleanly once the job lets go.
    from tests.harness.processes import poll

    rb = runbook
    rb.person("Alice")
    rb.service("checkout", tier=1)
    rb.policy((5, ["Alice"]))
    rb.trigger(summary="Checkout 5xx")
    rb.new_engine("escalations").tick()  # the page is queued
    entered, release, returned = threading.Event(), threading.Event(), threading.Event()

    def stuck(_ec):
        entered.set()
        release.wait(60)
        returned.set()
        return 0

    engine = Engine(rb.db, rb.clock, settings=rb.settings, modules=[("stuck", stuck), ("deliver", deliver)],
                    interval=0.05)
    engine.start()
    try:
        assert entered.wait(30), "the engine did not start its jobs"
        poll(lambda: rb.emails("Alice") or None, what="Alice's page while the other job is stuck", timeout=30,
             explain=lambda: f"outbox: {[(n.status, n.last_error) for n in rb.notifications()]}")
        assert not returned.is_set(), "the page went out while the other job was still stuck"
    finally:
        release.set()
        engine.stop()
    assert not any(t.name in ("tocsin-engine", "tocsin-delivery", "tocsin-chat") and t.is_alive()
                   for t in threading.enumerate())
    rb.expect_email("Alice", "Checkout 5xx")
    rb.expect_nothing_more()
    assert [(n.status, n.attempts) for n in rb.notifications()] == [("sent", 1)]


def test_a_started_engine_sends_pages_while_a_chat_call_hangs(runbook):
    # Runbook: an alert pages Alice while a call to the chat platform hangs (Slack answers slowly,
    # an invite looks people up one by one) → Alice is emailed all the same: chat calls have a
    # thread of their own (`tocsin-chat`) → the engine stops cleanly once the call returns.
    from tests.harness.processes import poll

    rb = runbook
    rb.person("Alice")
    rb.service("checkout", tier=1)
    rb.policy((5, ["Alice"]))
    rb.trigger(summary="Checkout 5xx")
    entered, release, returned = threading.Event(), threading.Event(), threading.Event()

    def hanging_chat(_ec):
        entered.set()
        release.wait(60)
        returned.set()
        return 0

    engine = Engine(rb.db, rb.clock, settings=rb.settings,
                    modules=[("deliver", deliver), ("chat_deliver", hanging_chat)], interval=0.05)
    engine.start()
    try:
        assert entered.wait(30), "the chat thread did not start"
        rb.new_engine("escalations").tick()  # the page is queued while the chat call hangs
        poll(lambda: rb.emails("Alice") or None, what="Alice's page while a chat call hangs", timeout=30,
             explain=lambda: f"outbox: {[(n.status, n.last_error) for n in rb.notifications()]}")
        assert not returned.is_set(), "the page went out while the chat call was still hanging"
    finally:
        release.set()
        engine.stop()
    assert not any(t.name in ("tocsin-engine", "tocsin-delivery", "tocsin-chat") and t.is_alive()
                   for t in threading.enumerate())
    rb.expect_email("Alice", "Checkout 5xx")
    assert [(n.status, n.attempts) for n in rb.notifications()] == [("sent", 1)]

"""The PostgreSQL LISTEN thread (tocsin.db.listen): every notification reaches the callback, stop()
does not wait for a polling interval (every app and engine shutdown calls it), and the loop
reconnects after the database drops its connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.harness.backends import BACKENDS, pg_conninfo
from tocsin.db.listen import Listener

CHANNEL = "tocsin_test_listen"


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    if "postgresql" not in BACKENDS:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; TOCSIN_TEST_BACKENDS leaves it out")
    return request.getfixturevalue("_pg_migrated")


class Heard:
    def __init__(self) -> None:
        self.payloads: list[str] = []
        self.changed = threading.Condition()

    def __call__(self, payload: str) -> None:
        with self.changed:
            self.payloads.append(payload)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[str]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.payloads) >= count, timeout=timeout)
            return list(self.payloads)


@pytest.fixture
def listening(pg_url: str) -> Iterator[tuple[Listener, Heard]]:
    heard = Heard()
    listener = Listener(pg_url, CHANNEL, heard, retry_seconds=0.05)
    listener.start()
    assert listener.ready.wait(10), "the listener did not connect"
    try:
        yield listener, heard
    finally:
        listener.stop()


def notify(pg_url: str, *payloads: str) -> None:
    with psycopg.connect(pg_conninfo(pg_url), autocommit=True) as conn:
        for payload in payloads:
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))


def test_every_notification_is_heard_in_order(pg_url, listening):
    listener, heard = listening
    sent = [str(n) for n in range(200)]
    notify(pg_url, *sent)
    assert heard.wait_for(len(sent)) == sent


def test_stop_ends_the_thread_at_once_instead_of_after_a_polling_interval(pg_url, listening):
    """Before, the thread polled notifies(timeout=1.0), so each app shutdown on PostgreSQL took up
    to a second; now the thread sleeps in select() on the socket and a self-pipe that stop() writes."""
    listener, heard = listening
    notify(pg_url, "before stop")
    assert heard.wait_for(1) == ["before stop"]
    started = time.monotonic()
    listener.stop()
    took = time.monotonic() - started
    assert not listener._thread.is_alive()
    assert took < 0.5, f"stop() took {took:.2f}s: it waits for a poll instead of waking the thread"
    listener.stop()  # a second stop is harmless


def test_a_dropped_connection_is_replaced_and_notifications_flow_again(pg_url, listening):
    listener, heard = listening
    with psycopg.connect(pg_conninfo(pg_url), autocommit=True) as admin:
        pids = [row[0] for row in admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = %s",
            (f"LISTEN {CHANNEL}",))]
        assert len(pids) == 1, pids
        listener.ready.clear()
        admin.execute("SELECT pg_terminate_backend(%s)", (pids[0],))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not listener.ready.is_set():
            time.sleep(0.02)  # the thread notices the closed socket and reconnects
        assert listener.ready.is_set(), "the listener did not reconnect"
    notify(pg_url, "after reconnect")
    assert heard.wait_for(1) == ["after reconnect"]

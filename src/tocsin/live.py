"""Change notices: tell every process serving tocsin that an incident or a status page changed.

A service that changes something viewers watch calls `changed(session, topic)`. When that
session commits:

- in this process, every subscriber (`subscribe`) is called with the topic: the incident
  room's server-sent events and the status page cache listen here;
- on PostgreSQL the same transaction also sends `NOTIFY tocsin_live` (delivered only if it
  commits), and a `Listener` thread in every other process hands the topic to its own
  subscribers. Notices carry the sending process's origin so a process does not hear itself twice.

Topics are `incident:<uuid>` and `statuspage:<uuid>`. A notice says only *what* changed;
subscribers read the new state themselves, so a lost notice is repaired by the next one (and
the status page cache also re-renders on a timer).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

CHANNEL = "tocsin_live"
ORIGIN = secrets.token_hex(8)
_KEY = "tocsin_live_topics"
log = logging.getLogger("tocsin.live")

Subscriber = Callable[[str], None]
_subscribers: list[Subscriber] = []
_lock = threading.Lock()


def changed(session: Session, topic: str) -> None:
    """Announce `topic` to every process once `session` commits (nothing if it rolls back)."""
    session.info.setdefault(_KEY, set()).add(topic)


def subscribe(callback: Subscriber) -> Callable[[], None]:
    """Call `callback(topic)` (from any thread) for every change; return the unsubscribe function."""
    with _lock:
        _subscribers.append(callback)

    def unsubscribe() -> None:
        with _lock:
            if callback in _subscribers:
                _subscribers.remove(callback)
    return unsubscribe


def publish(topic: str) -> None:
    """Hand `topic` to this process's subscribers; a failing subscriber does not stop the others."""
    with _lock:
        targets = list(_subscribers)
    for callback in targets:
        try:
            callback(topic)
        except Exception:  # one broken viewer must not stop the cache or other viewers
            log.exception("live subscriber failed on %s", topic)


@event.listens_for(Session, "before_commit")
def _notify_others(session: Session) -> None:
    topics = session.info.get(_KEY)
    if not topics:
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        for topic in sorted(topics):
            session.execute(sa.select(sa.func.pg_notify(CHANNEL, f"{ORIGIN}|{topic}")))


@event.listens_for(Session, "after_commit")
def _publish_here(session: Session) -> None:
    topics = session.info.pop(_KEY, None)
    for topic in sorted(topics or ()):
        publish(topic)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)


class Listener:
    """LISTEN for other processes' notices on PostgreSQL in a daemon thread; reconnects after errors."""

    def __init__(self, sqlalchemy_url: Any) -> None:
        from sqlalchemy.engine import make_url

        url = make_url(sqlalchemy_url) if isinstance(sqlalchemy_url, str) else sqlalchemy_url
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tocsin-live-listen", daemon=True)
        self.ready = threading.Event()

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
                    self.ready.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            origin, _, topic = note.payload.partition("|")
                            if origin != ORIGIN and topic:
                                publish(topic)
            except Exception as exc:  # the database restarts: pick up again when it is back
                log.warning("live listener: %s; retrying in 2 s", exc)
                self._stop.wait(2)

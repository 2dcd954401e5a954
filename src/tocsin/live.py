"""Change notices: tell every process serving tocsin that an incident or a status page changed.

A service that changes something viewers watch calls `changed(session, topic)`. When that
session commits:

- in this process, every subscriber (`subscribe`) is called with the topic: the incident
  room's server-sent events and the status page cache listen here;
- on PostgreSQL the same transaction also sends `NOTIFY tocsin_live` (delivered only if it
  commits), and a `listener()` thread in every other process hands the topic to its own
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

from tocsin.db.listen import Listener

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


def _heard(payload: str) -> None:
    origin, _, topic = payload.partition("|")
    if origin != ORIGIN and topic:
        publish(topic)


def listener(sqlalchemy_url: Any) -> Listener:
    """A LISTEN thread (PostgreSQL) that hands other processes' notices to this process's subscribers."""
    return Listener(sqlalchemy_url, CHANNEL, _heard)

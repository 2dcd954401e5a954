"""A version number for everything the alert pipeline reads besides alerts: routing rules,
silences, maintenance windows, auto-incident rules and services.

Any ORM change to those rows bumps the `alert_config` counter in the same transaction, so the
pipeline can keep them in memory and re-read them only when the number moved (one query per
batch instead of five), and a change made by another process is seen at its next batch.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from tocsin.db.counters import Counter
from tocsin.routing.models import AutoIncidentRule, MaintenanceWindow, RoutingRule, Silence
from tocsin.services.models import Service

COUNTER = "alert_config"
CONFIG_MODELS = (RoutingRule, Silence, MaintenanceWindow, AutoIncidentRule, Service)
_BUMPED = "tocsin.alert_config_bumped"


def current(session: Session) -> int:
    value = session.execute(sa.select(Counter.value).where(Counter.name == COUNTER)).scalar_one_or_none()
    return int(value or 0)


@event.listens_for(Session, "before_flush")
def _bump_on_change(session: Session, _flush_context: Any, _instances: Any) -> None:
    if session.info.get(_BUMPED):
        return
    if any(isinstance(obj, CONFIG_MODELS) for obj in chain(session.new, session.dirty, session.deleted)):
        session.connection().execute(sa.update(Counter).where(Counter.name == COUNTER)
                                     .values(value=Counter.value + 1))
        session.info[_BUMPED] = True


@event.listens_for(Session, "after_transaction_end")
def _reset(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction: the next one bumps again
        session.info.pop(_BUMPED, None)

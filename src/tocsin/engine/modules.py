"""The engine's modules, in the order they run each tick."""

from __future__ import annotations

from tocsin.engine.actions import action_reminders, action_sync
from tocsin.engine.deliver import deliver
from tocsin.engine.escalations import escalations
from tocsin.engine.monitors import checks, heartbeats
from tocsin.engine.runner import EngineContext


def pending_events(ec: EngineContext) -> int:
    """Apply inbound events a failed pipeline run left pending."""
    from tocsin.alerts.pipeline import apply_pending

    with ec.db.unit_of_work() as s:
        return apply_pending(s, now=ec.now)


def unsuppress(ec: EngineContext) -> int:
    """Page for alerts still firing when the silence, maintenance window or flap window that held them ends."""
    from tocsin.alerts.unsuppress import release

    with ec.db.unit_of_work() as s:
        return release(s, now=ec.now)


ORDER = [
    ("pending_events", pending_events),
    ("unsuppress", unsuppress),
    ("heartbeats", heartbeats),
    ("checks", checks),
    ("escalations", escalations),
    ("action_reminders", action_reminders),
    ("deliver", deliver),
    ("action_sync", action_sync),
]

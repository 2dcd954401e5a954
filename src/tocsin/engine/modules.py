"""The engine's jobs, in the order they run each tick. Each lives with its domain; the few here
only open the unit of work around a domain function."""

from __future__ import annotations

from datetime import datetime

from tocsin.actions.jobs import TrackerSync, action_reminders, action_sync
from tocsin.checks.monitor import checks
from tocsin.db.counters import ALERT_CONFIG, current_value
from tocsin.delivery import next_due
from tocsin.engine.retention import retention
from tocsin.escalation.deliver import PAGES, deliver
from tocsin.escalation.steps import escalations
from tocsin.heartbeats.monitor import heartbeats
from tocsin.jobs import JobContext
from tocsin.pipeline.ingest import apply_pending
from tocsin.pipeline.journal import apply_journal
from tocsin.pipeline.unsuppress import release
from tocsin.statuspage import deliver as statuspage
from tocsin.statuspage.maintenance import advance_maintenances

JOURNAL_BATCHES_PER_TICK = 10  # the rest next tick, so that a long backlog cannot hold up paging
UNSUPPRESS_SEEN = "unsuppress.alert_config"  # in ec.shared: the alert_config version the last re-check saw


def pending_events(ec: JobContext) -> int:
    """Apply the ingest journal (what a server answered for and did not apply: it died, or its
    applier failed), then inbound events a failed pipeline run left pending."""
    done = 0
    for _ in range(JOURNAL_BATCHES_PER_TICK):
        with ec.db.unit_of_work() as s:
            applied, more = apply_journal(s, now=ec.now)
        done += applied
        if not more:
            break
    with ec.db.unit_of_work() as s:
        return done + apply_pending(s, now=ec.now)


def unsuppress(ec: JobContext) -> int:
    """Page for alerts still firing when the silence, maintenance window or flap window that held them ends.

    Only the holds that are due, except after silences, windows or rules changed (the `alert_config`
    version moved since this engine last looked, or it just started): then every held alert once."""
    with ec.db.unit_of_work() as s:
        version = current_value(s, ALERT_CONFIG)  # read first: a change after this is seen next tick
        rechecked = release(s, now=ec.now, everything=ec.shared.get(UNSUPPRESS_SEEN) != version)
    ec.shared[UNSUPPRESS_SEEN] = version
    return rechecked.changed


def statuspage_maintenance(ec: JobContext) -> int:
    """Start and complete auto-transitioning status page maintenances whose time has come."""
    with ec.db.unit_of_work() as s:
        return advance_maintenances(s, now=ec.now)


# The modules that send (the outboxes on `tocsin.delivery`): a started engine runs them on a thread of
# their own, so a send never waits behind a batch of escalation steps or a slow probe.
SENDERS = frozenset({"deliver", "statuspage_deliver", "action_sync"})


def next_send(ec: JobContext) -> datetime | None:
    """When the earliest waiting row of any outbox is due (the delivery thread sleeps until then)."""
    with ec.db.unit_of_work() as s:
        return next_due(s, [PAGES, statuspage.Subscribers(ec.settings), TrackerSync(ec.settings.action_sync_url)])


ORDER = [
    ("pending_events", pending_events),
    ("unsuppress", unsuppress),
    ("heartbeats", heartbeats),
    ("checks", checks),
    ("escalations", escalations),
    ("action_reminders", action_reminders),
    ("deliver", deliver),
    ("statuspage_maintenance", statuspage_maintenance),
    ("statuspage_deliver", statuspage.run),
    ("action_sync", action_sync),
    ("retention", retention),
]

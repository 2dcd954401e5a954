"""The engine's jobs, in the order they run each tick. Each lives with its domain; the few here
only open the unit of work around a domain function.

Most jobs are `probed`: a cheap read (an index probe, in a read transaction) says whether the job
has anything to do before it opens its unit of work. On SQLite every unit of work waits for the
write lock, which a busy ingest holds most of the time; an idle job must not queue behind it (and
make the jobs after it, such as the page request that is due, wait in turn)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.actions import reminders
from tocsin.actions.jobs import TrackerSync, action_reminders, action_sync
from tocsin.actions.models import ActionItem
from tocsin.alerts.models import Alert, AlertEvent, IngestJournal
from tocsin.automation import jobs as automation
from tocsin.chatops import deliver as chat
from tocsin.chatops import follow as chat_follow
from tocsin.chatops.clients import enabled as chat_enabled
from tocsin.checks import blind
from tocsin.checks.models import Check
from tocsin.checks.monitor import checks
from tocsin.comms import reminders as update_reminders
from tocsin.db.counters import ALERT_CONFIG, current_value
from tocsin.delivery import next_due
from tocsin.engine.retention import retention
from tocsin.escalation import steps
from tocsin.escalation.deliver import PAGES, deliver
from tocsin.escalation.handoff import NEXT_RUN, handoffs
from tocsin.escalation.steps import escalations
from tocsin.guardrails import job as guardrail_job
from tocsin.heartbeats.models import Heartbeat
from tocsin.heartbeats.monitor import heartbeats
from tocsin.jobs import JobContext
from tocsin.obligations import reminders as obligation_reminders
from tocsin.oncall.models import Schedule
from tocsin.pipeline.ingest import apply_pending
from tocsin.pipeline.journal import apply_journal
from tocsin.pipeline.unsuppress import release
from tocsin.slo import job as slo_job
from tocsin.statuspage import deliver as statuspage
from tocsin.statuspage.maintenance import advance_maintenances
from tocsin.workflows import run as workflow_runs

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
# Chat calls (the chat outbox) go on a third thread: a slow or rate-limiting chat platform (an invite
# looks people up one by one, a create may retry taken names) never keeps a page waiting.
CHAT_SENDERS = frozenset({"chat_deliver"})


def next_send(ec: JobContext) -> datetime | None:
    """When the earliest waiting row of any outbox is due (the delivery thread sleeps until then)."""
    with ec.db.unit_of_work() as s:
        return next_due(s, [PAGES, statuspage.Subscribers(ec.settings), TrackerSync(ec.settings.action_sync_url)])


def next_chat(ec: JobContext) -> datetime | None:
    """When the chat outbox's next call may go (the chat thread sleeps until then)."""
    if not chat_enabled(ec.settings):
        return None
    with ec.db.read() as s:
        return chat.Chats(ec.settings, ec.clock).next_due(s)


Job = Callable[[JobContext], int]
Probe = Callable[[Session, JobContext], bool]


def probed(probe: Probe, job: Job) -> Job:
    """`job`, run only when `probe` (in a read transaction) finds work for it."""
    def run(ec: JobContext) -> int:
        with ec.db.read() as s:
            if not probe(s, ec):
                return 0
        return job(ec)
    run.__name__ = run.__qualname__ = getattr(job, "__name__", "job")
    run.__doc__ = job.__doc__
    return run


def _exists(s: Session, query: sa.Select[Any]) -> bool:
    return bool(s.execute(sa.select(query.exists())).scalar())


def _pending_events_due(s: Session, _ec: JobContext) -> bool:
    # the journal first: what a server answered for and has not applied (it died, or runs without an applier)
    return _exists(s, sa.select(IngestJournal.id)) or \
        _exists(s, sa.select(AlertEvent.id).where(AlertEvent.outcome.is_(None)))


def _holds_due(s: Session, ec: JobContext) -> bool:
    if ec.shared.get(UNSUPPRESS_SEEN) != current_value(s, ALERT_CONFIG):
        return True  # the configuration changed (or this engine just started): every hold is re-checked
    return _exists(s, sa.select(Alert.id).where(Alert.suppressed_by.is_not(None), Alert.status == "triggered",
                                               Alert.held_until <= ec.now))


def _heartbeats_due(s: Session, ec: JobContext) -> bool:
    return _exists(s, sa.select(Heartbeat.id).where(Heartbeat.state == "up", Heartbeat.due_at <= ec.now))


def _checks_due(s: Session, ec: JobContext) -> bool:
    return _exists(s, sa.select(Check.id).where(Check.enabled.is_(True), Check.next_run_at <= ec.now,
                                                sa.or_(Check.lease_until.is_(None), Check.lease_until < ec.now)))


def _escalations_due(s: Session, ec: JobContext) -> bool:
    return steps.has_work(s, ec.now)


def _reminders_due(s: Session, ec: JobContext) -> bool:
    schedule = reminders.Schedule.from_settings(ec.settings)
    return _exists(s, sa.select(ActionItem.id).where(reminders.due_clause(ec.now, schedule)))


def _handoffs_due(s: Session, ec: JobContext) -> bool:
    due_at = ec.shared.get(NEXT_RUN)  # the job looks every half minute, not every tick
    return not (isinstance(due_at, datetime) and ec.now < due_at) and _exists(s, sa.select(Schedule.id))


ORDER = [
    ("pending_events", probed(_pending_events_due, pending_events)),
    ("unsuppress", probed(_holds_due, unsuppress)),
    ("heartbeats", probed(_heartbeats_due, heartbeats)),
    ("checks", probed(_checks_due, checks)),
    ("check_quorum", probed(blind.has_work, blind.check_quorum)),
    ("slos", probed(slo_job.has_work, slo_job.slos)),
    ("escalations", probed(_escalations_due, escalations)),
    ("action_reminders", probed(_reminders_due, action_reminders)),
    ("obligation_reminders", probed(obligation_reminders.has_work, obligation_reminders.obligation_reminders)),
    ("update_reminders", probed(update_reminders.has_work, update_reminders.update_reminders)),
    ("handoffs", probed(_handoffs_due, handoffs)),
    ("workflows", probed(workflow_runs.has_work, workflow_runs.workflows)),
    ("guardrails", probed(guardrail_job.has_work, guardrail_job.guardrails)),
    ("automation_runs", probed(automation.has_work, automation.automation_runs)),
    ("chat_follow", probed(chat_follow.has_work, chat_follow.chat_follow)),
    ("deliver", deliver),
    ("statuspage_maintenance", statuspage_maintenance),
    ("statuspage_deliver", statuspage.run),
    ("action_sync", action_sync),
    ("chat_deliver", probed(chat.has_work, chat.chat_deliver)),
    ("retention", retention),
]

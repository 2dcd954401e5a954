"""The engine job `automation_runs`: run the approved runs of approved actions.

It never holds a transaction while something runs: each run is claimed by a conditional UPDATE
(approved -> running) committed on its own, so of two engines exactly one wins it; the command or
webhook then runs in a thread of the engine's small automation pool, outside any transaction; its
result is written in a new unit of work. The tick waits up to WAIT_S for the runs it started (a
quick command is on the timeline the same tick); longer runs finish in the background, so paging
is never held up behind a slow command. A run still `running` long after its timeout (the engine
stopped mid-run) is marked failed.

A dry run runs nothing: it writes what would run (the resolved argv, or the webhook's URL and body)
on the timeline. A webhook needs TOCSIN_AUTOMATION_SIGNING_SECRET and a command the operator's
allow-list file (TOCSIN_AUTOMATION_COMMANDS): without them the run is refused, saying so.
"""

from __future__ import annotations

import logging
import shlex
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.automation import commands, execute
from tocsin.automation.models import ActionRun, ApprovedAction
from tocsin.automation.service import MAX_TIMEOUT, describe, log_event, stale
from tocsin.automation.types import ActionKind, RunStatus
from tocsin.contacts.mask import mask
from tocsin.db.session import rowcount
from tocsin.incidents.models import Incident
from tocsin.incidents.service import ref as incident_ref
from tocsin.jobs import JobContext
from tocsin.net.policy import user_policy
from tocsin.principal import Principal

log = logging.getLogger("tocsin.automation.jobs")

ACTOR = Principal.system("automation")
BATCH = 20
THREADS = 4
WAIT_S = 5.0
STALE = timedelta(seconds=MAX_TIMEOUT + 300)
EXCERPT = 500
POOL = "automation_pool"
TRANSPORT = "automation_transport"  # in ec.shared: an httpx transport replacing the guarded one (tests only)


@dataclass(frozen=True)
class Work:
    run_id: uuid.UUID
    kind: ActionKind
    argv: list[str]
    url: str
    body: bytes
    timeout_s: int
    incident: str
    drill: bool


def has_work(s: Session, ec: JobContext) -> bool:
    return bool(s.execute(sa.select(sa.exists().where(sa.or_(
        ActionRun.status == RunStatus.approved.value,
        sa.and_(ActionRun.status == RunStatus.running.value, ActionRun.started_at < ec.now - STALE))))).scalar())


def _pool(ec: JobContext) -> ThreadPoolExecutor:
    found = ec.shared.get(POOL)
    if not isinstance(found, ThreadPoolExecutor):
        found = ec.shared[POOL] = ThreadPoolExecutor(THREADS, thread_name_prefix="tocsin-automation")
    return found


def automation_runs(ec: JobContext) -> int:
    """Start the approved runs this engine wins; return how many it started or settled."""
    done = _reap(ec)
    started: list[Work] = []
    with ec.db.read() as s:
        due = list(s.execute(sa.select(ActionRun.id).where(ActionRun.status == RunStatus.approved.value)
                             .order_by(ActionRun.requested_at, ActionRun.id).limit(BATCH)).scalars())
    for run_id in due:
        with ec.db.unit_of_work() as s:
            won = rowcount(s, sa.update(ActionRun).where(ActionRun.id == run_id,
                                                          ActionRun.status == RunStatus.approved.value)
                           .values(status=RunStatus.running.value, started_at=ec.now)
                           .execution_options(synchronize_session=False))
            if won != 1:
                continue
            work = _prepare(s, ec, run_id)
        done += 1
        if work is not None:
            started.append(work)
    if started:
        pool = _pool(ec)
        futures = [pool.submit(_run, ec, work) for work in started]
        wait(futures, timeout=WAIT_S)
    return done


def _reap(ec: JobContext) -> int:
    with ec.db.unit_of_work() as s:
        stale = list(s.execute(sa.select(ActionRun).where(ActionRun.status == RunStatus.running.value,
                                                          ActionRun.started_at < ec.now - STALE)
                               .with_for_update()).scalars())
        for run in stale:
            _finish(s, run, execute.Outcome(RunStatus.failed, "interrupted: the engine stopped during the run"),
                    ec.now)
    return len(stale)


def _context(s: Session, run: ActionRun) -> tuple[ApprovedAction, Incident]:
    action, incident = s.get(ApprovedAction, run.action_id), s.get(Incident, run.incident_id)
    assert action is not None and incident is not None  # both cascade-delete their runs
    return action, incident


def _prepare(s: Session, ec: JobContext, run_id: uuid.UUID) -> Work | None:
    """Mark the claimed run started and return what to run; a dry run or a refusal is settled here."""
    run = s.get(ActionRun, run_id)
    assert run is not None
    action, incident = _context(s, run)
    ref = incident_ref(incident)
    kind = ActionKind(action.kind)
    refusal, argv, body = stale(action, run), [], b""  # disabled or edited since it was requested
    if refusal is None and kind is ActionKind.command:
        try:
            allowed = commands.load(ec.settings.automation_commands)
        except commands.AllowListError as exc:
            allowed, refusal = {}, f"the allow-list file cannot be read: {exc}"
        if refusal is None and action.command not in allowed:
            refusal = (f"the command {action.command} is not in the allow-list file "
                       "(TOCSIN_AUTOMATION_COMMANDS)")
        if refusal is None:
            argv = commands.resolve(allowed[str(action.command)], run.params)
    elif refusal is None:
        body = execute.webhook_body(action=action.slug, run_id=str(run.id), incident=ref, params=run.params,
                                    dry_run=run.dry_run, drill=bool(incident.drill))
        if not ec.settings.automation_signing_secret and not run.dry_run:
            refusal = "TOCSIN_AUTOMATION_SIGNING_SECRET is not set: webhook actions cannot run unsigned"
    if refusal is not None:
        _finish(s, run, execute.Outcome(RunStatus.refused, refusal), ec.now)
        return None
    if run.dry_run:
        preview = f"would run: {shlex.join(argv)}" if argv else \
            f"would POST to {mask('webhook', action.url or '')}:\n{body.decode()}"
        _finish(s, run, execute.Outcome(RunStatus.succeeded, preview), ec.now)
        return None
    log_event(s, incident=incident, action=action, run=run, actor=ACTOR, now=ec.now, event="started",
              text=f"Approved action started: {describe(action, run)}")
    return Work(run.id, kind, argv, action.url or "", body, action.timeout_s, ref, bool(incident.drill))


def _run(ec: JobContext, work: Work) -> None:
    try:
        if work.kind is ActionKind.command:
            outcome = execute.run_command(work.argv, timeout_s=work.timeout_s,
                                          extra_env={"TOCSIN_RUN_ID": str(work.run_id),
                                                     "TOCSIN_INCIDENT": work.incident,
                                                     "TOCSIN_DRILL": "true" if work.drill else "false"})
        else:
            transport = ec.shared.get(TRANSPORT)
            outcome = execute.post_webhook(
                work.url, work.body, key=str(work.run_id), secret=str(ec.settings.automation_signing_secret),
                policy=user_policy(ec.settings), timeout_s=work.timeout_s, now=ec.clock.now(),
                transport=transport if isinstance(transport, httpx.BaseTransport) else None)
    except Exception as exc:  # a bug here must not leave the run running forever
        log.exception("run %s raised", work.run_id)
        outcome = execute.Outcome(RunStatus.failed, f"internal error: {type(exc).__name__}")
    try:
        with ec.db.unit_of_work() as s:
            run = s.execute(sa.select(ActionRun).where(ActionRun.id == work.run_id).with_for_update()
                            ).scalar_one_or_none()
            if run is not None and run.status == RunStatus.running.value:
                _finish(s, run, outcome, ec.clock.now())
    except Exception:
        log.exception("recording the result of run %s failed", work.run_id)


def _finish(s: Session, run: ActionRun, outcome: execute.Outcome, now: datetime) -> None:
    action, incident = _context(s, run)
    run.status, run.output = outcome.status.value, execute.truncate(outcome.output)
    run.exit_status, run.http_status = outcome.exit_status, outcome.http_status
    run.finished_at = now
    if run.started_at is None:
        run.started_at = now
    extra: dict[str, Any] = {"exit_status": outcome.exit_status, "http_status": outcome.http_status}
    if outcome.exit_status is not None:
        result = f"exit status {outcome.exit_status}"
    elif outcome.http_status is not None:
        result = f"HTTP {outcome.http_status}"
    else:
        result = outcome.status.value.replace("_", " ")
    excerpt = run.output.strip()
    if len(excerpt) > EXCERPT:
        excerpt = excerpt[:EXCERPT] + " …"
    label = "Dry run" if run.dry_run else f"Approved action {outcome.status.value.replace('_', ' ')}"
    text = f"{label}: {describe(action, run)} ({result})" + (f"\n{excerpt}" if excerpt else "")
    log_event(s, incident=incident, action=action, run=run, actor=ACTOR, now=now, event="finished", text=text,
              extra=extra)

"""The engine job that pages: turn page requests into escalations, and take each escalation's due step.

Two phases per tick, each with a bounded batch:

1. `take_page_requests`: pending `page_requests` whose `not_before` has come (SKIP LOCKED on
   PostgreSQL), those of services with an escalation policy first, oldest first, PAGE_UNIT to a
   transaction. An alert no longer triggered is cancelled; a service without a policy is taken
   with a `not_paged` decision saying so (nothing is dropped silently; the pipeline already
   decides this at ingest, so only requests whose policy was detached since get here); otherwise
   an `escalations` row starts with a snapshot of the service's policy, due now. A service that
   pages per alert group starts one escalation per group (`group_id`, at its first request
   taken); later requests of the group are taken with a `paged_with_group` decision.
2. `run_due`: active escalations whose `next_at` has come. Each step is its own unit of work,
   fenced by the epoch read when it was selected: the step first moves the epoch with a
   conditional UPDATE (`WHERE epoch = :seen AND status = 'active'`), so a step selected before
   an acknowledgement (which stops the escalation and bumps the epoch) does nothing. The step
   locks the alert row before the escalation row, the order acknowledge and resolve use, so
   the two serialise instead of deadlocking. It writes one outbox row per user, keyed by
   escalation, epoch and user and inserted only if absent.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from tocsin.alerts.models import Alert, AlertDecision, PageRequest
from tocsin.contacts.service import Route, routes_for
from tocsin.db import Database
from tocsin.db.base import table_of
from tocsin.escalation import drill, plan, trail
from tocsin.escalation.incident_paging import restricted_words, shadowed
from tocsin.escalation.models import (
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    Notification,
)
from tocsin.escalation.plan import Target
from tocsin.ids import new_id
from tocsin.incidents.access import need_to_know, who_may_see
from tocsin.incidents.models import Incident, RoleAssignment
from tocsin.incidents.types import Role
from tocsin.jobs import JobContext
from tocsin.oncall.models import Schedule
from tocsin.oncall.resolve import Shift
from tocsin.oncall.service import on_call, shadows_at
from tocsin.services.models import Service
from tocsin.teams.models import Team, TeamMember
from tocsin.users.models import User

log = logging.getLogger("tocsin.escalation.steps")

PAGE_BATCH = 1000  # page requests per tick
PAGE_UNIT = 50  # page requests per transaction: short write transactions, so ingest never waits long
STEP_BATCH = 500
STEP_UNIT = 50  # steps per transaction
SUBJECT_MAX = 200


def escalations(ec: JobContext) -> int:
    """Take due page requests, then run due escalation steps; return how much work was done."""
    return take_page_requests(ec) + run_due(ec)


def _decide(s: Session, alert_id: uuid.UUID, now: datetime, kind: str, reason: str, **data: object) -> None:
    s.add(AlertDecision(id=new_id(), alert_id=alert_id, at=now, kind=kind, reason=reason,
                        data={k: v for k, v in data.items() if v is not None}))


# --- phase 1: page requests -> escalations ---------------------------------------------------------

def has_work(s: Session, now: datetime) -> bool:
    """Whether `escalations` has anything to do at `now`: a cheap read (two index probes), so an idle
    engine tick need not queue for the write lock behind ingest."""
    pending = sa.select(PageRequest.id).where(PageRequest.status == "pending", PageRequest.not_before <= now)
    steps = sa.select(Escalation.id).where(Escalation.status == "active", Escalation.next_at <= now)
    return bool(s.execute(sa.select(sa.or_(pending.exists(), steps.exists()))).scalar())


def take_page_requests(ec: JobContext) -> int:
    """Start escalations for due page requests, PAGE_UNIT to a transaction, up to PAGE_BATCH a tick."""
    taken = 0
    while taken < PAGE_BATCH:
        n = _take_page_requests(ec)
        taken += n
        if n < PAGE_UNIT:
            break
    return taken


def _take_page_requests(ec: JobContext) -> int:
    now = ec.now
    with ec.db.unit_of_work() as s:
        # Services with a policy first (a real page never waits behind noise), then oldest first.
        requests = s.execute(
            sa.select(PageRequest).join(Service, Service.id == PageRequest.service_id)
            .where(PageRequest.status == "pending", PageRequest.not_before <= now)
            .order_by(Service.escalation_policy_id.is_(None), PageRequest.not_before, PageRequest.id)
            .limit(PAGE_UNIT).with_for_update(of=PageRequest, skip_locked=True)
        ).scalars().all()
        if not requests:
            return 0
        # The alerts, key-share locked in id order, skipping any an ingest transaction holds (it locks
        # them in id order too, then cancels their page requests: waiting here would be a deadlock).
        # A request whose alert is busy stays pending for the next round.
        wanted = {r.alert_id for r in requests}
        alerts = {a.id: a for a in s.execute(sa.select(Alert).where(Alert.id.in_(wanted)).order_by(Alert.id)
                                             .with_for_update(key_share=True, skip_locked=True)).scalars()}
        busy = set(s.execute(sa.select(Alert.id).where(Alert.id.in_(wanted - set(alerts))))
                   .scalars()) if len(alerts) < len(wanted) else set()
        requests = [r for r in requests if r.alert_id not in busy]
        services = {v.id: v for v in s.execute(sa.select(Service).where(
            Service.id.in_({a.service_id for a in alerts.values()}))).scalars()}
        policies = {p.id: p for p in s.execute(sa.select(EscalationPolicy).where(
            EscalationPolicy.id.in_({v.escalation_policy_id for v in services.values() if v.escalation_policy_id}))
        ).scalars()}
        levels: dict[uuid.UUID, list[EscalationLevel]] = {p: [] for p in policies}
        for lv in s.execute(sa.select(EscalationLevel).where(EscalationLevel.policy_id.in_(set(policies)))
                            .order_by(EscalationLevel.position)).scalars():
            levels[lv.policy_id].append(lv)
        escalating = set(s.execute(sa.select(Escalation.alert_id).where(
            Escalation.alert_id.in_(set(alerts)))).scalars())
        # Services paging per alert group: the group's one escalation, if it has started.
        by_group = {a.group_id for a in alerts.values()
                    if a.group_id is not None and services[a.service_id].paging_unit == "group"}
        group_escs: dict[uuid.UUID, tuple[uuid.UUID, str]] = {
            g: (e, st) for g, e, st in s.execute(sa.select(Escalation.group_id, Escalation.id, Escalation.status)
                                                  .where(Escalation.group_id.in_(by_group)))
            if g is not None} if by_group else {}
        for req in requests:
            alert = alerts.get(req.alert_id)
            if alert is None or alert.status != "triggered":
                req.status = "cancelled"
                continue
            req.status = "taken"
            # The alert's own service: a routing rule may have moved it after the request was written.
            svc = services[alert.service_id]
            policy = policies.get(svc.escalation_policy_id) if svc.escalation_policy_id else None
            if policy is None:
                _decide(s, alert.id, now, "not_paged", f"service {svc.slug} has no escalation policy",
                        service=svc.slug, page_request_id=str(req.id))
                continue
            if alert.id in escalating:  # paged again (e.g. a hold ended): one escalation per alert
                _decide(s, alert.id, now, "not_paged", "the alert is already escalating (or has escalated)",
                        page_request_id=str(req.id))
                continue
            group_id = alert.group_id if svc.paging_unit == "group" else None
            if group_id is not None and group_id in group_escs:  # one page per group: it joins the group's
                esc_id, esc_status = group_escs[group_id]
                _decide(s, alert.id, now, "paged_with_group",
                        f"paged with its alert group {group_id}: service {svc.slug} pages once per group, and "
                        f"the group's escalation ({esc_status}) covers this alert; its pages count it",
                        escalation_id=str(esc_id), group_id=str(group_id), page_request_id=str(req.id))
                continue
            snap = plan.snapshot(levels[policy.id], policy.repeat, policy_id=policy.id, slug=policy.slug,
                                 name=policy.name)
            esc = Escalation(alert_id=alert.id, group_id=group_id, service_id=svc.id, policy_snapshot=snap, level=0,
                             loop=0, status="active", next_at=now, epoch=0, started_at=now, updated_at=now)
            s.add(esc)
            s.flush()
            escalating.add(alert.id)
            n = len(snap["levels"])
            unit = "" if group_id is None else \
                f" for alert group {group_id} (one page per group: later alerts of the group join it)"
            if group_id is not None:
                group_escs[group_id] = (esc.id, "active")
            _decide(s, alert.id, now, "escalation_started",
                    f"escalation started{unit} with policy '{policy.name}' of service {svc.slug} "
                    f"({n} level{'s' if n != 1 else ''}, repeat {policy.repeat})",
                    escalation_id=str(esc.id), policy=policy.slug,
                    group_id=str(group_id) if group_id is not None else None)
        s.flush()
        return len(requests)


# --- phase 2: due steps ------------------------------------------------------------------------

class Due(NamedTuple):
    """An escalation step due now, as selected: its fence epoch must still hold when it is taken."""

    escalation_id: uuid.UUID
    alert_id: uuid.UUID | None
    incident_id: uuid.UUID | None  # an incident's own paging (for an Incident Commander)
    epoch: int


def due(ec: JobContext) -> list[Due]:
    """Up to STEP_BATCH active escalations due at `ec.now`."""
    with ec.db.unit_of_work() as s:
        return [Due(*r) for r in s.execute(
            sa.select(Escalation.id, Escalation.alert_id, Escalation.incident_id, Escalation.epoch)
            .where(Escalation.status == "active", Escalation.next_at <= ec.now)
            .order_by(Escalation.next_at, Escalation.id).limit(STEP_BATCH)
            .with_for_update(skip_locked=True)).all()]


def run_due(ec: JobContext) -> int:
    """Take the due steps, STEP_UNIT to a transaction. If a step fails, that transaction is rolled
    back and its steps are taken again one per transaction, so one broken escalation (logged, retried
    next tick) cannot hold up the others. Rows are handled in the order of what they lock (alert or
    incident id), so two engines with overlapping batches cannot deadlock."""
    rows = sorted(due(ec), key=lambda r: (r.alert_id is None, str(r.alert_id or r.incident_id)))
    done = 0
    for start in range(0, len(rows), STEP_UNIT):
        chunk = rows[start:start + STEP_UNIT]
        try:
            with ec.db.unit_of_work() as s:
                cache = StepCache(s, ec.now)
                taken = _advance(s, ec, cache, chunk)
            done += taken
            continue
        except Exception:
            if len(chunk) == 1:
                log.exception("escalation %s: step failed; retried next tick", chunk[0][0])
                continue
        for row in chunk:
            try:
                done += advance(ec, *row)
            except Exception:
                log.exception("escalation %s: step failed; retried next tick", row[0])
    return done


class StepCache:
    """What the steps of one transaction share: who is on call in a schedule now, a team's members,
    and each person's routes by urgency (computed once, not once per escalation)."""

    def __init__(self, s: Session, now: datetime) -> None:
        self.s, self.now = s, now
        self.shifts: dict[uuid.UUID, Shift | None] = {}
        self.shadowing: dict[uuid.UUID, list[uuid.UUID]] = {}
        self.members: dict[uuid.UUID, list[User]] = {}
        self.routes: dict[tuple[uuid.UUID, str], list[Route]] = {}

    def on_call(self, schedule: Schedule) -> Shift | None:
        if schedule.id not in self.shifts:
            self.shifts[schedule.id] = on_call(self.s, schedule=schedule, at=self.now, now=self.now)
        return self.shifts[schedule.id]

    def shadows(self, schedule: Schedule) -> list[uuid.UUID]:
        if schedule.id not in self.shadowing:
            self.shadowing[schedule.id] = shadows_at(self.s, schedule=schedule, at=self.now)
        return self.shadowing[schedule.id]

    def team(self, team_id: uuid.UUID) -> list[User]:
        if team_id not in self.members:
            self.members[team_id] = list(self.s.execute(
                sa.select(User).join(TeamMember, TeamMember.user_id == User.id)
                .where(TeamMember.team_id == team_id, User.is_active.is_(True)).order_by(User.email)).scalars())
        return self.members[team_id]

    def routes_for(self, users: list[User], urgency: str) -> dict[uuid.UUID, list[Route]]:
        missing = [u for u in users if (u.id, urgency) not in self.routes]
        if missing:
            for uid, found in routes_for(self.s, missing, urgency).items():
                self.routes[(uid, urgency)] = found
        return {u.id: self.routes[(u.id, urgency)] for u in users}


@dataclass
class Subject:
    """What is being paged about: an alert, an alert group (`group_id`, with `alert` its first paged
    alert), or an incident needing an Incident Commander."""

    alert: Alert | None
    incident: Incident | None
    group_id: uuid.UUID | None = None

    def still_needed(self, s: Session) -> str | None:
        """None while paging is still needed, else why not. A group pages while any of its alerts is
        triggered."""
        if self.group_id is not None:
            firing = s.execute(sa.select(Alert.id).where(Alert.group_id == self.group_id,
                                                         Alert.status == "triggered").limit(1)).first()
            return None if firing is not None else "no alert of its group is triggered any more"
        if self.alert is not None:
            return None if self.alert.status == "triggered" else f"the alert was {self.alert.status}"
        assert self.incident is not None
        if self.incident.status in ("resolved", "closed"):
            return f"the incident is {self.incident.status}"
        if commander_of(s, self.incident.id) is not None:
            return "the incident has an Incident Commander"
        return None

    def note(self, s: Session, now: datetime, kind: str, reason: str, **data: Any) -> None:  # JSON-ready values
        trail.note(s, now=now, kind=kind, reason=reason, alert=self.alert,
                   incident_id=self.incident.id if self.incident is not None else None, **data)


def commander_of(s: Session, incident_id: uuid.UUID) -> uuid.UUID | None:
    return s.execute(sa.select(RoleAssignment.user_id).where(
        RoleAssignment.incident_id == incident_id, RoleAssignment.role == Role.incident_commander.value,
        RoleAssignment.ended_at.is_(None))).scalars().first()


def advance(ec: JobContext, esc_id: uuid.UUID, alert_id: uuid.UUID | None, incident_id: uuid.UUID | None,
            epoch: int) -> int:
    """Take the step of escalation `esc_id` selected at `epoch` in its own transaction; return 1, or 0 if
    the fence was lost."""
    with ec.db.unit_of_work() as s:
        return _advance(s, ec, StepCache(s, ec.now), [Due(esc_id, alert_id, incident_id, epoch)])


def _advance(s: Session, ec: JobContext, cache: StepCache,
             rows: list[Due]) -> int:
    """Take these steps in one transaction, with a few statements for all of them: lock their alerts
    (or incidents) in id order, then move every fence at once (`WHERE (id, epoch) IN ...`, returning
    the ones won: a step whose epoch moved since it was selected, e.g. by an ack, is skipped)."""
    now = ec.now
    alert_ids = sorted({r.alert_id for r in rows if r.alert_id is not None})
    incident_ids = sorted({r.incident_id for r in rows if r.alert_id is None and r.incident_id is not None})
    # Lock alerts (then incidents) first, in id order: acknowledge, resolve and role changes lock them too.
    alerts = {a.id: a for a in s.execute(sa.select(Alert).where(Alert.id.in_(alert_ids)).order_by(Alert.id)
                                         .with_for_update()).scalars()} if alert_ids else {}
    incidents = {i.id: i for i in s.execute(sa.select(Incident).where(Incident.id.in_(incident_ids))
                                            .order_by(Incident.id).with_for_update()).scalars()} if incident_ids else {}
    won = set(s.execute(
        sa.update(Escalation).where(sa.tuple_(Escalation.id, Escalation.epoch).in_([(r.escalation_id, r.epoch) for r in rows]),
                                    Escalation.status == "active", Escalation.next_at <= now)
        .values(epoch=Escalation.epoch + 1, updated_at=now, lease_owner=ec.owner[-64:])
        .returning(Escalation.id).execution_options(synchronize_session=False)).scalars())
    if not won:
        return 0
    escs = {e.id: e for e in s.execute(sa.select(Escalation).where(Escalation.id.in_(won))
                                       .execution_options(populate_existing=True)).scalars()}
    done = 0
    for esc_id, alert_id, incident_id, epoch in rows:
        if alert_id is not None:
            subject = Subject(alerts.get(alert_id), None, escs[esc_id].group_id if esc_id in escs else None)
        else:
            subject = Subject(None, incidents.get(incident_id) if incident_id is not None else None)
        if esc_id in escs and (subject.alert is not None or subject.incident is not None):
            _step(s, cache, escs[esc_id], subject, epoch, now)
            done += 1
    s.flush()
    return done


def _step(s: Session, cache: StepCache, esc: Escalation, subject: Subject, epoch: int, now: datetime) -> None:
    """One step of a fenced escalation: stop it, exhaust it, or notify its level's targets."""
    why = subject.still_needed(s)
    if why is not None:
        esc.status, esc.stop_reason, esc.next_at = "stopped", why, None
        subject.note(s, now, "escalation_stopped", f"escalation stopped: {why}", escalation_id=str(esc.id))
        return
    st = plan.step(esc.policy_snapshot, esc.level, esc.loop, now)
    if st.exhausted:
        esc.status, esc.stop_reason, esc.next_at = "exhausted", f"{st.reason}; {st.then}", None
        subject.note(s, now, "escalation_exhausted", f"escalation {st.then}: {st.reason}",
                     escalation_id=str(esc.id))
        return
    lvl = esc.level + 1
    by_hand = esc.policy_snapshot.get(plan.BY_HAND)
    if by_hand:  # this step follows a manual change: say so, not "nobody acknowledged in time"
        st = replace(st, reason=f"level {lvl}: {by_hand}")
        esc.policy_snapshot = plan.unmarked(esc.policy_snapshot)
    elif esc.level > 0 or esc.loop > 0:
        subject.note(s, now, "escalated", f"escalated to {st.reason}", escalation_id=str(esc.id),
                     level=lvl, loop=esc.loop)
    users = _resolve(s, cache, subject, st.targets, lvl, now)
    if subject.incident is not None and subject.incident.restricted:
        users = _need_to_know(s, subject, subject.incident, users, lvl, now)
    if subject.incident is not None and subject.incident.drill:
        users = _drill_only(s, subject, subject.incident, users, lvl, now)
    urgency = _urgency(s, subject)
    routes = cache.routes_for([u for u, _how in users], urgency)
    for user, how in users:
        channels = _notify(s, esc, subject, user, epoch, how, lvl, st.reason, routes[user.id], now)
        about = "" if subject.alert is not None else " to take Incident Commander"
        subject.note(s, now, "notified", f"notified {user.name}{about} (level {lvl}: {how}) by {channels}",
                     user_id=str(user.id), level=lvl, escalation_id=str(esc.id))
    if not users:
        subject.note(s, now, "not_notified", f"level {lvl}: nobody to notify", level=lvl,
                     escalation_id=str(esc.id))
    shadows = _shadows(s, cache, subject, st.targets, {u.id for u, _how in users})
    shadow_routes = cache.routes_for([u for u, _how in shadows], urgency)
    for user, how in shadows:
        channels = _notify(s, esc, subject, user, epoch, how, lvl, st.reason, shadow_routes[user.id], now, shadow=True)
        subject.note(s, now, "shadowed", f"{user.name} shadows (level {lvl}: {how}): sent a copy by {channels}",
                     user_id=str(user.id), level=lvl, escalation_id=str(esc.id))
    esc.level, esc.loop, esc.next_at = st.next_level, st.next_loop, st.next_at
    esc.updated_at = now


def _urgency(s: Session, subject: Subject) -> str:
    """The urgency whose notification rules apply: the alert's; for a group, high if any of its
    triggered alerts is (a critical alert joining a low-urgency group must not wait)."""
    if subject.alert is None:
        return "high"
    if subject.group_id is not None:
        high = s.execute(sa.select(Alert.id).where(Alert.group_id == subject.group_id, Alert.status == "triggered",
                                                   Alert.urgency == "high").limit(1)).first()
        return "high" if high is not None else "low"
    return subject.alert.urgency


def _resolve(s: Session, cache: StepCache, subject: Subject, targets: tuple[Target, ...], lvl: int,
             now: datetime) -> list[tuple[User, str]]:
    """The users to notify for these targets, each once, with how they were reached. A target that
    reaches nobody (an empty schedule, a deactivated user, an empty team) is recorded with its reason
    and skipped."""
    found: list[tuple[User, str]] = []
    seen: set[uuid.UUID] = set()

    def skip(why: str, **data: object) -> None:
        subject.note(s, now, "not_notified", f"level {lvl}: {why}", level=lvl, **data)

    def add(user: User | None, how: str, missing: str) -> None:
        if user is None or not user.is_active:
            skip(f"{missing if user is None else f'{user.name} is deactivated'}; skipped")
        elif user.id not in seen:
            seen.add(user.id)
            found.append((user, how))

    for t in targets:
        try:
            tid = uuid.UUID(t["id"])
        except (KeyError, ValueError):
            skip(f"unreadable target {t!r}; skipped")
            continue
        if t["type"] == "user":
            add(s.get(User, tid), "user", f"user {tid} no longer exists")
        elif t["type"] == "team":
            team = s.get(Team, tid)
            if team is None:
                skip(f"team {tid} no longer exists; skipped")
                continue
            members = cache.team(tid)
            if not members:
                skip(f"team '{team.slug}' has no active members; falling through to the level's other targets",
                     team=team.slug)
            for m in members:
                add(m, f"member of team '{team.slug}'", "")
        else:
            schedule = s.get(Schedule, tid)
            if schedule is None:
                skip(f"schedule {tid} no longer exists; skipped")
                continue
            shift = cache.on_call(schedule)
            if shift is None:
                skip(f"schedule '{schedule.slug}' has nobody on call; falling through to the level's other targets",
                     schedule=schedule.slug)
                continue
            add(s.get(User, uuid.UUID(shift.user)), f"on call in schedule '{schedule.slug}'",
                f"the on-call user {shift.user} of schedule '{schedule.slug}' no longer exists")
    return found


def _shadows(s: Session, cache: StepCache, subject: Subject, targets: tuple[Target, ...],
             responders: set[uuid.UUID]) -> list[tuple[User, str]]:
    """Who shadows the level's schedules (their shadow layers): they get a copy of the page, marked
    shadow, and are not responders (never counted, never the one whose answer stops the paging).
    Someone paged as a responder is not also a shadow; for a restricted incident only people who
    may see it shadow."""
    found: list[tuple[User, str]] = []
    for t in targets:
        if t.get("type") != "schedule":
            continue
        try:
            schedule = s.get(Schedule, uuid.UUID(t["id"]))
        except (KeyError, ValueError):
            continue
        if schedule is None:
            continue
        for uid in cache.shadows(schedule):
            user = s.get(User, uid)
            if user is not None and user.is_active and user.org_role != "guest" and uid not in responders:
                responders = responders | {uid}
                found.append((user, f"shadowing schedule '{schedule.slug}'"))
    if found and subject.incident is not None and subject.incident.restricted:
        allowed = who_may_see(s, subject.incident, [u.id for u, _how in found])
        found = [(u, how) for u, how in found if u.id in allowed]
    return found


def _need_to_know(s: Session, subject: Subject, incident: Incident, users: list[tuple[User, str]], lvl: int,
                  now: datetime) -> list[tuple[User, str]]:
    """Of the people a level reaches, those who may see the restricted incident; when there are
    none, the security team (or the admins) instead. Being paged must not be a way in."""
    allowed = who_may_see(s, incident, [u.id for u, _how in users])
    kept = [(u, how) for u, how in users if u.id in allowed]
    left_out = [u.name for u, _how in users if u.id not in allowed]
    if left_out:
        subject.note(s, now, "not_notified", f"level {lvl}: {', '.join(left_out)} may not see this restricted "
                     f"incident; not notified", level=lvl)
    if kept:
        return kept
    fallback = [(u, "may see restricted incidents; nobody at this level may")
                for u in need_to_know(s)]
    if fallback:
        subject.note(s, now, "need_to_know", f"level {lvl}: nobody it reaches may see this restricted incident; "
                     f"paging {', '.join(u.name for u, _how in fallback)} instead", level=lvl)
    return fallback


def _drill_only(s: Session, subject: Subject, incident: Incident, users: list[tuple[User, str]], lvl: int,
                now: datetime) -> list[tuple[User, str]]:
    """Of the people a level reaches, those taking part in the drill (`escalation.drill`)."""
    out = drill.outsiders(s, incident, [u.id for u, _how in users])
    if out:
        subject.note(s, now, "not_notified", f"level {lvl}: {', '.join(u.name for u, _how in users if u.id in out)} "
                     f"not notified: {drill.ONLY_PARTICIPANTS}", level=lvl)
    return [(u, how) for u, how in users if u.id not in out]


@functools.cache
def _insert_once(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT (idempotency_key) DO NOTHING, built once per dialect (so it is compiled once)."""
    if dialect == "postgresql":
        return postgresql.insert(table_of(Notification)).on_conflict_do_nothing(index_elements=["idempotency_key"])
    return sqlite.insert(table_of(Notification)).on_conflict_do_nothing(index_elements=["idempotency_key"])


def _notify(s: Session, esc: Escalation, subject: Subject, user: User, epoch: int, how: str, lvl: int, reason: str,
            routes: list[Route], now: datetime, *, shadow: bool = False) -> str:
    """Queue the page for `user` on each of their routes, once: the key names the step (escalation,
    epoch), the user and the route. Return the channels, for the trail. A shadow's copy is marked
    "[shadow]", of kind "shadow": it carries no acknowledge link and nothing it answers acts."""
    if subject.alert is not None and subject.group_id is not None:
        # The counts ("37 alerts firing, 12 new since the first page") are added when it is sent.
        alert = subject.alert
        title = f"[{alert.severity}] {alert.summary}"
        body = (f"{alert.summary}\n\nAlert group {subject.group_id}: one page for all of its alerts "
                f"(the first: {alert.id}, {alert.severity}). Acknowledging this page acknowledges every "
                f"triggered alert of the group.\nYou are paged at level {lvl} ({how}): {reason}.")
        kind = "page"
    elif subject.alert is not None:
        alert = subject.alert
        title = f"[{alert.severity}] {alert.summary}"
        body = (f"{alert.summary}\n\nAlert {alert.id} ({alert.severity}, {alert.urgency} urgency) is {alert.status}.\n"
                f"You are paged at level {lvl} ({how}): {reason}.")
        kind = "page"
    else:
        inc = subject.incident
        assert inc is not None
        if inc.restricted:  # need-to-know: not a word of what it is, nor which service or schedule
            title, body = restricted_words(inc.severity)
        else:
            title = f"[{inc.severity}] INC-{inc.number} needs an Incident Commander: {inc.title}"
            body = (f"{inc.severity} incident INC-{inc.number} \"{inc.title}\" was declared without an Incident "
                    f"Commander.\nYou are paged at level {lvl} ({how}): {reason}.\n"
                    f"Acknowledging this page makes you the Incident Commander.")
        kind = "incident"
    if shadow:
        title, body = shadowed(title, body, how)
        kind = "shadow"
    if len(title) > SUBJECT_MAX:
        title = title[: SUBJECT_MAX - 3] + "..."
    rows = []
    for route in routes:
        tag = hashlib.sha256(f"{route.channel}:{route.destination}:{route.delay_minutes}".encode()).hexdigest()[:16]
        rows.append({"id": new_id(), "user_id": user.id,
                     "alert_id": subject.alert.id if subject.alert is not None else None,
                     "incident_id": subject.incident.id if subject.incident is not None else None,
                     "escalation_id": esc.id, "contact_method_id": route.contact_method_id, "channel": route.channel,
                     "destination": route.destination, "kind": kind, "subject": title, "body": body,
                     "idempotency_key": f"{esc.id}:{epoch}:{user.id}:{tag}", "status": "queued",
                     "created_at": now, "send_after": now + timedelta(minutes=route.delay_minutes), "attempts": 0})
    if rows:
        s.execute(_insert_once(s.get_bind().dialect.name), rows)
    if not routes:
        return "nothing: no contact method applies"
    return ", ".join(r.channel + (f" after {r.delay_minutes} min" if r.delay_minutes else "") for r in routes)


def next_due(db: Database) -> datetime | None:
    """The earliest time an escalation step or a queued notification is due (the engine sleeps until then).
    A read: the engine does not queue for the write lock just to learn how long to sleep."""
    with db.read() as s:
        times = [s.execute(sa.select(sa.func.min(Escalation.next_at)).where(Escalation.status == "active")).scalar(),
                 s.execute(sa.select(sa.func.min(Notification.send_after)).where(Notification.status == "queued"))
                 .scalar()]
    found = [t for t in times if t is not None]
    return min(found) if found else None

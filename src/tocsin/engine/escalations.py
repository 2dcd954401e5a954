"""Engine module: turn page requests into escalations, and take each escalation's due step.

Two phases per tick, each with a bounded batch:

1. `take_page_requests`: pending `page_requests` whose `not_before` has come (SKIP LOCKED on
   PostgreSQL). An alert no longer triggered is cancelled; a service without a policy is taken
   with a `not_paged` decision saying so (nothing is dropped silently); otherwise an
   `escalations` row starts with a snapshot of the service's policy, due now.
2. `run_due`: active escalations whose `next_at` has come. Each step is its own unit of work,
   fenced by the epoch read when it was selected: the step first moves the epoch with a
   conditional UPDATE (`WHERE epoch = :seen AND status = 'active'`), so a step selected before
   an acknowledgement (which stops the escalation and bumps the epoch) does nothing. The step
   locks the alert row before the escalation row, the order acknowledge and resolve use, so
   the two serialise instead of deadlocking. It writes one outbox row per user, keyed by
   escalation, epoch and user and inserted only if absent.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert, AlertDecision, PageRequest
from tocsin.engine.runner import EngineContext
from tocsin.escalation import plan
from tocsin.escalation.models import (
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    Notification,
)
from tocsin.ids import new_id
from tocsin.oncall.models import Schedule
from tocsin.oncall.service import on_call
from tocsin.services.models import Service
from tocsin.users.models import User

log = logging.getLogger("tocsin.engine.escalations")

PAGE_BATCH = 200
STEP_BATCH = 200
SUBJECT_MAX = 200


def escalations(ec: EngineContext) -> int:
    """Take due page requests, then run due escalation steps; return how much work was done."""
    return take_page_requests(ec) + run_due(ec)


def _decide(s: Session, alert_id: uuid.UUID, now: Any, kind: str, reason: str, **data: Any) -> None:
    s.add(AlertDecision(id=new_id(), alert_id=alert_id, at=now, kind=kind, reason=reason,
                        data={k: v for k, v in data.items() if v is not None}))


# --- phase 1: page requests -> escalations ---------------------------------------------------------

def take_page_requests(ec: EngineContext) -> int:
    now = ec.now
    with ec.db.unit_of_work() as s:
        requests = s.execute(
            sa.select(PageRequest).where(PageRequest.status == "pending", PageRequest.not_before <= now)
            .order_by(PageRequest.not_before, PageRequest.id).limit(PAGE_BATCH)
            .with_for_update(skip_locked=True)
        ).scalars().all()
        if not requests:
            return 0
        alerts = {a.id: a for a in s.execute(sa.select(Alert).where(
            Alert.id.in_({r.alert_id for r in requests}))).scalars()}
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
            snap = plan.snapshot(levels[policy.id], policy.repeat, policy_id=policy.id, slug=policy.slug,
                                 name=policy.name)
            esc = Escalation(alert_id=alert.id, service_id=svc.id, policy_snapshot=snap, level=0, loop=0,
                             status="active", next_at=now, epoch=0, started_at=now, updated_at=now)
            s.add(esc)
            s.flush()
            escalating.add(alert.id)
            n = len(snap["levels"])
            _decide(s, alert.id, now, "escalation_started",
                    f"escalation started with policy '{policy.name}' of service {svc.slug} "
                    f"({n} level{'s' if n != 1 else ''}, repeat {policy.repeat})",
                    escalation_id=str(esc.id), policy=policy.slug)
        s.flush()
        return len(requests)


# --- phase 2: due steps ------------------------------------------------------------------------

def due(ec: EngineContext) -> list[tuple[uuid.UUID, uuid.UUID, int]]:
    """(escalation id, alert id, epoch) of up to STEP_BATCH active escalations due at `ec.now`."""
    with ec.db.unit_of_work() as s:
        return [tuple(r) for r in s.execute(  # type: ignore[misc]
            sa.select(Escalation.id, Escalation.alert_id, Escalation.epoch)
            .where(Escalation.status == "active", Escalation.next_at <= ec.now)
            .order_by(Escalation.next_at, Escalation.id).limit(STEP_BATCH)
            .with_for_update(skip_locked=True)).all()]


def run_due(ec: EngineContext) -> int:
    done = 0
    for esc_id, alert_id, epoch in due(ec):
        try:
            done += advance(ec, esc_id, alert_id, epoch)
        except Exception:  # one broken escalation must not hold up the others
            log.exception("escalation %s: step failed; retried next tick", esc_id)
    return done


def advance(ec: EngineContext, esc_id: uuid.UUID, alert_id: uuid.UUID, epoch: int) -> int:
    """Take the step of escalation `esc_id` selected at `epoch`; return 1, or 0 if the fence was lost."""
    now = ec.now
    with ec.db.unit_of_work() as s:
        alert = s.execute(sa.select(Alert).where(Alert.id == alert_id).with_for_update()).scalar_one_or_none()
        won = s.execute(
            sa.update(Escalation).where(Escalation.id == esc_id, Escalation.epoch == epoch,
                                        Escalation.status == "active", Escalation.next_at <= now)
            .values(epoch=epoch + 1, updated_at=now, lease_owner=ec.owner[-64:])
            .execution_options(synchronize_session=False)).rowcount
        if won != 1 or alert is None:
            return 0
        esc = s.execute(sa.select(Escalation).where(Escalation.id == esc_id)).scalar_one()
        if alert.status != "triggered":
            why = f"the alert was {alert.status}"
            esc.status, esc.stop_reason, esc.next_at = "stopped", why, None
            _decide(s, alert.id, now, "escalation_stopped", f"escalation stopped: {why}", escalation_id=str(esc.id))
            s.flush()
            return 1
        st = plan.step(esc.policy_snapshot, esc.level, esc.loop, now)
        if st.exhausted:
            esc.status, esc.stop_reason, esc.next_at = "exhausted", f"{st.reason}; {st.then}", None
            _decide(s, alert.id, now, "escalation_exhausted", f"escalation {st.then}: {st.reason}",
                    escalation_id=str(esc.id))
            s.flush()
            return 1
        lvl = esc.level + 1
        if esc.level > 0 or esc.loop > 0:
            _decide(s, alert.id, now, "escalated", f"escalated to {st.reason}", escalation_id=str(esc.id),
                    level=lvl, loop=esc.loop)
        users = _resolve(s, alert, st.targets, lvl, now)
        for user, how in users:
            _notify(s, esc, alert, user, epoch, how, lvl, st.reason, now)
            _decide(s, alert.id, now, "notified", f"notified {user.name} (level {lvl}: {how})",
                    user_id=str(user.id), level=lvl, escalation_id=str(esc.id))
        if not users:
            _decide(s, alert.id, now, "not_notified", f"level {lvl}: nobody to notify", level=lvl,
                    escalation_id=str(esc.id))
        esc.level, esc.loop, esc.next_at = st.next_level, st.next_loop, st.next_at
        esc.updated_at = now
        s.flush()
        return 1


def _resolve(s: Session, alert: Alert, targets: tuple[dict[str, str], ...], lvl: int,
             now: Any) -> list[tuple[User, str]]:
    """The users to notify for these targets, each once, with how they were reached. A target that
    reaches nobody (an empty schedule, a deactivated user) is recorded with its reason and skipped."""
    found: list[tuple[User, str]] = []
    seen: set[uuid.UUID] = set()

    def add(user: User | None, how: str, missing: str) -> None:
        if user is None or not user.is_active:
            why = missing if user is None else f"{user.name} is deactivated"
            _decide(s, alert.id, now, "not_notified", f"level {lvl}: {why}; skipped", level=lvl)
        elif user.id not in seen:
            seen.add(user.id)
            found.append((user, how))

    for t in targets:
        try:
            tid = uuid.UUID(t["id"])
        except (KeyError, ValueError):
            _decide(s, alert.id, now, "not_notified", f"level {lvl}: unreadable target {t!r}; skipped", level=lvl)
            continue
        if t["type"] == "user":
            add(s.get(User, tid), "user", f"user {tid} no longer exists")
            continue
        schedule = s.get(Schedule, tid)
        if schedule is None:
            _decide(s, alert.id, now, "not_notified", f"level {lvl}: schedule {tid} no longer exists; skipped",
                    level=lvl)
            continue
        shift = on_call(s, schedule=schedule, at=now, now=now)
        if shift is None:
            _decide(s, alert.id, now, "not_notified",
                    f"level {lvl}: schedule '{schedule.slug}' has nobody on call; falling through to the "
                    f"level's other targets", level=lvl, schedule=schedule.slug)
            continue
        add(s.get(User, uuid.UUID(shift.user)), f"on call in schedule '{schedule.slug}'",
            f"the on-call user {shift.user} of schedule '{schedule.slug}' no longer exists")
    return found


def _notify(s: Session, esc: Escalation, alert: Alert, user: User, epoch: int, how: str, lvl: int, reason: str,
            now: Any) -> None:
    """Queue one page for `user`, once: the key names the step (escalation, epoch) and the user."""
    subject = f"[{alert.severity}] {alert.summary}"
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 3] + "..."
    body = (f"{alert.summary}\n\nAlert {alert.id} ({alert.severity}, {alert.urgency} urgency) is {alert.status}.\n"
            f"You are paged at level {lvl} ({how}): {reason}.")
    row = {"id": new_id(), "user_id": user.id, "alert_id": alert.id, "escalation_id": esc.id, "kind": "page",
           "subject": subject, "body": body, "idempotency_key": f"{esc.id}:{epoch}:{user.id}", "status": "queued",
           "created_at": now, "send_after": now, "attempts": 0}
    dialect = s.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Notification.__table__)
    s.execute(insert.values(row).on_conflict_do_nothing(index_elements=["idempotency_key"]))

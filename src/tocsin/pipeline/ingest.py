"""The alert pipeline: apply a batch of normalized events in the caller's transaction.

For each event, in order: route → dedup → (new alert) group → suppress → page request →
auto-incident. Every step's decision and reason is stored (`alert_decisions`), and every event
is stored as an occurrence (`alert_events`) with what was done with it.

The hot path is set-based: the batch's open alerts and groups are read in a few queries,
decisions are made in memory, and rows are written with executemany, outside the ORM.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import (
    Alert,
    AlertDecision,
    AlertEvent,
    AlertGroup,
    PageRequest,
)
from tocsin.alerts.service import (
    CREATED,
    cancel_pages,
    close_finished_groups,
    end_inhibitions,
)
from tocsin.db.base import table_of
from tocsin.db.bulk import insert_objects, insert_rows
from tocsin.flows.alerts import closed as alerts_closed
from tocsin.ids import new_id, uuid_from_hex
from tocsin.inbound.timeparse import parse_timestamp
from tocsin.inbound.types import Action, AlertSeverity, Event, outside_key
from tocsin.pipeline import decide
from tocsin.pipeline.context import Context, ServiceView, load_context
from tocsin.pipeline.decide import Route
from tocsin.pipeline.incidents import attach_to_incident_id, auto_incident
from tocsin.pipeline.inhibit import INHIBITED, Inhibitor
from tocsin.pipeline.rows import OPEN_ALERT_COLUMNS, Changes, GroupRow, NewAlert, OpenAlert, Previous, Step

log = logging.getLogger("tocsin.pipeline")

A = table_of(Alert)
G = table_of(AlertGroup)
E = table_of(AlertEvent)
D = table_of(AlertDecision)
P = table_of(PageRequest)


@dataclass(slots=True)
class Incoming:
    event: Event
    service_id: uuid.UUID
    integration_id: uuid.UUID | None
    source: str
    event_id: uuid.UUID = field(default_factory=new_id)
    received_at: datetime | None = None  # when it was accepted (journaled), if before it is applied
    body: dict[str, Any] | None = None  # `event_body(event)`, when already built (read from the journal)


@dataclass(slots=True)
class Outcome:
    event_id: uuid.UUID
    alert_id: uuid.UUID | None
    outcome: str  # created | deduplicated | acknowledged | resolved | ignored | pending
    reason: str


# Senders whose dedup keys belong to the integration rather than the service: PagerDuty deduplicates
# per routing key, so two Events v2 integrations of one service never merge, acknowledge or resolve
# each other's alerts by a shared key.
PER_INTEGRATION_KEYS = frozenset({"events_v2"})


def scope_of(item: Incoming) -> str:
    """The dedup scope of an event: its integration's hex id for PER_INTEGRATION_KEYS senders, else ""."""
    if item.source in PER_INTEGRATION_KEYS and item.integration_id is not None:
        return item.integration_id.hex
    return ""


def event_body(ev: Event) -> dict[str, Any]:
    body = {"summary": ev.summary, "severity": ev.severity.value, "source": ev.source, "labels": ev.labels,
            "details": ev.details, "links": ev.links,
            "occurred_at": ev.occurred_at.isoformat() if ev.occurred_at else None, "payload": ev.payload}
    if ev.warnings:
        body["warnings"] = list(ev.warnings)
    if ev.alert_id is not None:
        body["alert_id"] = ev.alert_id.hex
    return body


def ingest(session: Session, items: Sequence[Incoming], *, now: datetime) -> list[Outcome]:
    """Store `items` as events and apply them; return one outcome per item, in order.

    The events are written whatever happens. If applying them fails, the pipeline's writes
    are rolled back to a savepoint and the events stay pending (outcome NULL) for the
    engine to apply later, so an accepted event is never lost to a pipeline bug.
    """
    if not items:
        return []
    for item in items:
        key = outside_key(item.source, item.event.dedup_key)
        if key != item.event.dedup_key:
            item.event = dataclasses.replace(item.event, dedup_key=key)
    try:
        with session.begin_nested():
            outcomes = Batch(session, now).run(items)
    except Exception:
        log.exception("alert pipeline failed on a batch of %d events; kept pending", len(items))
        outcomes = [Outcome(i.event_id, None, "pending", "stored; applying it failed and will be retried")
                    for i in items]
    _store_events(session, items, outcomes, now)
    return outcomes


def apply_pending(session: Session, *, now: datetime, limit: int = 500) -> int:
    """Apply stored events that are still pending (after a pipeline failure); return how many."""
    rows = session.execute(sa.select(AlertEvent).where(AlertEvent.outcome.is_(None))
                           .order_by(AlertEvent.received_at, AlertEvent.id).limit(limit)
                           .with_for_update(skip_locked=True)).scalars().all()  # one engine per event
    done = 0
    for row in rows:  # one at a time, so that one bad event cannot hold back the others
        item = Incoming(event_from_body(row), row.service_id, row.integration_id, row.source, row.id)
        try:
            with session.begin_nested():
                out = Batch(session, now).run([item])[0]
        except Exception as exc:
            log.exception("alert event %s could not be applied", row.id)
            out = Outcome(row.id, None, "failed", f"could not be applied: {type(exc).__name__}")
        row.outcome, row.outcome_reason, row.alert_id, row.applied_at = out.outcome, out.reason, out.alert_id, now
        done += 1
    session.flush()
    return done


def event_from_body(row: AlertEvent) -> Event:
    return event_from(row.action, row.dedup_key, row.body)


def event_from(action: str, dedup_key: str, b: dict[str, Any]) -> Event:
    """The event `event_body` stored."""
    return Event(action=Action(action), dedup_key=dedup_key, summary=b.get("summary", ""),
                 severity=AlertSeverity(b.get("severity", "error")), source=b.get("source", ""),
                 labels=b.get("labels") or {}, details=b.get("details"), links=b.get("links") or [],
                 occurred_at=parse_timestamp(b["occurred_at"]) if b.get("occurred_at") else None,
                 payload=b.get("payload"), warnings=tuple(b.get("warnings") or ()),
                 alert_id=uuid_from_hex(str(b["alert_id"])) if b.get("alert_id") else None)


def _store_events(session: Session, items: Sequence[Incoming], outcomes: Sequence[Outcome], now: datetime) -> None:
    insert_rows(session, E, [
        {"id": i.event_id, "service_id": i.service_id, "integration_id": i.integration_id, "source": i.source,
         "action": i.event.action.value, "dedup_key": i.event.dedup_key, "received_at": i.received_at or now,
         "applied_at": None if o.outcome == "pending" else now, "body": i.body if i.body is not None else event_body(i.event), "alert_id": o.alert_id,
         "outcome": None if o.outcome == "pending" else o.outcome, "outcome_reason": o.reason}
        for i, o in zip(items, outcomes, strict=True)])


class Batch:
    """One batch's in-memory state: the open alerts and groups it touches, and the rows to write."""

    def __init__(self, session: Session, now: datetime, ctx: Context | None = None) -> None:
        self.s = session
        self._now = now
        if ctx is not None:
            self.ctx = ctx
        self.open: dict[tuple[uuid.UUID, str, str], OpenAlert] = {}  # by (service, dedup scope, key)
        self.by_sender: dict[tuple[uuid.UUID, str], OpenAlert] = {}  # open alerts by (integration, key)
        self.by_id: dict[uuid.UUID, OpenAlert] = {}  # open alerts by id (actions that name their alert)
        self.previous: dict[tuple[uuid.UUID, str, str], Previous] = {}
        self.groups: dict[tuple[uuid.UUID, str], GroupRow] = {}
        self.new_alerts: list[NewAlert] = []
        self.dirty_alerts: dict[uuid.UUID, Changes] = {}
        self.new_groups: list[GroupRow] = []
        self.dirty_groups: dict[uuid.UUID, Changes] = {}
        self.decisions: list[dict[str, object]] = []
        self.steps: dict[uuid.UUID, list[Step]] = {}  # decisions about alerts this batch creates
        self.pages: list[dict[str, object]] = []
        self.stopped: set[uuid.UUID] = set()  # alerts acknowledged or resolved: cancel their pending pages
        self.resolved_groups: set[uuid.UUID] = set()
        self.resolved: set[uuid.UUID] = set()  # alerts resolved: what they inhibit is re-checked
        self._inhibitor: Inhibitor | None = None
        self.joined: dict[uuid.UUID, tuple[str, str]] = {}  # group id -> the reason of joining it, its id

    ctx: Context

    @property
    def inhibitor(self) -> Inhibitor:
        """The firing alerts that can inhibit others (read lazily, at most once a batch)."""
        if self._inhibitor is None:
            self._inhibitor = Inhibitor(self.s, self.ctx)
        return self._inhibitor

    @property
    def now(self) -> datetime:
        return self._now

    # -- loading ---------------------------------------------------------------------------
    def _load(self, items: Sequence[Incoming]) -> None:
        self.ctx = load_context(self.s, now=self.now, service_ids={i.service_id for i in items})
        keys = {i.event.dedup_key for i in items}
        # The senders' services and every service a routing rule can move an alert to.
        services = {i.service_id for i in items} | {r.service_id for r in self.ctx.rules if r.service_id}
        cols = [A.c[name] for name in OPEN_ALERT_COLUMNS]
        # `status <> 'resolved'` is the partial unique index's own predicate, so the planner uses it.
        # Locked (PostgreSQL; SQLite has one writer anyway) in id order, so that a second server or
        # engine process applying events to the same alerts waits instead of losing an update.
        found: sa.ColumnElement[bool] = sa.and_(A.c.dedup_key.in_(keys), A.c.service_id.in_(services))
        # and the alerts an action names by id, wherever they are now (a routing rule since deleted
        # moved them): in the same statement, so that every lock is taken in one id order.
        named = {i.event.alert_id for i in items if i.event.alert_id is not None}
        if named:
            found = sa.or_(found, A.c.id.in_(named))
        stmt = (sa.select(*cols).where(found, A.c.status != "resolved").order_by(A.c.id).with_for_update())
        for row in self.s.execute(stmt):
            self._remember(OpenAlert(*row))

    def _remember(self, alert: OpenAlert) -> None:
        self.open[(alert.service_id, alert.dedup_scope, alert.dedup_key)] = alert
        self.by_id[alert.id] = alert
        if alert.integration_id is not None:
            self.by_sender[(alert.integration_id, alert.dedup_key)] = alert

    def _forget(self, alert: OpenAlert) -> None:
        self.open.pop((alert.service_id, alert.dedup_scope, alert.dedup_key), None)
        self.by_id.pop(alert.id, None)
        if alert.integration_id is not None:
            self.by_sender.pop((alert.integration_id, alert.dedup_key), None)

    def _load_previous(self, pairs: set[tuple[uuid.UUID, str, str]]) -> None:
        """The latest earlier alert for each (service, scope, key) about to get a new alert: linked, and flap-checked."""
        pairs -= set(self.previous)
        if not pairs:
            return
        part = (A.c.service_id, A.c.dedup_scope, A.c.dedup_key)
        ranked = sa.select(A.c.id, A.c.service_id, A.c.dedup_scope, A.c.dedup_key, sa.func.row_number().over(
            partition_by=part, order_by=(A.c.first_seen_at.desc(), A.c.id.desc())).label("rn"),
            # the key's last page, whichever earlier alert it was: flap damping pages once per window
            sa.func.max(A.c.paged_at).over(partition_by=part).label("paged_at"),
        ).where(A.c.dedup_key.in_({k for _, _, k in pairs}),
                             A.c.service_id.in_({s for s, _, _ in pairs})).subquery()
        latest = sa.select(ranked.c.id, ranked.c.service_id, ranked.c.dedup_scope, ranked.c.dedup_key,
                           ranked.c.paged_at).where(ranked.c.rn == 1)
        for alert_id, service_id, scope, dedup_key, paged_at in self.s.execute(latest):
            self.previous[(service_id, scope, dedup_key)] = Previous(alert_id, paged_at)

    def _load_groups(self, pairs: set[tuple[uuid.UUID, str]]) -> None:
        pairs -= set(self.groups)
        if not pairs:
            return
        for row in self.s.execute(sa.select(G).where(G.c.status == "open", G.c.group_key.in_({k for _, k in pairs}),
                                                     G.c.service_id.in_({s for s, _ in pairs}))).mappings():
            group = GroupRow(**row)
            self.groups[(group.service_id, group.group_key)] = group

    # -- running ---------------------------------------------------------------------------
    def run(self, items: Sequence[Incoming]) -> list[Outcome]:
        self._load(items)
        matched = [self._match(i) for i in items]
        routed = [self._route(i, labels) for i, labels in zip(items, matched, strict=True)]
        creating = {(r.service_id, scope_of(i), i.event.dedup_key) for i, r in zip(items, routed, strict=True)
                    if i.event.action is Action.trigger
                    and (r.service_id, scope_of(i), i.event.dedup_key) not in self.open}
        self._load_previous(creating)
        group_pairs = set()
        for i, r in zip(items, routed, strict=True):
            if (r.service_id, scope_of(i), i.event.dedup_key) in creating:
                svc = self.ctx.services[r.service_id]
                group_pairs.add((r.service_id, decide.group_key(svc.settings, i.event.labels)[0]))
        self._load_groups(group_pairs)
        outcomes = [self._apply(i, r, labels) for i, r, labels in zip(items, routed, matched, strict=True)]
        self.flush()
        return outcomes

    def _match(self, item: Incoming) -> dict[str, str]:
        """The labels matchers see for `item` on the service it was sent to (not to be changed)."""
        ev = item.event
        return self.ctx.match_labels(ev.labels, service_id=item.service_id, severity=ev.severity.value,
                                     source=item.source)

    def _route(self, item: Incoming, labels: dict[str, str]) -> Route:
        ev = item.event
        return decide.route(labels=labels, service_id=item.service_id, severity=ev.severity.value,
                            rules=self.ctx.rules, slugs=self.ctx.slugs, drills=self.ctx.drills)

    def note(self, alert_id: uuid.UUID, kind: str, reason: str, **data: object) -> None:
        """Record a decision about the alert, with its reason."""
        if None in data.values():  # `data` is this call's own dict: kept as it is when nothing is None
            data = {k: v for k, v in data.items() if v is not None}
        step: Step = {"kind": kind, "reason": reason, "data": data}
        steps = self.steps.get(alert_id)
        if steps is not None:
            steps.append(step)
            return
        self.decisions.append({"id": new_id(), "alert_id": alert_id, "at": self.now, **step})

    def _creation_decisions(self) -> None:
        """A new alert's decisions (routed, grouped, held back or paged, ...) go in one row, kind
        `created`, with each step in `data.steps`: one row instead of four on the hot path.
        `alerts.service.expand_decisions` lists them as separate decisions again."""
        for alert_id, steps in self.steps.items():
            self.decisions.append({"id": new_id(), "alert_id": alert_id, "at": self.now, "kind": CREATED,
                                   "reason": "; ".join(st["reason"] for st in steps), "data": {"steps": steps}})
        self.steps.clear()

    def touch(self, alert: OpenAlert, **changes: object) -> None:
        """Change columns of an alert: a new one is inserted with them, a read one updated at flush."""
        for name, value in changes.items():
            if hasattr(alert, name):
                setattr(alert, name, value)
        if not alert.is_new:
            self.dirty_alerts.setdefault(alert.id, {"id": alert.id}).update(changes)

    def touch_group(self, group: GroupRow, **changes: object) -> None:
        """Change columns of a group: a new one is inserted with them, a read one updated at flush."""
        for name, value in changes.items():
            setattr(group, name, value)
        if not group.is_new:
            self.dirty_groups.setdefault(group.id, {"id": group.id}).update(changes)

    def _apply(self, item: Incoming, route: Route, matched: dict[str, str]) -> Outcome:
        ev = item.event
        alert = self.open.get((route.service_id, scope_of(item), ev.dedup_key))
        if ev.action is Action.trigger:
            if alert is None:
                return self._create(item, route, matched)
            self.touch(alert, occurrences=alert.occurrences + 1, last_seen_at=self.now)
            return Outcome(item.event_id, alert.id, "deduplicated",
                           f"deduplicated into open alert {alert.id} (key {ev.dedup_key}); "
                           f"occurrence {alert.occurrences}")
        if ev.alert_id is not None:  # the action names its alert: that one, open, or nothing
            alert = self.by_id.get(ev.alert_id)
        elif alert is None and item.integration_id is not None:
            # An acknowledge or resolve carries no labels to route by: it applies to the open alert
            # its sender opened with this key, wherever a routing rule moved that alert.
            alert = self.by_sender.get((item.integration_id, ev.dedup_key))
        if alert is None:
            return Outcome(item.event_id, None, "ignored",
                           f"{ev.action.value} ignored: no open alert with key {ev.dedup_key} on "
                           f"{self.ctx.slugs.get(route.service_id, route.service_id)}")
        who = item.source
        if ev.action is Action.acknowledge:
            if alert.status == "acknowledged":
                return Outcome(item.event_id, alert.id, "ignored", "already acknowledged")
            self.touch(alert, status="acknowledged", acknowledged_at=self.now, last_seen_at=self.now)
            self.stopped.add(alert.id)
            self.note(alert.id, "acknowledged", f"acknowledged by {who}")
            return Outcome(item.event_id, alert.id, "acknowledged", f"acknowledged alert {alert.id}")
        self.touch(alert, status="resolved", resolved_at=self.now, last_seen_at=self.now, suppressed_by=None,
                   held_until=None, inhibited_by=None)
        self.stopped.add(alert.id)
        self.resolved.add(alert.id)
        self.inhibitor.gone(alert.id)
        self._forget(alert)
        if alert.group_id:
            self.resolved_groups.add(alert.group_id)
        self.note(alert.id, "resolved", f"resolved by {who}")
        return Outcome(item.event_id, alert.id, "resolved", f"resolved alert {alert.id}")

    def _create(self, item: Incoming, route: Route, matched: dict[str, str]) -> Outcome:
        ev, now = item.event, self.now
        svc = self.ctx.services[route.service_id]
        alert_id = new_id()
        scope = scope_of(item)
        prev = self.previous.get((route.service_id, scope, ev.dedup_key))
        alert = NewAlert(
            id=alert_id, service_id=route.service_id, integration_id=item.integration_id, dedup_key=ev.dedup_key,
            dedup_scope=scope,
            status="triggered", occurrences=1, group_id=None, paged_at=None, incident_id=None, summary=ev.summary,
            source=item.source, severity=ev.severity.value, urgency=route.urgency, labels=ev.labels,
            details=ev.details, links=ev.links, previous_alert_id=prev.id if prev else None, first_seen_at=now,
            last_seen_at=now)
        self.new_alerts.append(alert)
        self.steps[alert_id] = []
        self._remember(alert)
        self.note(alert_id, "routed", route.reason, rule_id=str(route.rule_id) if route.rule_id else None,
                  service=svc.slug, urgency=route.urgency)
        for warning in ev.warnings:
            self.note(alert_id, "warning", warning)
        if prev:
            self.note(alert_id, "reopened", f"the same alert fired before as {prev.id}; linked",
                      previous_alert_id=str(prev.id))
        group = self._group(alert, svc)
        labels = matched if svc.id == item.service_id else self.ctx.match_labels(  # routed elsewhere
            ev.labels, service_id=svc.id, severity=ev.severity.value, source=item.source)
        held = self.inhibitor.check(alert_id, svc.id, labels)
        muted = None if held else decide.suppression(
            now=now, service_id=svc.id, labels=labels, windows=self.ctx.windows, silences=self.ctx.silences,
            last_paged_at=prev.paged_at if prev else None, flap_window_seconds=svc.settings.flap_window_seconds)
        if held:  # released when its cause resolves (end_inhibitions; pipeline/unsuppress.py)
            alert.suppressed_by, alert.inhibited_by = INHIBITED, held.source_id
            self.note(alert_id, INHIBITED, held.reason, ref=held.ref, source_alert_id=str(held.source_id))
        else:
            self.inhibitor.firing_now(alert_id, svc.id, ev.summary, labels)
        if muted:
            alert.suppressed_by, alert.held_until = muted.kind, muted.until  # the engine re-checks it then
            self.note(alert_id, muted.kind, muted.reason, ref=muted.ref,
                      until=muted.until.isoformat() if muted.until else None)
        elif not held:
            self.request_page(alert, alert.urgency, svc)
            auto_incident(self.s, self, rules=self.ctx.auto_rules, alert=alert, group=group, labels=labels,
                          service=svc, drills=self.ctx.drills, slugs=self.ctx.slugs)
        if alert.incident_id is None and group.incident_id:
            attach_to_incident_id(self.s, self, alert=alert, incident_id=group.incident_id,
                                  why="its group is linked to this incident")
        return Outcome(item.event_id, alert_id, "created", f"new alert {alert_id}")

    def request_page(self, alert: OpenAlert, urgency: str, svc: ServiceView) -> None:
        """Hand the alert to escalation (a page request, taken by the engine), or, when its service
        has no escalation policy, record here that it is not paged: a storm of alerts nobody is paged
        for leaves no work for the engine to queue ahead of real pages. (The engine still checks the
        policy when it takes a request: one may be detached in between.)"""
        alert.paged_at = self.now  # flap damping counts this firing either way
        if not alert.is_new:
            self.touch(alert, paged_at=self.now, suppressed_by=None, held_until=None)
        if not svc.has_policy:
            self.note(alert.id, "not_paged", f"service {svc.slug} has no escalation policy", service=svc.slug)
            return
        at, why = decide.page_time(urgency=urgency, now=self.now, support_hours=svc.settings.support_hours)
        self.pages.append({"id": new_id(), "alert_id": alert.id, "service_id": alert.service_id,
                           "urgency": urgency, "reason": why, "created_at": self.now, "not_before": at,
                           "status": "pending"})
        self.note(alert.id, "page_requested", why, not_before=at.isoformat())

    def _group(self, alert: NewAlert, svc: ServiceView) -> GroupRow:
        key, picked = decide.group_key(svc.settings, alert.labels)
        group = self.groups.get((svc.id, key))
        if group is not None and not decide.group_open_for(group.created_at, svc.settings, self.now):
            self.touch_group(group, status="closed", closed_at=self.now)  # its alerts stay in it
            group = None
        if group is None:
            group = GroupRow(id=new_id(), service_id=svc.id, group_key=key, labels=picked, status="open",
                             created_at=self.now, last_alert_at=self.now, closed_at=None, alert_count=0,
                             incident_id=None, is_new=True)
            self.new_groups.append(group)
            self.groups[(svc.id, key)] = group
            self.touch_group(group, alert_count=group.alert_count + 1, last_alert_at=self.now)
            alert.group_id = group.id
            self.note(alert.id, "grouped", f"opened a new group {group.id}; {_grouped_by(picked, svc)}",
                      group_id=str(group.id))
            return group
        # Every alert joining a group in this batch gets the same reason: made once.
        joined = self.joined.get(group.id)
        if joined is None:
            joined = self.joined[group.id] = (
                f"joined open group {group.id} (opened {group.created_at.isoformat()}); {_grouped_by(picked, svc)}",
                str(group.id))
        self.touch_group(group, alert_count=group.alert_count + 1, last_alert_at=self.now)
        alert.group_id = group.id
        self.note(alert.id, "grouped", joined[0], group_id=joined[1])
        return group

    # -- writing ---------------------------------------------------------------------------
    def flush(self) -> None:
        s = self.s
        for changes in _by_shape(self.dirty_groups.values()):
            s.execute(G.update().where(G.c.id == sa.bindparam("gid")).values(
                {k: sa.bindparam(k) for k in changes[0] if k != "id"}),
                [{**{k: v for k, v in c.items() if k != "id"}, "gid": c["id"]} for c in changes])
        insert_objects(s, G, self.new_groups)
        insert_objects(s, A, self.new_alerts)
        for changes in _by_shape(self.dirty_alerts.values()):
            s.execute(A.update().where(A.c.id == sa.bindparam("aid")).values(
                {k: sa.bindparam(k) for k in changes[0] if k != "id"}),
                [{**{k: v for k, v in c.items() if k != "id"}, "aid": c["id"]} for c in changes])
        self._creation_decisions()
        insert_rows(s, D, self.decisions)
        insert_rows(s, P, self.pages)
        if self.stopped:
            cancel_pages(s, self.stopped)
            alerts_closed(s, self.stopped, reason=None, now=self.now)
        if self.resolved_groups:
            close_finished_groups(s, self.resolved_groups, self.now)
        if self.resolved:
            end_inhibitions(s, self.resolved, self.now)


def _grouped_by(picked: dict[str, str], svc: ServiceView) -> str:
    by = ", ".join(f"{k}={v!r}" for k, v in picked.items()) or "no labels (one group per window)"
    return f"grouped by {by} within {svc.settings.group_window_seconds} s"


def _by_shape(rows: Iterable[Changes]) -> list[list[Changes]]:
    """Split update rows by the set of columns they change (executemany needs one shape).

    The row's own `id` goes in as `gid`/`aid`: a parameter named like a column would be SET too."""
    shapes: dict[tuple[str, ...], list[Changes]] = {}
    for r in rows:
        shapes.setdefault(tuple(sorted(r)), []).append(r)
    return list(shapes.values())

"""Everything a public status page shows, read from the database in one go.

`load` is the only place the public side reads the database: it copies the public fields of
the page, its components, its public incidents and maintenances into the frozen dataclasses of
`views.py`, and computes the uptime bars. Rendering (`render.site`) is then a pure function of the snapshot,
which is what lets the cache render off the request path and the export write the same bytes.

Internal links (`incident_id`, `service_id`, `check_id`, actors) are read only to compute
public things (uptime from a check) and are never copied into the snapshot.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.checks.models import Check, CheckResult
from tocsin.checks.quorum import effective_quorum
from tocsin.statuspage import uptime
from tocsin.statuspage.models import (
    ComponentStatusChange,
    StatusComponent,
    StatusIncident,
    StatusIncidentComponent,
    StatusPage,
    StatusUpdate,
)
from tocsin.statuspage.types import (
    COMPONENT_SEVERITY,
    MAINTENANCE_ACTIVE,
    UNRESOLVED,
    MaintenanceStatus,
    StatusIncidentKind,
)
from tocsin.statuspage.views import (
    RECENT,
    Affected,
    Component,
    Incident,
    PageInfo,
    PageSnapshot,
    Update,
    zone_of,
)


def load(session: Session, page: StatusPage, now: datetime, *, base_url: str | None = None) -> PageSnapshot:
    """Read `page` as the public sees it at `now`. `base_url` (tocsin's public address) makes
    `page.url` when the page has no public_url of its own."""
    zone = zone_of(page.time_zone)
    url = page.public_url or f"{(base_url or '').rstrip('/')}/status/{page.slug}"
    info = PageInfo(str(page.id), page.slug, page.name, page.description or "", page.logo_url, url,
                    zone.key, page.updated_at)
    components = _components(session, page, now, zone)
    incidents = _incidents(session, page, StatusIncidentKind.incident.value, UNRESOLVED, StatusIncident.started_at)
    maintenances = _incidents(session, page, StatusIncidentKind.maintenance.value,
                              (MaintenanceStatus.scheduled.value, *MAINTENANCE_ACTIVE),
                              sa.func.coalesce(StatusIncident.scheduled_for, StatusIncident.started_at))
    return PageSnapshot(info, components, incidents, maintenances, now)


def _components(session: Session, page: StatusPage, now: datetime, zone: ZoneInfo) -> tuple[Component, ...]:
    rows = list(session.execute(sa.select(StatusComponent).where(StatusComponent.page_id == page.id)
                                .order_by(StatusComponent.position, StatusComponent.created_at,
                                          StatusComponent.id)).scalars())
    since = uptime.window_start(now, zone)
    leaves = [r for r in rows if not r.is_group]
    changes = _changes(session, [r.id for r in leaves], since)
    failing = _failing(session, {r.check_id for r in leaves if r.check_id}, since, now)
    built: dict[uuid.UUID, Component] = {}
    for r in rows:
        bars = None
        if not r.is_group:
            log = changes.get(r.id, [])
            before = [status for at, status in log if at <= since]
            initial = before[-1] if before else "operational"
            intervals = uptime.status_intervals(log, initial=initial, since=since, until=now)
            bars = uptime.compute(statuses=intervals, failing=failing.get(r.check_id, []) if r.check_id else [],
                                  now=now, zone=zone, since=r.created_at)
        kids = [c for c in rows if c.group_id == r.id] if r.is_group else []
        children = tuple(str(c.id) for c in kids)
        # A group shows the worst of its components, as Statuspage's groups do.
        status = max((c.status for c in kids), key=lambda v: COMPONENT_SEVERITY.get(v, 0)) if kids else r.status
        built[r.id] = Component(str(r.id), r.name, r.description or "", status, r.position,
                                str(r.group_id) if r.group_id else None, r.is_group, r.only_show_if_degraded,
                                r.created_at, r.updated_at, children, bars)
    ordered: list[Component] = []
    ids = {r.id for r in rows}
    for r in rows:
        if r.group_id is None or r.group_id not in ids:
            ordered.append(built[r.id])
            if r.is_group:
                ordered.extend(built[c.id] for c in rows if c.group_id == r.id)
    return tuple(ordered)


def _changes(session: Session, ids: list[uuid.UUID], since: datetime) -> dict[uuid.UUID, list[tuple[datetime, str]]]:
    """Each component's changes in the window, plus the last one before it (the starting status)."""
    out: dict[uuid.UUID, list[tuple[datetime, str]]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.execute(sa.select(ComponentStatusChange.component_id, ComponentStatusChange.at,
                                     ComponentStatusChange.status)
                           .where(ComponentStatusChange.component_id.in_(ids), ComponentStatusChange.at > since)
                           .order_by(ComponentStatusChange.at)).all()
    for cid, at, status in rows:
        out[cid].append((at, status))
    last = (sa.select(ComponentStatusChange.component_id, sa.func.max(ComponentStatusChange.at).label("at"))
            .where(ComponentStatusChange.component_id.in_(ids), ComponentStatusChange.at <= since)
            .group_by(ComponentStatusChange.component_id).subquery())
    for cid, at, status in session.execute(
            sa.select(ComponentStatusChange.component_id, ComponentStatusChange.at, ComponentStatusChange.status)
            .join(last, sa.and_(last.c.component_id == ComponentStatusChange.component_id,
                                last.c.at == ComponentStatusChange.at))).all():
        out[cid].insert(0, (at, status))
    return out


def _failing(session: Session, check_ids: set[uuid.UUID], since: datetime,
             now: datetime) -> dict[uuid.UUID, list[uptime.Interval]]:
    """Failing spans of each linked check in the window: a failed result lasts until the same
    location's next result (computed in the database, so only failed rows come back), at most 3
    check intervals; a check run from several locations fails where a quorum of them does."""
    out: dict[uuid.UUID, list[uptime.Interval]] = {}
    if not check_ids:
        return out

    gaps, quorums = {}, {}
    for cid, sec, locations, quorum in session.execute(
            sa.select(Check.id, Check.interval_seconds, Check.locations, Check.quorum)
            .where(Check.id.in_(check_ids))).all():
        gaps[cid] = timedelta(seconds=3 * max(1, int(sec or 60)))
        quorums[cid] = effective_quorum(quorum, len(locations or ["server"]))
    # each location's results in their own sequence: a failure lasts until that location's next result
    ordered = (sa.select(CheckResult.check_id, CheckResult.location, CheckResult.at, CheckResult.ok,
                         sa.func.lead(CheckResult.at).over(partition_by=(CheckResult.check_id, CheckResult.location),
                                                           order_by=CheckResult.at).label("next_at"))
               .where(CheckResult.check_id.in_(check_ids), CheckResult.at >= since - timedelta(days=1))
               .subquery())
    rows = session.execute(sa.select(ordered.c.check_id, ordered.c.location, ordered.c.at, ordered.c.next_at)
                           .where(ordered.c.ok.is_(False))).all()
    spans: dict[uuid.UUID, dict[str, list[uptime.Interval]]] = {}
    for cid, location, at, next_at in rows:
        at = _aware(at)
        gap = gaps.get(cid, timedelta(minutes=3))
        end = min(_aware(next_at) if next_at is not None else now, at + gap, now)
        if end > at:
            spans.setdefault(cid, {}).setdefault(location, []).append(uptime.Interval(at, end, "failed"))
    for cid, by_location in spans.items():
        # failing on the page as in alerting: only while a quorum of the check's locations fails
        out[cid] = uptime.quorum_spans(by_location.values(), quorums.get(cid, 1))
    return out


def _aware(value: datetime | str) -> datetime:
    """Window-function results bypass the column type on SQLite: parse and mark them UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _incidents(session: Session, page: StatusPage, kind: str, open_statuses: tuple[str, ...],
               newest: sa.SQLColumnExpression[datetime]) -> tuple[Incident, ...]:
    """The `RECENT` newest of `kind`, plus any still open beyond them, newest first."""
    base = sa.select(StatusIncident).where(StatusIncident.page_id == page.id, StatusIncident.kind == kind)
    recent = list(session.execute(base.order_by(newest.desc(), StatusIncident.id.desc()).limit(RECENT)).scalars())
    seen = {r.id for r in recent}
    extra = [r for r in session.execute(base.where(StatusIncident.status.in_(open_statuses))).scalars()
             if r.id not in seen]
    rows = recent + extra
    if not rows:
        return ()
    ids = [r.id for r in rows]
    updates: dict[uuid.UUID, list[Update]] = {i: [] for i in ids}
    for u in session.execute(sa.select(StatusUpdate).where(StatusUpdate.status_incident_id.in_(ids))
                             .order_by(StatusUpdate.display_at.desc(), StatusUpdate.created_at.desc(),
                                       StatusUpdate.id.desc())).scalars():
        updates[u.status_incident_id].append(Update(
            str(u.id), u.status, u.body or "", _affected(u.affected_components), bool(u.deliver_notifications),
            u.display_at, u.created_at))
    comps: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    for sid, cid in session.execute(sa.select(StatusIncidentComponent.status_incident_id,
                                              StatusIncidentComponent.component_id)
                                    .join(StatusComponent, StatusComponent.id == StatusIncidentComponent.component_id)
                                    .where(StatusIncidentComponent.status_incident_id.in_(ids))
                                    .order_by(StatusComponent.position, StatusComponent.name)).all():
        comps[sid].append(str(cid))
    out = [Incident(str(r.id), r.kind, r.name, r.status, r.impact, r.started_at, r.created_at, r.updated_at,
                    r.monitoring_at, r.resolved_at, r.scheduled_for, r.scheduled_until, tuple(updates[r.id]),
                    tuple(comps[r.id])) for r in rows]
    key = (lambda i: (i.scheduled_for or i.started_at, i.id)) if kind == StatusIncidentKind.maintenance.value \
        else (lambda i: (i.started_at, i.id))
    return tuple(sorted(out, key=key, reverse=True))


def _affected(value: object) -> tuple[Affected, ...] | None:
    """Only the four public keys of each stored entry, as strings."""
    if not isinstance(value, list):
        return None
    out = []
    for item in value:
        if isinstance(item, dict):
            out.append(Affected(str(item.get("code", "")), str(item.get("name", "")),
                                str(item.get("old_status", "")), str(item.get("new_status", ""))))
    return tuple(out)

"""Turn rows into API output shapes, fetching related rows in batches (no N+1 queries)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.alerts.schemas import AlertOut
from tocsin.ids import parse_incident_ref
from tocsin.incidents import service as incidents
from tocsin.incidents.access import visible
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.timeline import revision_counts
from tocsin.principal import Principal
from tocsin.services.models import Service
from tocsin.users.models import User


def users_by_id(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, dict[str, Any]]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(sa.select(User.id, User.name, User.email).where(User.id.in_(wanted))).all()
    return {uid: {"id": uid, "name": name, "email": email} for uid, name, email in rows}


def incidents_out(session: Session, rows: list[Incident]) -> list[dict[str, Any]]:
    ids = [i.id for i in rows]
    services = incidents.services_of(session, ids)
    roles = incidents.roles_of(session, ids)
    users = users_by_id(session, [i.declared_by_id for i in rows] + [a.user_id for v in roles.values() for a in v])
    out = []
    for i in rows:
        out.append({
            "id": i.id, "ref": incidents.ref(i), "number": i.number, "title": i.title, "summary": i.summary,
            "kind": i.kind, "severity": i.severity, "status": i.status, "restricted": i.restricted,
            "drill": i.drill,
            "impact": {"customers_affected": i.customers_affected,
                       "revenue_at_risk_per_hour": i.revenue_at_risk_per_hour,
                       "data_sensitivity": i.data_sensitivity, "customer_facing": i.customer_facing},
            "suggested_severity": i.suggested_severity, "severity_reason": i.severity_reason,
            "services": [{"id": s.id, "slug": s.slug, "name": s.name} for s in services[i.id]],
            "roles": [{"role": a.role, "user": users[a.user_id], "assigned_at": a.assigned_at} for a in roles[i.id]],
            "declared_by": users.get(i.declared_by_id) if i.declared_by_id else None,
            "impact_started_at": i.impact_started_at, "detected_at": i.detected_at, "declared_at": i.declared_at,
            "acknowledged_at": i.acknowledged_at, "mitigated_at": i.mitigated_at, "resolved_at": i.resolved_at,
            "closed_at": i.closed_at, "updated_at": i.updated_at,
            "postmortem_waived_reason": i.postmortem_waived_reason, "conference_url": i.conference_url,
            "incident_type": i.incident_type, "custom_fields": i.custom_fields,
        })
    return out


def incident_out(session: Session, incident: Incident) -> dict[str, Any]:
    return incidents_out(session, [incident])[0]


def timeline_out(session: Session, entries: list[TimelineEntry]) -> list[dict[str, Any]]:
    users = users_by_id(session, [e.actor_id for e in entries])
    counts = revision_counts(session, [e.id for e in entries])
    return [{
        "id": e.id, "kind": e.kind, "text": e.text, "actor": users.get(e.actor_id) if e.actor_id else None,
        "occurred_at": e.occurred_at, "recorded_at": e.recorded_at, "key_event": e.key_event,
        "edited_at": e.edited_at, "revisions": counts.get(e.id, 0), "data": e.data or {},
    } for e in entries]


def visible_refs(s: Session, me: Principal, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """The references (INC-n) of those of these incidents `me` may see; the others are left out."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {i.id: incidents.ref(i) for i in s.execute(visible(me).where(Incident.id.in_(wanted))).scalars()}


def alerts_out(s: Session, me: Principal, rows: list[Alert]) -> list[dict[str, Any]]:
    services = {sid: (slug, drill) for sid, slug, drill in s.execute(sa.select(Service.id, Service.slug, Service.drill)
                                                                     .where(Service.id.in_({a.service_id for a in rows})))
                } if rows else {}
    inc_ids = {a.incident_id for a in rows if a.incident_id}
    refs = {i.id: incidents.ref(i) for i in s.execute(visible(me).where(Incident.id.in_(inc_ids))).scalars()} if inc_ids else {}
    return [{**{c: getattr(a, c) for c in AlertOut.model_fields if hasattr(a, c) and c != "incident"},
             "service": services.get(a.service_id, ("", False))[0],
             "drill": services.get(a.service_id, ("", False))[1],
             "incident": refs.get(a.incident_id) if a.incident_id else None} for a in rows]


def decisions_out(s: Session, me: Principal, decisions: Any) -> list[dict[str, Any]]:
    """The decisions, without those naming an incident the caller may not see.

    Attach and auto-incident decisions name the incident in their reason and data. A restricted
    incident the caller may not see does not exist for them: its alert shows no link (`incident`
    is null) and no decision about it, not even a redacted one, so it reads like any alert that
    was never attached.
    """
    named = {d.data.get("incident") for d in decisions if isinstance(d.data, dict) and d.data.get("incident")}
    numbers = {n for n in (parse_incident_ref(str(r)) for r in named) if n is not None}
    seen = {incidents.ref(i) for i in s.execute(visible(me).where(Incident.number.in_(numbers))).scalars()} if numbers else set()
    return [{"at": d.at, "kind": d.kind, "reason": d.reason, "data": dict(d.data or {})} for d in decisions
            if not (isinstance(d.data, dict) and d.data.get("incident") and d.data["incident"] not in seen)]

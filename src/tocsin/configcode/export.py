"""`tocsin export`: the current configuration as one document in the format apply reads, so that
export then apply changes nothing. Secrets stay out: integration keys, iCalendar tokens, webhook
signing secrets, and contact methods whose address is a URL (a Slack or Teams webhook URL is a
credential), which apply's prune leaves alone in turn. Guests, deactivated users, an exercise's
stand-in services and what is over (ended overrides, windows) are left out too.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.configcode import rules, sections
from tocsin.configcode.apply import url_address
from tocsin.configcode.models import ConfigSource
from tocsin.contacts import service as contacts
from tocsin.contacts.models import ContactMethod
from tocsin.escalation import service as escalation
from tocsin.integrations import service as integrations
from tocsin.oncall import service as oncall
from tocsin.principal import OrgRole
from tocsin.routing.models import MaintenanceWindow
from tocsin.services import service as services
from tocsin.services.models import Service
from tocsin.teams import service as teams
from tocsin.teams.models import Team
from tocsin.users.models import User


def iso(value: datetime, zone: str = "UTC") -> str:
    """An aware ISO 8601 time in `zone`, seconds precision where that loses nothing."""
    return value.astimezone(ZoneInfo(zone)).isoformat()


def _sources(session: Session) -> dict[uuid.UUID, str]:
    return {row.object_id: row.source_id for row in session.execute(sa.select(ConfigSource)).scalars()}


def _with_source(obj: dict[str, Any], sources: dict[uuid.UUID, str], object_id: uuid.UUID) -> dict[str, Any]:
    if object_id in sources:
        obj["source_id"] = sources[object_id]
    return obj


def export_document(session: Session, *, now: datetime) -> dict[str, Any]:
    sources = _sources(session)
    emails = {u.id: u.email for u in session.execute(sa.select(User)).scalars()}
    doc: dict[str, Any] = {"version": 1}
    doc["users"] = [_user(session, u, sources) for u in session.execute(
        sa.select(User).where(User.is_active.is_(True), User.org_role != OrgRole.guest.value)
        .order_by(User.email)).scalars()]
    team_slugs = {t.id: t.slug for t in session.execute(sa.select(Team)).scalars()}
    doc["teams"] = [_with_source({
        "slug": t.slug, "name": t.name, **({"description": t.description} if t.description else {}),
        **({"security": True} if t.is_security else {}),
        "members": sorted(emails[m] for m in teams.member_ids(session, t.id) if m in emails)}, sources, t.id)
        for t in session.execute(sa.select(Team).order_by(Team.slug)).scalars()]
    doc["schedules"] = [_schedule(session, s, team_slugs, emails, sources, now)
                        for s in sorted(oncall.list_schedules(session), key=lambda x: x.slug)]
    doc["escalation_policies"] = [_policy(session, p, sources) for p in escalation.list_policies(session)]
    svc_rows = list(session.execute(sa.select(Service).where(Service.drill.is_(False)).order_by(Service.slug))
                    .scalars())
    policy_slugs = {p.id: p.slug for p in escalation.list_policies(session)}
    doc["services"] = [_service(session, s, team_slugs, policy_slugs, sources) for s in svc_rows]
    slugs = {s.id: s.slug for s in svc_rows}
    doc["maintenance_windows"] = [
        _window(w, slugs[w.service_id], sources) for w in session.execute(
            sa.select(MaintenanceWindow).order_by(MaintenanceWindow.created_at, MaintenanceWindow.id)).scalars()
        if w.service_id in slugs and not _over(w, now)]
    doc.update(rules.export_rules(session, now=now, sources=sources))
    doc.update(sections.export_sections(session, now=now, sources=sources))
    return doc


def _over(w: MaintenanceWindow, now: datetime) -> bool:
    return (w.recurrence == "none" and w.ends_at <= now) or (w.until is not None and w.until <= now)


def _user(session: Session, u: User, sources: dict[uuid.UUID, str]) -> dict[str, Any]:
    methods = [m for m in contacts.list_methods(session, u.id) if not url_address(m)]
    labels = Counter(m.label for m in methods if m.label)
    first_of_type: dict[str, uuid.UUID] = {}
    for m in methods:
        first_of_type.setdefault(m.type, m.id)

    def contact(m: ContactMethod) -> str | None:
        if m.label and labels[m.label] == 1 and m.label not in first_of_type:
            return m.label
        return m.type if first_of_type.get(m.type) == m.id else None

    by_id = {m.id: m for m in methods}
    rules_out = []
    for r in contacts.list_rules(session, u.id):
        ruled = by_id.get(r.contact_method_id)
        name = contact(ruled) if ruled is not None else None
        if name is not None:
            rules_out.append({"contact": name, "delay_minutes": r.delay_minutes, "urgency": r.urgency})
    out: dict[str, Any] = {"email": u.email, "name": u.name, "role": u.org_role, "time_zone": u.time_zone,
                           "contact_methods": [{"type": m.type, "address": m.address,
                                                **({"label": m.label} if m.label else {})} for m in methods],
                           "notification_rules": rules_out}
    return _with_source(out, sources, u.id)


def _schedule(session: Session, s: Any, team_slugs: dict[uuid.UUID, str], emails: dict[uuid.UUID, str],
              sources: dict[uuid.UUID, str], now: datetime) -> dict[str, Any]:
    layers = oncall.list_layers(session, [s.id])[s.id]
    members = oncall.layer_members(session, [r.id for r in layers])
    out: dict[str, Any] = {"slug": s.slug, "name": s.name}
    if s.description:
        out["description"] = s.description
    out["time_zone"] = s.timezone
    if s.team_id in team_slugs:
        out["team"] = team_slugs[s.team_id]
    out["layers"] = []
    for r in layers:
        layer: dict[str, Any] = {"name": r.name, "rotation": r.rotation_kind}
        if r.rotation_kind == "custom":
            layer["shift_hours"] = r.shift_hours
        layer.update({"time_zone": r.rotation_timezone, "start": iso(r.rotation_start, r.rotation_timezone),
                      "members": [emails[m] for m in members[r.id] if m in emails]})
        if r.restrictions:
            layer["restrictions"] = [{"days": sorted(x["days"]), "start": x["start"], "end": x["end"]}
                                     for x in r.restrictions]
        if r.shadow:
            layer["shadow"] = True
        out["layers"].append(layer)
    overrides = [{"user": emails.get(o.user_id), **({"replaces": emails[o.replaces_user_id]}
                                                    if o.replaces_user_id in emails else {}),
                  "start": iso(o.starts_at), "end": iso(o.ends_at)}
                 for o in oncall.list_overrides(session, schedule=s, now=now)]
    if overrides:
        out["overrides"] = overrides
    return _with_source(out, sources, s.id)


def _policy(session: Session, p: Any, sources: dict[uuid.UUID, str]) -> dict[str, Any]:
    levels = escalation.list_levels(session, [p.id])[p.id]
    names = escalation.target_names(session, levels)
    out: dict[str, Any] = {"slug": p.slug, "name": p.name}
    if p.description:
        out["description"] = p.description
    out["repeat"] = p.repeat
    out["levels"] = [{"delay_minutes": lv.delay_minutes,
                      "targets": [{t["type"]: names[t["id"]]} for t in lv.targets if t["id"] in names]}
                     for lv in levels]
    return _with_source(out, sources, p.id)


def _service(session: Session, s: Service, team_slugs: dict[uuid.UUID, str], policy_slugs: dict[uuid.UUID, str],
             sources: dict[uuid.UUID, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"slug": s.slug, "name": s.name}
    if s.description:
        out["description"] = s.description
    if s.owner_team_id in team_slugs:
        out["team"] = team_slugs[s.owner_team_id]
    out["tier"] = s.tier
    if s.escalation_policy_id in policy_slugs:
        out["escalation_policy"] = policy_slugs[s.escalation_policy_id]
    if s.runbook_url:
        out["runbook_url"] = s.runbook_url
    deps = services.dependency_slugs(session, s.id)
    if deps:
        out["depends_on"] = deps
    if s.alert_settings:
        out["alert_settings"] = s.alert_settings
    out["paging_unit"] = s.paging_unit
    seen: set[str] = set()
    out["integrations"] = []
    for ig in integrations.list_integrations(session, service_id=s.id):
        if ig.name in seen:  # two with one name cannot be told apart by the document: the first stands for both
            continue
        seen.add(ig.name)
        item: dict[str, Any] = {"name": ig.name, "type": ig.type}
        if ig.config:
            item["config"] = ig.config
        out["integrations"].append(_with_source(item, sources, ig.id))
    return _with_source(out, sources, s.id)


def _window(w: MaintenanceWindow, service: str, sources: dict[uuid.UUID, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"service": service, "name": w.name, "start": iso(w.starts_at, w.timezone),
                           "end": iso(w.ends_at, w.timezone)}
    if w.recurrence != "none":
        out["recurrence"] = w.recurrence
    out["time_zone"] = w.timezone
    if w.until is not None:
        out["until"] = iso(w.until, w.timezone)
    if w.reason:
        out["reason"] = w.reason
    return _with_source(out, sources, w.id)


def paged_people(session: Session) -> set[str]:
    """The emails of active users whose high-urgency pages reach a verified contact method."""
    return {u.email for u in session.execute(sa.select(User).where(User.is_active.is_(True))).scalars()
            if contacts.paged_by_rules(session, u.id, "high")}

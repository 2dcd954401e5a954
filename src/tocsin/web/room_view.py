"""What the incident room shows, read from the domain: the header facts and the timeline entries.

The page and the live stream both build their HTML from these values, through the same partial
templates, so an entry that arrives live looks exactly like one rendered with the page.

Response targets (`incidents/cadence.py`) say how soon the next update is due after the last one,
by severity. An incident still open past its due time shows "update overdue";
resolved and closed incidents have no target.

"The last update" (the header's "Last update" clock, and where the next-due time counts from)
is the newest *update*, by when it was recorded: a note posted as an incident update (a
key-event note: what stakeholders are told), a status change, a severity change, or a public
status-page update (`status_page` entries). Declaring counts as the first update. Other
entries -- plain notes, paging, roles, joins, alerts, links -- are working traffic, not updates
to stakeholders, so they never reset the clock: a room busy with chatter can still be overdue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tocsin.config import Settings
from tocsin.escalation import responders
from tocsin.http.present import users_by_id
from tocsin.incidents import cadence as cadences
from tocsin.incidents import changes, timeline
from tocsin.incidents import roles as roles_svc
from tocsin.incidents import service as incidents
from tocsin.incidents.lifecycle import ACTIVE_STATUSES, TRANSITIONS
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.roles import ROLE_LABELS
from tocsin.incidents.types import Role, Status
from tocsin.localtime import zone
from tocsin.obligations import service as obligations
from tocsin.problems import service as problems
from tocsin.problems import suggest
from tocsin.statuspage import service as statuspages
from tocsin.statuspage.types import UNRESOLVED
from tocsin.web import chat_view, room_words
from tocsin.web.render import describe_span

KIND_LABELS = {
    "declared": "Declared", "status_changed": "Status", "severity_changed": "Severity", "field_changed": "Changed",
    "impact_updated": "Impact", "role_assigned": "Role", "role_unassigned": "Role", "participant_joined": "Joined",
    "participant_changed": "Participant", "participant_left": "Left", "visibility_changed": "Visibility",
    "services_changed": "Services", "note": "Note", "alert_attached": "Alert", "paging": "Paging",
    "postmortem": "Postmortem", "action_item": "Action item", "problem": "Problem",
    "status_page": "Public update", "responders": "Responders",
    "phase_changed": "Phase", "checklist": "Checklist", "forensics": "Forensics first",
    "clock_set": "Regulatory clock", "obligation": "Obligation",
    "evidence": "Evidence", "indicator": "Indicator", "asset": "Affected asset", "legal": "Legal review",
    "guest": "Outside responder",
    "runbook": "Runbook", "automation": "Approved action", "workflow": "Workflow", "guardrail": "Guardrail",
    "comms": "Communication", "exercise": "Exercise",
}
_OPEN = {s.value for s in ACTIVE_STATUSES}


def viewer_zone(user: Any) -> ZoneInfo:
    try:
        return zone(getattr(user, "time_zone", None) or "UTC")
    except ValueError:
        return zone("UTC")


@dataclass(frozen=True)
class EntryView:
    """One timeline entry as shown; `is_update` marks a note posted as an incident update."""

    id: uuid.UUID
    kind: str
    kind_label: str
    text: str
    actor: str
    occurred_iso: str
    recorded_at: datetime
    local_time: str
    full_time: str
    key_event: bool
    is_update: bool
    edited: bool
    back_dated: bool


def entry_views(session: Session, entries: list[TimelineEntry], tz: ZoneInfo, now: datetime) -> list[EntryView]:
    names = users_by_id(session, [e.actor_id for e in entries])
    today = now.astimezone(tz).date()
    out = []
    for e in entries:
        local = e.occurred_at.astimezone(tz)
        short = local.strftime("%H:%M:%S") if local.date() == today else local.strftime("%Y-%m-%d %H:%M")
        actor = names[e.actor_id]["name"] if e.actor_id in names else "tocsin"
        update_note = e.kind == "note" and e.key_event
        label = "Update" if update_note else KIND_LABELS.get(e.kind, e.kind.replace("_", " "))
        out.append(EntryView(
            id=e.id, kind=e.kind, kind_label=label, text=room_words.describe(e, tz), is_update=update_note,
            actor=actor, occurred_iso=e.occurred_at.isoformat(), recorded_at=e.recorded_at,
            local_time=short, full_time=local.strftime("%Y-%m-%d %H:%M:%S %Z"), key_event=e.key_event,
            edited=e.edited_at is not None, back_dated=e.recorded_at - e.occurred_at > timedelta(minutes=1),
        ))
    return out


@dataclass
class HeaderView:
    id: uuid.UUID
    ref: str
    title: str
    severity: str
    status: str
    kind: str
    restricted: bool
    is_open: bool
    roles: list[tuple[str, str]]
    services: list[str]
    declared_iso: str
    declared_local: str
    elapsed: str
    last_update_iso: str
    since_update: str
    target_label: str | None
    due_iso: str | None
    due_local: str | None
    overdue: bool
    suggested_severity: str | None
    severity_reason: str | None
    impact: dict[str, Any] = field(default_factory=dict)
    next_statuses: list[str] = field(default_factory=list)
    conference_url: str | None = None
    public: list[PublicView] = field(default_factory=list)
    obligation: dict[str, str] | None = None  # the next regulatory filing due (security incidents)
    drill: bool = False  # an exercise's incident (issue 19): the header says so
    chat: list[chat_view.RoomChannel] = field(default_factory=list)  # the incident's Slack/Mattermost channels

    @property
    def open_public(self) -> list[PublicView]:
        return [p for p in self.public if p.open]


@dataclass(frozen=True)
class PublicView:
    """A public (status page) incident posted from this incident, as the header shows it."""

    page: str  # the status page's name
    slug: str
    name: str  # the public incident's title
    status: str
    url: str
    open: bool


def public_view(session: Session, incident: Incident) -> list[PublicView]:
    """The public incidents posted from this incident, one per status page (none for a restricted
    one: its public notices are not linked to it)."""
    out = []
    for page in statuspages.list_pages(session):
        si = statuspages.public_incident_for(session, page=page, incident=incident)
        if si is not None:
            out.append(PublicView(page=page.name, slug=page.slug, name=si.name, status=si.status,
                                  url=page.public_url or f"/status/{page.slug}", open=si.status in UNRESOLVED))
    return out


def header_view(session: Session, incident: Incident, tz: ZoneInfo, now: datetime,
                settings: Settings | None = None) -> HeaderView:
    assignments = incidents.roles_of(session, [incident.id])[incident.id]
    names = users_by_id(session, [a.user_id for a in assignments])
    order = list(Role)
    assignments.sort(key=lambda a: (order.index(Role(a.role)), a.assigned_at))
    roles = [(ROLE_LABELS[Role(a.role)], names[a.user_id]["name"]) for a in assignments]
    services = [s.slug for s in incidents.services_of(session, [incident.id])[incident.id]]
    last = timeline.last_update_at(session, incident=incident)
    is_open = incident.status in _OPEN
    end = incident.resolved_at or incident.closed_at if not is_open else None
    cadence = cadences.parse(settings.update_cadence) if settings is not None else None
    due = cadences.next_update_due(incident.severity, last, cadence) if is_open else None
    return HeaderView(
        id=incident.id, ref=incidents.ref(incident), title=incident.title, severity=incident.severity,
        status=incident.status, kind=incident.kind, restricted=incident.restricted, is_open=is_open, roles=roles,
        services=services, declared_iso=incident.declared_at.isoformat(),
        declared_local=incident.declared_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
        elapsed=describe_span((end or now) - incident.declared_at), last_update_iso=last.isoformat(),
        since_update=describe_span(now - last), target_label=cadences.target_label(incident.severity, cadence) if is_open else None,
        due_iso=due.isoformat() if due else None,
        due_local=due.astimezone(tz).strftime("%H:%M %Z") if due else None,
        overdue=bool(due and now > due), suggested_severity=incident.suggested_severity,
        severity_reason=incident.severity_reason, next_statuses=next_statuses(incident.status),
        conference_url=incident.conference_url, public=public_view(session, incident), drill=incident.drill,
        obligation=obligations.next_due(session, incident, now) if incident.kind == "security" else None,
        chat=chat_view.room_channels(session, incident.id, settings),
        impact={"customers_affected": incident.customers_affected,
                "revenue_at_risk_per_hour": incident.revenue_at_risk_per_hour,
                "data_sensitivity": incident.data_sensitivity, "customer_facing": incident.customer_facing},
    )


def next_statuses(status: str) -> list[str]:
    """The statuses the lifecycle table allows next, in lifecycle order."""
    allowed = TRANSITIONS[Status(status)].allowed
    return [s.value for s in Status if s in allowed]


def participants_view(session: Session, incident: Incident) -> list[tuple[str, str]]:
    rows = roles_svc.participants(session, incident.id)
    names = users_by_id(session, [p.user_id for p in rows])
    return [(names[p.user_id]["name"], p.kind) for p in rows if p.user_id in names]


def newest(entries: list[TimelineEntry]) -> TimelineEntry | None:
    """The most recently recorded entry (ties broken by id): the stream's resume point."""
    return max(entries, key=lambda e: (e.recorded_at, e.id), default=None)


@dataclass(frozen=True)
class ProblemView:
    """A known problem as the room's panel shows it: linked (with its workaround) or suggested (with why)."""

    ref: str
    title: str
    status: str
    workaround: str
    recurrence: bool = False
    reasons: tuple[str, ...] = ()


def problems_view(session: Session, principal: Any, incident: Incident) -> dict[str, list[ProblemView]]:
    """The problems linked to the incident and those it looks like, through the same services the
    API's /incidents/{key}/problems and /problem-suggestions use (suggestions leave out linked ones)."""
    linked = [ProblemView(ref=problems.problem_ref(p), title=p.title, status=p.status,
                          workaround=(p.workaround or "").strip(), recurrence=link.recurrence)
              for link, p in problems.problems_of_incident(session, incident.id)]
    suggested = [ProblemView(ref=problems.problem_ref(f.problem), title=f.problem.title, status=f.problem.status,
                             workaround=(f.problem.workaround or "").strip(), reasons=tuple(f.reasons))
                 for f in suggest.for_incident(session, principal, incident)]
    return {"linked": linked, "suggested": suggested}


@dataclass(frozen=True)
class ResponderView:
    name: str
    via: str
    by: str | None
    status: str
    status_label: str
    when: str


STATUS_LABELS = {"pending": "no answer yet", "acknowledged": "acknowledged", "declined": "declined"}


def responders_view(session: Session, incident: Incident, tz: ZoneInfo, now: datetime) -> list[ResponderView]:
    """Who was asked to join (add responders) and their reply, oldest request first."""
    rows = responders.requests_of(session, incident.id)
    names = users_by_id(session, [r.user_id for r in rows] + [r.requested_by_id for r in rows])
    today = now.astimezone(tz).date()
    out = []
    for r in rows:
        local = r.requested_at.astimezone(tz)
        when = local.strftime("%H:%M") if local.date() == today else local.strftime("%Y-%m-%d %H:%M")
        by = names[r.requested_by_id]["name"] if r.requested_by_id in names else None
        out.append(ResponderView(name=names[r.user_id]["name"] if r.user_id in names else "someone", via=r.via,
                                 by=by, status=r.status, status_label=STATUS_LABELS.get(r.status, r.status),
                                 when=when))
    return out


def changes_view(session: Session, incident: Incident, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Deploys and other changes of the incident's services around it (as the API's /changes)."""
    rows = changes.for_incident(session, incident, limit=20)
    slugs = {s.id: s.slug for s in incidents.services_of(session, [incident.id])[incident.id]}
    out = []
    for c in rows:
        link = next((x.get("href") for x in (c.links or []) if isinstance(x, dict)
                     and str(x.get("href", "")).startswith(("https://", "http://"))), None)
        out.append({"iso": c.occurred_at.isoformat(), "local": c.occurred_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                    "service": slugs.get(c.service_id, ""), "summary": c.summary, "source": c.source, "link": link})
    return out

"""Rendering the incident room page: the header, the whole timeline and the action forms' choices.

Used for a plain GET, and again (with the error and the submitted values) when an action is
refused, so the responder sees why next to the form they used, with a 4xx status.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from tocsin.incidents import roles as roles_svc
from tocsin.incidents import service as incidents
from tocsin.incidents import timeline
from tocsin.incidents.access import require_incident
from tocsin.incidents.models import Incident, Participant
from tocsin.incidents.roles import ROLE_LABELS
from tocsin.incidents.types import (
    SECURITY_ONLY_ROLES,
    DataSensitivity,
    Kind,
    Role,
    Status,
)
from tocsin.oncall.service import list_schedules
from tocsin.principal import OrgRole, Principal
from tocsin.services.service import list_services
from tocsin.statuspage import service as statuspages
from tocsin.statuspage.common import COMPONENT_STATUSES
from tocsin.statuspage.types import IncidentStatus
from tocsin.teams.service import list_teams
from tocsin.users.service import list_users
from tocsin.web import (
    containment_view,
    evidence_view,
    indicators_view,
    obligations_view,
    room_automation_view,
    room_comms_view,
    room_guardrails_view,
    room_handbooks_view,
    room_runbooks_view,
    room_security,
    room_view,
    room_workflows_view,
)
from tocsin.web.auth import WebCtx
from tocsin.web.render import render

# The statuses a public update may set from the room (a postmortem is published from its own page).
PUBLIC_STATUSES = tuple(st.value for st in IncidentStatus if st is not IncidentStatus.postmortem)
PRACTICE_PANELS = {"guardrails": room_guardrails_view, "runbooks": room_runbooks_view,
                   "automation": room_automation_view, "comms": room_comms_view,
                   "handbooks": room_handbooks_view, "workflows": room_workflows_view}


def render_room(request: Request, ctx: WebCtx, ref: str, *, flash: str | None = None, error: str | None = None,
                status_code: int = 200, form: dict[str, str] | None = None, action: str | None = None) -> HTMLResponse:
    """The room page; NotFound (also for an incident the viewer may not see) propagates as a 404 page."""
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref)
        tz = room_view.viewer_zone(ctx.user)
        entries = timeline.all_entries(s, incident=incident)
        values: dict[str, Any] = {
            "h": room_view.header_view(s, incident, tz, ctx.now, ctx.settings),
            "entries": room_view.entry_views(s, entries, tz, ctx.now),
            "after": getattr(room_view.newest(entries), "id", ""),
            "participants": room_view.participants_view(s, incident),
            "can_act": me.at_least(OrgRole.responder),
            # an outside responder sees the incident itself, not the organisation's problem records or changes
            "problems": None if me.is_guest else room_view.problems_view(s, me, incident),
            "responders": room_view.responders_view(s, incident, tz, ctx.now),
            "changes": [] if me.is_guest else room_view.changes_view(s, incident, tz),
            "legal": room_security.legal_view(s, incident, me),
            "guests": room_security.guests_view(s, incident, me, ctx.now, ctx.settings.guest_max_days),
            # an outside responder gets the core room and reads the Indicators and Evidence panels (no
            # forms: below viewer, never a Forensics Lead; web/guest_gate.py admits only the evidence
            # pages); the containment and obligations panels are not theirs
            "containment": None if me.is_guest else containment_view.panel(s, incident, tz, ctx.now),
            "iocs": indicators_view.panel(s, me, incident, tz),
            "obligations": None if me.is_guest else obligations_view.panel(s, incident, ctx.settings, ctx.now),
            "evidence": evidence_view.panel(s, me, incident),
        }
        # Preparation and practice (issue 19): one panel each, None for none.
        for name, view in PRACTICE_PANELS.items():
            values[name] = None if me.is_guest else view.panel(s, me, incident, tz, ctx.now, ctx.settings)
        if values["can_act"]:
            values["opts"] = action_options(s, incident, me)
    if flash is not None:  # otherwise the one-time flash cookie (set by the redirect after an action) shows
        values["flash"] = flash
    return render(request, ctx, "room.html", status_code=status_code, error=error, form=form or {},
                  failed_action=action, **values)


def action_options(s: Session, incident: Incident, me: Principal) -> dict[str, Any]:
    """The choices each action form offers, from the domain's own tables."""
    is_security = incident.kind == Kind.security.value
    holders = roles_svc.current_assignments(s, [incident.id])
    has_ic = any(a.role == Role.incident_commander.value for a in holders)
    people = [u for u in list_users(s, limit=1000)
              if u.is_active and u.org_role not in (OrgRole.viewer.value, OrgRole.guest.value)]
    mine = s.get(Participant, (incident.id, me.user_id)) if me.user_id else None
    linked = {x.slug for x in incidents.services_of(s, [incident.id])[incident.id]}
    return {
        "show_ack": incident.status == Status.triage.value or not has_ic,
        "next_statuses": room_view.next_statuses(incident.status),
        "roles": [(r.value, ROLE_LABELS[r]) for r in Role if is_security or r not in SECURITY_ONLY_ROLES],
        "people": [(str(u.id), u.name) for u in sorted(people, key=lambda u: u.name.lower())],
        "me": str(me.user_id) if me.user_id else "",
        "my_kind": mine.kind if mine else None,
        "services": sorted(x.slug for x in list_services(s, limit=500) if x.slug not in linked),
        "sensitivities": [d.value for d in DataSensitivity],
        "public": public_offers(s, incident, me),
        "public_statuses": PUBLIC_STATUSES,
        "component_statuses": COMPONENT_STATUSES,
        "targets": responder_targets(s, people),
    }


def responder_targets(s: Session, people: list[Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """What "add responders" may page: people (responders and admins), teams, schedules' on-call."""
    return [
        ("People", [(f"user:{u.id}", u.name) for u in sorted(people, key=lambda u: u.name.lower())]),
        ("Teams", [(f"team:{t.id}", f"Team {t.name}") for t in sorted(list_teams(s, limit=500), key=lambda t: t.name)]),
        ("Schedules (whoever is on call now)",
         [(f"schedule:{x.id}", f"On call: {x.name}") for x in list_schedules(s)]),
    ]


def public_offers(s: Session, incident: Incident, me: Principal) -> dict[str, Any] | None:
    """Status pages and components the public-update form offers, and the public title to prefill
    (from an existing public incident only: the internal title is never offered for publication).
    None when the viewer may not post for this incident."""
    if incident.restricted and not me.is_admin:
        return None
    pages = []
    for page, components in statuspages.component_offers(s, incident=incident):
        pages.append({"slug": page.slug, "name": page.name,
                      "components": [{"id": str(c.id), "name": c.name, "status": c.status}
                                     for c in components if not c.is_group]})
    posted = [si for page in statuspages.list_pages(s)
              if (si := statuspages.public_incident_for(s, page=page, incident=incident)) is not None]
    existing = max(posted, key=lambda si: si.created_at, default=None)
    return {"pages": pages, "title": existing.name if existing else ""}

"""The legal gate: communications about a security incident to anyone outside its need-to-know
circle wait for the incident's Legal role holder.

Today that audience is the public status page: a status page update posted from (or to a public
incident linked to) a security incident, and a postmortem's public text. Every edge that posts
one calls `post_update` or `publish_postmortem` here instead of the status page service. For an
incident that is gated (kind security, severity in `TOCSIN_LEGAL_GATE_SEVERITIES`) the post is
checked as the status page would check it and stored as a pending draft; otherwise it is posted
at once. Operational incidents are never gated.

Only the Legal role holder of the incident approves (optionally editing the text) or rejects
(with a reason): admins are not a way around Legal, they can assign the role (to themselves if
need be). A draft without a Legal holder says so and waits. On approval the draft is published
exactly as approved, as a post by the person who drafted it (with their rights at that moment:
an approval never widens who may post). The approval with the approved text, and a rejection
with its reason, go on the timeline and into the audit chain in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.incidents import timeline
from tocsin.incidents.models import Incident, RoleAssignment
from tocsin.incidents.types import Kind, Role, TimelineKind
from tocsin.legal.models import LegalDraft
from tocsin.postmortems.models import Postmortem
from tocsin.principal import OrgRole, Principal
from tocsin.statuspage import service as statuspages
from tocsin.statuspage.common import (
    COMPONENT_STATUSES,
    INCIDENT_IMPACTS,
    INCIDENT_STATUSES,
    MAX_INCIDENT_NAME,
    MAX_TEXT,
    enum_field,
    require_component,
    text_field,
)
from tocsin.statuspage.incidents import DRILL_NEVER_PUBLIC
from tocsin.statuspage.models import StatusIncident, StatusPage
from tocsin.statuspage.types import FINISHED, IncidentStatus, StatusIncidentKind
from tocsin.users.models import User
from tocsin.users.service import principal_for

PENDING, PUBLISHED, REJECTED = "pending", "published", "rejected"
UPDATE, POSTMORTEM = "update", "postmortem"
MAX_REASON = 2000


def is_gated(incident: Incident | None, severities: Collection[str]) -> bool:
    """Whether outside communications about `incident` wait for Legal (security kind, gated severity)."""
    return incident is not None and incident.kind == Kind.security.value and incident.severity in severities


@dataclass(frozen=True)
class Outcome:
    """What a post came to: published at once (`published`), or held for Legal (`draft`)."""

    published: StatusIncident | None = None
    draft: LegalDraft | None = None


def _internal_incident(session: Session, incident: Incident | None,
                       status_incident: StatusIncident | None) -> Incident | None:
    if incident is not None:
        return incident
    if status_incident is not None and status_incident.incident_id is not None:
        return session.get(Incident, status_incident.incident_id)
    return None


def _check_update(session: Session, *, actor: Principal, page: StatusPage, incident: Incident,
                  status_incident: StatusIncident | None, name: str | None, status: str, body: str,
                  component_statuses: dict[uuid.UUID, str] | None, impact: str | None) -> tuple[str, str | None]:
    """The status page service's own checks, made before a draft is stored (so that a draft is one
    Legal can publish); return the cleaned body and name."""
    actor.require(OrgRole.responder, "posting status page updates")
    if incident.restricted and not actor.is_admin and status_incident is None:
        raise Forbidden("this incident is restricted: only an admin may post a (separate) public notice about it")
    enum_field("status", status, INCIDENT_STATUSES)
    body = text_field("body", body, limit=MAX_TEXT, required=True)
    if impact is not None:
        enum_field("impact", impact, INCIDENT_IMPACTS)
    for cid, value in (component_statuses or {}).items():
        component = require_component(session, page, cid)
        if component.is_group:
            raise InvalidInput(f"{component.name} is a group: post the statuses of its components",
                               details={"component": str(cid)})
        enum_field("component status", value, COMPONENT_STATUSES)
    if status_incident is not None and (status_incident.page_id != page.id
                                        or status_incident.kind != StatusIncidentKind.incident.value):
        raise NotFound(f"no public incident {status_incident.id} on status page {page.slug}")
    name = text_field("name", name, limit=MAX_INCIDENT_NAME, required=True) if name and name.strip() else None
    existing = status_incident
    if existing is None and not incident.restricted:
        existing = statuspages.public_incident_for(session, page=page, incident=incident)
    if existing is None:
        if not name:
            raise InvalidInput("a new public incident needs a name: the title customers see", details={"field": "name"})
        if status == IncidentStatus.postmortem.value:
            raise Conflict("a postmortem follows a resolved incident; this one does not exist yet")
    elif status == IncidentStatus.postmortem.value and existing.status not in FINISHED:
        raise Conflict("a postmortem can be posted once the public incident is resolved",
                       details={"status": existing.status})
    return body, name


def _hold(session: Session, *, actor: Principal, now: datetime, incident: Incident, draft: LegalDraft,
          page: StatusPage) -> LegalDraft:
    session.add(draft)
    session.flush()
    waiting = "" if legal_holders(session, incident) else " (no Legal role holder is assigned yet: it waits for one)"
    what = "postmortem" if draft.purpose == POSTMORTEM else f"status page update ({draft.status})"
    timeline.append(session, incident=incident, kind=TimelineKind.legal, actor=actor, now=now,
                    text=f"A {what} for {page.name} is held for Legal review{waiting}",
                    data={"draft_id": str(draft.id), "page": page.slug, "state": PENDING})
    record(session, actor=actor, action="legal.draft", target_type="incident", target_id=incident.id, now=now,
           details={"draft": str(draft.id), "purpose": draft.purpose, "page": page.slug, "status": draft.status,
                    "body": draft.body})
    return draft


def post_update(session: Session, *, actor: Principal, now: datetime, severities: Collection[str],
                page: StatusPage, incident: Incident | None = None, status_incident: StatusIncident | None = None,
                name: str | None = None, status: str, body: str,
                component_statuses: dict[uuid.UUID, str] | None = None, impact: str | None = None,
                deliver_notifications: bool = True) -> Outcome:
    """Post a status page update (`statuspage.post_incident_update`'s arguments), or hold it for Legal
    when the internal incident (given, or linked from `status_incident`) is gated. Raises what the
    status page service raises, for a draft as for a post."""
    internal = _internal_incident(session, incident, status_incident)
    if internal is not None and internal.drill:  # not even a draft for Legal: a drill is never public
        raise Conflict(DRILL_NEVER_PUBLIC, details={"drill": True})
    if internal is None or not is_gated(internal, severities):
        return Outcome(published=statuspages.post_incident_update(
            session, actor=actor, now=now, page=page, incident=incident, status_incident=status_incident, name=name,
            status=status, body=body, component_statuses=component_statuses, impact=impact,
            deliver_notifications=deliver_notifications))
    body, name = _check_update(session, actor=actor, page=page, incident=internal, status_incident=status_incident,
                               name=name, status=status, body=body, component_statuses=component_statuses,
                               impact=impact)
    draft = LegalDraft(incident_id=internal.id, purpose=UPDATE, page_id=page.id,
                       status_incident_id=status_incident.id if status_incident else None, name=name, status=status,
                       body=body, component_statuses={str(k): v for k, v in (component_statuses or {}).items()} or None,
                       impact=impact, deliver_notifications=deliver_notifications, state=PENDING,
                       requested_by_id=actor.user_id, requested_at=now)
    return Outcome(draft=_hold(session, actor=actor, now=now, incident=internal, draft=draft, page=page))


def publish_postmortem(session: Session, *, actor: Principal, now: datetime, severities: Collection[str],
                       postmortem: Postmortem, page: StatusPage) -> Outcome:
    """Publish the postmortem's public text to `page`, or hold it for Legal (gated incident)."""
    incident = session.get(Incident, postmortem.incident_id)
    if not is_gated(incident, severities):
        return Outcome(published=statuspages.publish_postmortem(session, actor=actor, now=now, postmortem=postmortem,
                                                                page=page))
    assert incident is not None  # is_gated
    actor.require(OrgRole.responder, "publishing postmortems to a status page")
    if not (postmortem.public_text or "").strip():
        raise InvalidInput("the postmortem has no public text: write the customer-facing version first",
                           details={"field": "public_text"})
    si = statuspages.public_incident_for(session, page=page, incident=incident)
    if si is None:
        raise Conflict(f"no public incident on status page {page.slug} was posted from this incident",
                       details={"page": page.slug})
    draft = LegalDraft(incident_id=incident.id, purpose=POSTMORTEM, page_id=page.id, status_incident_id=si.id,
                       postmortem_id=postmortem.id, status=IncidentStatus.postmortem.value,
                       body=postmortem.public_text, deliver_notifications=True, state=PENDING,
                       requested_by_id=actor.user_id, requested_at=now)
    return Outcome(draft=_hold(session, actor=actor, now=now, incident=incident, draft=draft, page=page))


# --- reading ---------------------------------------------------------------------------------------

def legal_holders(session: Session, incident: Incident) -> list[User]:
    """Who holds the Legal role on the incident now (at most one: a single-holder role)."""
    return list(session.execute(
        sa.select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.incident_id == incident.id, RoleAssignment.role == Role.legal.value,
               RoleAssignment.ended_at.is_(None))).scalars())


def is_legal_holder(session: Session, incident: Incident, actor: Principal) -> bool:
    return timeline.holds_role(session, incident.id, actor.user_id, (Role.legal.value,))


def list_drafts(session: Session, incident: Incident, *, state: str | None = None) -> list[LegalDraft]:
    """The incident's drafts, newest first (`state` narrows to pending, published or rejected)."""
    stmt = sa.select(LegalDraft).where(LegalDraft.incident_id == incident.id)
    if state is not None:
        if state not in (PENDING, PUBLISHED, REJECTED):
            raise InvalidInput("state is pending, published or rejected", details={"field": "state"})
        stmt = stmt.where(LegalDraft.state == state)
    return list(session.execute(stmt.order_by(LegalDraft.requested_at.desc(), LegalDraft.id.desc())).scalars())


def require_draft(session: Session, incident: Incident, draft_id: uuid.UUID | None, *,
                  for_update: bool = False) -> LegalDraft:
    stmt = sa.select(LegalDraft).where(LegalDraft.id == draft_id, LegalDraft.incident_id == incident.id)
    if for_update:
        stmt = stmt.with_for_update()
    draft = session.execute(stmt).scalar_one_or_none() if draft_id else None
    if draft is None:
        raise NotFound(f"no draft {draft_id} on this incident", details={"draft": str(draft_id)})
    return draft


# --- deciding --------------------------------------------------------------------------------------

def _decide(session: Session, actor: Principal, incident: Incident, draft: LegalDraft, what: str) -> None:
    if not is_legal_holder(session, incident, actor):
        raise Forbidden(f"only the incident's Legal role holder {what} communications held for Legal")
    if draft.state != PENDING:
        raise Conflict(f"this draft was {draft.state} already", details={"state": draft.state})


def approve(session: Session, *, actor: Principal, now: datetime, incident: Incident, draft: LegalDraft,
            body: str | None = None) -> StatusIncident:
    """Approve the draft (with `body` as the approved text when Legal edited it) and publish it exactly
    as approved, as the drafter's post. Return the public incident. Raises Forbidden (not the Legal
    holder, or the drafter may no longer post), Conflict (decided already), and what publishing raises."""
    _decide(session, actor, incident, draft, "approves")
    final = text_field("body", body, limit=MAX_TEXT, required=True) if body is not None and body.strip() \
        else draft.body
    drafter = session.get(User, draft.requested_by_id) if draft.requested_by_id else None
    if drafter is None or not drafter.is_active:
        raise Conflict("whoever drafted this can no longer post: reject it and have someone draft it again")
    as_drafter = principal_for(session, drafter)
    page = session.get(StatusPage, draft.page_id)
    assert page is not None  # the foreign key cascades
    si = session.get(StatusIncident, draft.status_incident_id) if draft.status_incident_id else None
    if draft.purpose == POSTMORTEM:
        pm = session.get(Postmortem, draft.postmortem_id)
        if pm is None:
            raise Conflict("the postmortem of this draft no longer exists")
        published = statuspages.publish_postmortem(session, actor=as_drafter, now=now, postmortem=pm, page=page,
                                                   body=final)
    else:
        published = statuspages.post_incident_update(
            session, actor=as_drafter, now=now, page=page, incident=None if si is not None else incident,
            status_incident=si, name=draft.name, status=draft.status, body=final,
            component_statuses={uuid.UUID(k): v for k, v in (draft.component_statuses or {}).items()} or None,
            impact=draft.impact, deliver_notifications=draft.deliver_notifications)
    edited = final != draft.body
    draft.state, draft.decided_by_id, draft.decided_at = PUBLISHED, actor.user_id, now
    draft.approved_body, draft.published_status_incident_id = final, published.id
    timeline.append(session, incident=incident, kind=TimelineKind.legal, actor=actor, now=now, key_event=True,
                    text=f"Legal approved{' (edited)' if edited else ''} and published to {page.name}: {final}",
                    data={"draft_id": str(draft.id), "page": page.slug, "state": PUBLISHED, "edited": edited,
                          "status_incident_id": str(published.id)})
    record(session, actor=actor, action="legal.approve", target_type="incident", target_id=incident.id, now=now,
           details={"draft": str(draft.id), "page": page.slug, "status": draft.status, "approved_body": final,
                    "edited": edited, "status_incident": str(published.id)})
    return published


def reject(session: Session, *, actor: Principal, now: datetime, incident: Incident, draft: LegalDraft,
           reason: str) -> LegalDraft:
    """Reject the draft with a reason (required); nothing is published. Raises Forbidden, Conflict, InvalidInput."""
    _decide(session, actor, incident, draft, "rejects")
    reason = text_field("reason", reason, limit=MAX_REASON, required=True)
    draft.state, draft.decided_by_id, draft.decided_at, draft.reason = REJECTED, actor.user_id, now, reason
    page = session.get(StatusPage, draft.page_id)
    timeline.append(session, incident=incident, kind=TimelineKind.legal, actor=actor, now=now,
                    text=f"Legal rejected the draft for {page.name if page else 'a status page'}: {reason}",
                    data={"draft_id": str(draft.id), "state": REJECTED})
    record(session, actor=actor, action="legal.reject", target_type="incident", target_id=incident.id, now=now,
           details={"draft": str(draft.id), "reason": reason})
    return draft


def draft_out(session: Session, drafts: list[LegalDraft]) -> list[dict[str, Any]]:
    """Drafts as the API and the room show them, with the page's slug and the people's names."""
    pages = {p.id: p for p in session.execute(sa.select(StatusPage).where(
        StatusPage.id.in_({d.page_id for d in drafts}))).scalars()} if drafts else {}
    ids = {i for d in drafts for i in (d.requested_by_id, d.decided_by_id) if i}
    users = {u.id: u for u in session.execute(sa.select(User).where(User.id.in_(ids))).scalars()} if ids else {}

    def who(uid: uuid.UUID | None) -> str | None:
        return users[uid].email if uid in users else None

    return [{"id": d.id, "purpose": d.purpose, "state": d.state, "page": pages[d.page_id].slug,
             "page_name": pages[d.page_id].name, "status_incident_id": d.status_incident_id,
             "postmortem_id": d.postmortem_id, "name": d.name, "status": d.status, "body": d.body,
             "component_statuses": d.component_statuses or {}, "impact": d.impact,
             "deliver_notifications": d.deliver_notifications, "requested_by": who(d.requested_by_id),
             "requested_at": d.requested_at, "decided_by": who(d.decided_by_id), "decided_at": d.decided_at,
             "approved_body": d.approved_body, "reason": d.reason,
             "published_status_incident_id": d.published_status_incident_id} for d in drafts]

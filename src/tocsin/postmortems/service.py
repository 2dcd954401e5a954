"""Postmortem commands and queries: start from a resolved incident, edit with revisions, review,
publish, comment, approve; list what the caller may see.

A postmortem is as visible as its incident: every lookup goes through the incident's
need-to-know check, and a postmortem of an incident the caller may not see does not exist
for them (NotFound). Services never commit; the edge owns the transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.errors import Conflict, Forbidden, IllegalTransition, InvalidInput, NotFound
from tocsin.incidents import service as incidents
from tocsin.incidents import timeline
from tocsin.incidents.access import get_incident, visibility_clause
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Status as IncidentStatus
from tocsin.incidents.types import TimelineKind
from tocsin.postmortems import draft
from tocsin.postmortems.models import (
    Postmortem,
    PostmortemComment,
    PostmortemReviewer,
    PostmortemRevision,
)
from tocsin.postmortems.templates import default_template, require_template
from tocsin.principal import OrgRole, Principal
from tocsin.users.service import principal_for, require_user


class Status(StrEnum):
    draft = "draft"
    in_review = "in_review"
    published = "published"


# The postmortem lifecycle as a table of allowed moves. There is no draft → published: a postmortem
# goes through review first. A published one may return to draft to be amended; it then no longer
# counts as published for the incident's close gate until it is published again.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.draft: frozenset({Status.in_review}),
    Status.in_review: frozenset({Status.draft, Status.published}),
    Status.published: frozenset({Status.draft}),
}


def check_transition(current: Status, target: Status) -> None:
    """Raise IllegalTransition naming the allowed targets unless `current` may move to `target`."""
    allowed = TRANSITIONS[current]
    if target not in allowed:
        names = sorted(s.value for s in allowed)
        raise IllegalTransition(f"cannot move a postmortem from {current.value} to {target.value}; allowed: "
                                + ", ".join(names), details={"from": current.value, "to": target.value,
                                                              "allowed": names})


def _not_found(postmortem_id: uuid.UUID | str) -> NotFound:
    return NotFound(f"no postmortem {postmortem_id}", details={"postmortem": str(postmortem_id)})


def get_for_incident(session: Session, incident: Incident) -> Postmortem | None:
    """The incident's postmortem; the caller has already loaded the incident through need-to-know."""
    return session.execute(sa.select(Postmortem).where(Postmortem.incident_id == incident.id)).scalar_one_or_none()


def status_for_incident(session: Session, incident_id: uuid.UUID) -> str | None:
    """The status of the incident's postmortem, or None when it has none (what closing it needs)."""
    return session.execute(sa.select(Postmortem.status).where(Postmortem.incident_id == incident_id)
                           ).scalar_one_or_none()


def require_postmortem(session: Session, principal: Principal, postmortem_id: uuid.UUID, *,
                       for_update: bool = False) -> tuple[Postmortem, Incident]:
    """Return the postmortem and its incident; NotFound also when the caller may not see the incident."""
    stmt = sa.select(Postmortem).where(Postmortem.id == postmortem_id)
    if for_update:
        stmt = stmt.with_for_update()
    pm = session.execute(stmt).scalar_one_or_none()
    if pm is None:
        raise _not_found(postmortem_id)
    incident = get_incident(session, principal, pm.incident_id, for_update=for_update)
    if incident is None:
        raise _not_found(postmortem_id)
    return pm, incident


@dataclass
class PostmortemFilter:
    status: list[Status] | None = None


def list_postmortems(session: Session, *, principal: Principal, flt: PostmortemFilter,
                     before: uuid.UUID | None = None, limit: int = 50) -> list[tuple[Postmortem, Incident]]:
    """Postmortems of incidents the caller may see, newest first; `before` is the id cursor."""
    stmt = (sa.select(Postmortem, Incident).join(Incident, Incident.id == Postmortem.incident_id)
            .where(visibility_clause(principal)).order_by(Postmortem.id.desc()).limit(limit))
    if flt.status:
        stmt = stmt.where(Postmortem.status.in_([s.value for s in flt.status]))
    if before is not None:
        stmt = stmt.where(Postmortem.id < before)
    return [(pm, inc) for pm, inc in session.execute(stmt).all()]


def start(session: Session, *, incident: Incident, actor: Principal, now: datetime,
          template_id: uuid.UUID | None = None, title: str | None = None,
          action_items: list[draft.ActionLine] | None = None) -> Postmortem:
    """Start the incident's postmortem with a draft built from the record (and the incident's
    action items, which `flows.postmortems.start` reads), and move the incident resolved →
    postmortem. Raises Conflict when one exists or the incident is not resolved."""
    actor.require(OrgRole.responder, "starting postmortems")
    existing = get_for_incident(session, incident)
    if existing is not None:
        raise Conflict(f"{incidents.ref(incident)} already has a postmortem",
                       details={"postmortem": str(existing.id)})
    # `postmortem` without a postmortem happens when someone moved the status by hand: let them start one.
    if incident.status not in (IncidentStatus.resolved.value, IncidentStatus.postmortem.value):
        raise Conflict(f"{incidents.ref(incident)} is {incident.status}: a postmortem starts once the incident is "
                       "resolved", details={"status": incident.status, "required_status": "resolved"})
    template = require_template(session, template_id) if template_id else default_template(session, now=now)
    body = draft.render(draft.gather(session, incident, action_items), template.sections)
    pm = Postmortem(incident_id=incident.id, template_id=template.id,
                    title=(title or "").strip() or f"Postmortem: {incident.title}"[:300], status=Status.draft.value,
                    body=body, revision=1, public_text="", created_by_id=actor.user_id, created_at=now,
                    updated_at=now)
    session.add(pm)
    session.flush()
    session.add(PostmortemRevision(postmortem_id=pm.id, revision=1, body=body, edited_by_id=actor.user_id,
                                   edited_at=now))
    if incident.status == IncidentStatus.resolved.value:
        incidents.update_incident(session, incident=incident, actor=actor, now=now,
                                  changes={"status": IncidentStatus.postmortem.value})
    timeline.append(session, incident=incident, kind=TimelineKind.postmortem, actor=actor, now=now, key_event=True,
                    text=f"{actor.label} started the postmortem “{pm.title}”",
                    data={"postmortem_id": str(pm.id), "status": pm.status})
    record(session, actor=actor, action="postmortem.start", target_type="postmortem", target_id=pm.id, now=now,
           details={"incident": incidents.ref(incident), "template": template.name})
    session.flush()
    return pm


def _set_reviewers(session: Session, pm: Postmortem, incident: Incident, keys: list[str],
                   now: datetime) -> list[str]:
    users = {u.id: u for u in (require_user(session, k) for k in keys)}
    for user in users.values():
        # A reviewer must be able to read what they review; naming someone who cannot see a
        # restricted incident would neither let them review it nor grant them access.
        if get_incident(session, principal_for(session, user), incident.id) is None:
            raise InvalidInput(f"{user.email} cannot see {incidents.ref(incident)}, a restricted incident: add them "
                               "to the incident before naming them as a reviewer",
                               details={"field": "reviewers", "user": user.email})
    current = {r.user_id: r for r in session.execute(
        sa.select(PostmortemReviewer).where(PostmortemReviewer.postmortem_id == pm.id)).scalars()}
    for uid, row in current.items():
        if uid not in users:
            session.delete(row)
    for uid in users:
        if uid not in current:  # a reviewer who stays keeps their approval
            session.add(PostmortemReviewer(postmortem_id=pm.id, user_id=uid, added_at=now))
    return sorted(u.email for u in users.values())


def update(session: Session, *, pm: Postmortem, incident: Incident, actor: Principal, now: datetime,
           changes: dict[str, Any], base_revision: int | None = None) -> Postmortem:
    """Apply a partial edit: title, body, public_text, review_meeting_at, reviewers, status.

    A body change stores a revision and bumps `revision`; `base_revision` older than the current
    one is a stale edit (Conflict) so two editors never overwrite each other silently.
    """
    actor.require(OrgRole.responder, "editing postmortems")
    if base_revision is not None and base_revision != pm.revision:
        raise Conflict(f"the postmortem changed since revision {base_revision} (now {pm.revision}): reload and "
                       "apply your edit again", details={"base_revision": base_revision, "revision": pm.revision})
    audit: dict[str, Any] = {}
    if "title" in changes and changes["title"].strip() != pm.title:
        if not changes["title"].strip():
            raise InvalidInput("title must not be empty", details={"field": "title"})
        pm.title = audit["title"] = changes["title"].strip()
    if "body" in changes and changes["body"] != pm.body:
        pm.body = changes["body"]
        pm.revision += 1
        session.add(PostmortemRevision(postmortem_id=pm.id, revision=pm.revision, body=pm.body,
                                       edited_by_id=actor.user_id, edited_at=now))
        audit["revision"] = pm.revision
    if "public_text" in changes and changes["public_text"] != pm.public_text:
        pm.public_text = changes["public_text"]
        audit["public_text"] = True
    if "review_meeting_at" in changes and changes["review_meeting_at"] != pm.review_meeting_at:
        pm.review_meeting_at = changes["review_meeting_at"]
        audit["review_meeting_at"] = pm.review_meeting_at.isoformat() if pm.review_meeting_at else None
    if changes.get("reviewers") is not None:
        audit["reviewers"] = _set_reviewers(session, pm, incident, changes["reviewers"], now)
    if "status" in changes and changes["status"] != pm.status:
        _move(session, pm=pm, incident=incident, actor=actor, now=now, target=Status(changes["status"]))
        audit["status"] = pm.status
    if audit:
        pm.updated_at = now
        action = "postmortem.publish" if audit.get("status") == Status.published.value else "postmortem.update"
        record(session, actor=actor, action=action, target_type="postmortem", target_id=pm.id, now=now,
               details={"incident": incidents.ref(incident), **audit})
    session.flush()
    return pm


_MOVE_TEXT = {
    Status.in_review: "sent the postmortem for review",
    Status.published: "published the postmortem",
    Status.draft: "returned the postmortem to draft",
}


def _move(session: Session, *, pm: Postmortem, incident: Incident, actor: Principal, now: datetime,
          target: Status) -> None:
    current = Status(pm.status)
    check_transition(current, target)
    if target == Status.in_review and pm.in_review_at is None:
        pm.in_review_at = now
    if target == Status.published:
        pm.published_at, pm.published_by_id = now, actor.user_id
    if current == Status.published:  # amending: no longer published until it is published again
        pm.published_at = pm.published_by_id = None
    pm.status = target.value
    timeline.append(session, incident=incident, kind=TimelineKind.postmortem, actor=actor, now=now,
                    key_event=target == Status.published, text=f"{actor.label} {_MOVE_TEXT[target]} “{pm.title}”",
                    data={"postmortem_id": str(pm.id), "from": current.value, "to": target.value})


def revisions(session: Session, pm: Postmortem) -> list[PostmortemRevision]:
    return list(session.execute(sa.select(PostmortemRevision).where(PostmortemRevision.postmortem_id == pm.id)
                                .order_by(PostmortemRevision.revision)).scalars())


def reviewers(session: Session, pm_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[PostmortemReviewer]]:
    out: dict[uuid.UUID, list[PostmortemReviewer]] = {i: [] for i in pm_ids}
    if pm_ids:
        for r in session.execute(sa.select(PostmortemReviewer).where(PostmortemReviewer.postmortem_id.in_(pm_ids))
                                 .order_by(PostmortemReviewer.added_at, PostmortemReviewer.user_id)).scalars():
            out[r.postmortem_id].append(r)
    return out


def comments(session: Session, pm: Postmortem) -> list[PostmortemComment]:
    return list(session.execute(sa.select(PostmortemComment).where(PostmortemComment.postmortem_id == pm.id)
                                .order_by(PostmortemComment.created_at, PostmortemComment.id)).scalars())


def add_comment(session: Session, *, pm: Postmortem, incident: Incident, actor: Principal, now: datetime,
                text: str, section: str | None = None) -> PostmortemComment:
    """Add a review comment, optionally on one section (its key or heading)."""
    actor.require(OrgRole.responder, "commenting on postmortems")
    if not text.strip():
        raise InvalidInput("a comment needs text", details={"field": "text"})
    comment = PostmortemComment(postmortem_id=pm.id, author_id=actor.user_id, section=section, text=text,
                                created_at=now)
    session.add(comment)
    session.flush()
    record(session, actor=actor, action="postmortem.comment", target_type="postmortem", target_id=pm.id, now=now,
           details={"incident": incidents.ref(incident), "comment": str(comment.id), "section": section})
    return comment


def approve(session: Session, *, pm: Postmortem, incident: Incident, actor: Principal, now: datetime
            ) -> PostmortemReviewer:
    """Record the caller's approval. Only a named reviewer may approve, and only while in review.
    Approvals are recorded, not required: publishing does not wait for them."""
    actor.require(OrgRole.responder, "approving postmortems")
    row = session.get(PostmortemReviewer, (pm.id, actor.user_id)) if actor.user_id else None
    if row is None:
        raise Forbidden("only a reviewer of this postmortem may approve it")
    if pm.status != Status.in_review.value:
        raise Conflict(f"the postmortem is {pm.status}: approvals are given while it is in review",
                       details={"status": pm.status})
    if row.approved_at is None:
        row.approved_at = now
        record(session, actor=actor, action="postmortem.approve", target_type="postmortem", target_id=pm.id,
               now=now, details={"incident": incidents.ref(incident)})
        session.flush()
    return row


"""Outside (guest) responders in the console: inviting one to a restricted incident from its room
(the link shown once), revoking one, and the guest's side of the link (choose a password, start a
session in the incident's room).

The invitation and revocation forms are CSRF-checked posts from the room; who may use them (an
admin or the incident's commander) is the service's decision (`incidents/guests.py`). The link
page has no session yet: like `/invite/<token>` it refuses cross-site posts by their Origin, and
its secret is in its URL. What a guest may reach afterwards is `web/guest_gate.py`'s decision.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.errors import InvalidInput, NotFound, TocsinError
from tocsin.http.errors import status_for
from tocsin.ids import parse_uuid
from tocsin.incidents import guests
from tocsin.incidents import service as incidents
from tocsin.incidents.access import require_incident
from tocsin.incidents.models import Incident
from tocsin.web import room_page, sessions
from tocsin.web.auth import CsrfForm, CtxDep, set_session_cookie
from tocsin.web.render import render, secure
from tocsin.web.routes.auth import OriginForm
from tocsin.web.routes.common import redirect

router = APIRouter(include_in_schema=False)


@router.post("/incidents/{ref}/guests")
def invite(request: Request, ref: str, ctx: CtxDep, form: CsrfForm) -> Response:
    """Invite an outside responder; the answer shows the link once (only its hash is kept)."""
    fields = {k: form.get(k, "").strip()[:320] for k in ("email", "name", "organisation", "duration")}
    try:
        with ctx.work() as (s, me):
            incident = require_incident(s, me, ref, for_update=True)
            room_ref = incidents.ref(incident)
            duration = guests.parse_duration(fields["duration"], max_days=ctx.settings.guest_max_days)
            grant, token = guests.invite(s, actor=me, now=ctx.now, incident=incident, email=fields["email"],
                                         name=fields["name"], organisation=fields["organisation"],
                                         duration=duration, max_days=ctx.settings.guest_max_days)
            email, expires_at = grant.email, grant.expires_at
    except NotFound:
        raise
    except TocsinError as exc:
        return room_page.render_room(request, ctx, ref, error=exc.message, status_code=status_for(exc), form=form,
                                     action="guests")
    link = f"{ctx.settings.resolved_public_url()}/guest/{token}"
    return render(request, ctx, "guest_invited.html", status_code=201, ref=room_ref, link=link, email=email,
                  expires_at=expires_at)


@router.post("/incidents/{ref}/guests/{grant_id}/revoke")
def revoke(request: Request, ref: str, grant_id: str, ctx: CtxDep, _form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref, for_update=True)
        grant = guests.require_grant(s, incident, parse_uuid(grant_id[:64]))
        guests.revoke(s, actor=me, now=ctx.now, incident=incident, grant=grant)
        room_ref, name = incidents.ref(incident), grant.name
    return redirect(f"/incidents/{room_ref}", f"{name}'s guest access was revoked; their sessions ended")


@router.get("/guest/{token}")
def guest_page(request: Request, token: str) -> Response:
    request.state.console = True  # a dead link gets the console's 404 page
    state = request.app.state
    with state.db.unit_of_work() as s:
        grant = guests.require_invitation(s, token, now=state.clock.now())
        email, name, expires_at = grant.email, grant.name, grant.expires_at
        existing = guests.has_account(s, grant)
    return render(request, None, "guest_accept.html", token=token, email=email, name=name, expires_at=expires_at,
                  existing=existing)


@router.post("/guest/{token}")
def accept(request: Request, token: str, form: OriginForm) -> Response:
    state = request.app.state
    now = state.clock.now()
    name, password = form.get("name", "")[:200], form.get("password", "")
    try:
        with state.db.unit_of_work() as s:
            user, grant = guests.accept(s, now=now, token=token, name=name, password=password)
            session_token = sessions.create_session(s, user=user, now=now, settings=state.settings)
            incident = s.get(Incident, grant.incident_id)
            assert incident is not None  # the grant's foreign key
            room_ref = incidents.ref(incident)
    except InvalidInput as exc:
        with state.db.unit_of_work() as s:
            grant = guests.require_invitation(s, token, now=now)
            email, expires_at, existing = grant.email, grant.expires_at, guests.has_account(s, grant)
        return render(request, None, "guest_accept.html", status_code=400, token=token, email=email, name=name,
                      expires_at=expires_at, existing=existing, error=exc.message)
    response = secure(RedirectResponse(f"/incidents/{room_ref}", status_code=303))
    set_session_cookie(response, state.settings, session_token)
    return response

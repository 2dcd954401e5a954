"""Console log in, log out and invitation acceptance.

Login and invite acceptance have no session yet, so they cannot carry a session-bound CSRF
token; they refuse cross-site posts by their Origin header instead (browsers always send it
on POST; `null`, sent from sandboxed frames and some redirects, counts as cross-site) and by
`Sec-Fetch-Site: cross-site`; the invite's secret is in its URL. A request with neither header
(an old client, curl) cannot come from a victim's browser and is allowed.

The handlers are plain `def`s (run in the threadpool): argon2 and the database would otherwise
stall the event loop, which also serves the status pages and the live streams. The form is read
by the async `origin_form` dependency first.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.errors import InvalidInput
from tocsin.http.requests import client_address, same_origin
from tocsin.web import sessions
from tocsin.web.auth import (
    COOKIE,
    CsrfFailed,
    CsrfForm,
    CtxDep,
    clear_session_cookie,
    read_form,
    safe_next,
    set_session_cookie,
)
from tocsin.web.render import render, secure
from tocsin.web.routes.me import ZONES

router = APIRouter(include_in_schema=False)
WRONG = "Wrong email or password"


def _same_origin(request: Request) -> None:
    """Refuse a POST that a browser says came from another site, or from an opaque origin (login CSRF)."""
    if not same_origin(request):
        raise CsrfFailed()


def _mark(request: Request) -> None:
    request.state.console = True


async def origin_form(request: Request) -> dict[str, str]:
    """FastAPI dependency for the session-less posts: the same-origin check, then the form."""
    _mark(request)
    _same_origin(request)
    return await read_form(request)


OriginForm = Annotated[dict[str, str], Depends(origin_form)]


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    _mark(request)
    with request.app.state.db.read() as s:
        empty = sessions.needs_setup(s)
    return render(request, None, "login.html", next_path=safe_next(next), no_users=empty)


@router.post("/login")
def login(request: Request, form: OriginForm) -> Response:
    email, password = form.get("email", "").strip(), form.get("password", "")
    next_path = safe_next(form.get("next"))
    state = request.app.state
    token = None
    if state.settings.sso_enabled() and state.settings.sso_only:  # TOCSIN_SSO_ONLY: no password login
        return render(request, None, "login.html", status_code=403, next_path=next_path,
                      error="Password login is turned off: sign in with single sign-on")
    if email and password and len(email) <= 320 and len(password) <= 1024:
        result = sessions.login(state.db, email=email, password=password, address=client_address(request),
                                now=state.clock.now(), settings=state.settings)
        if result.retry_after:
            minutes = -(-result.retry_after // 60)
            page = render(request, None, "login.html", status_code=429, email=email[:320], next_path=next_path,
                          error=f"Too many wrong passwords: try again in {minutes} minute{'s' if minutes != 1 else ''}")
            page.headers["Retry-After"] = str(result.retry_after)
            return page
        token = result.token
    if token is None:
        return render(request, None, "login.html", status_code=400, error=WRONG, email=email[:320],
                      next_path=next_path)
    response = secure(RedirectResponse(next_path, status_code=303))
    set_session_cookie(response, state.settings, token)
    return response


@router.post("/logout")
def logout(request: Request, ctx: CtxDep, _form: CsrfForm) -> Response:
    with ctx.db.unit_of_work() as s:
        sessions.revoke(s, request.cookies.get(COOKIE), now=ctx.now)
    response = secure(RedirectResponse("/login", status_code=303))
    clear_session_cookie(response, ctx.settings)
    return response


@router.get("/invite/{token}")
def invite_page(request: Request, token: str) -> Response:
    _mark(request)
    state = request.app.state
    with state.db.unit_of_work() as s:
        invite = sessions.require_invite(s, token, now=state.clock.now())
    return render(request, None, "invite.html", invite=invite, token=token)


@router.post("/invite/{token}")
def accept_invite(request: Request, token: str, form: OriginForm) -> Response:
    state = request.app.state
    now = state.clock.now()
    name, password = form.get("name", ""), form.get("password", "")
    try:
        with state.db.unit_of_work() as s:
            user = sessions.accept_invite(s, now=now, token=token, name=name[:200], password=password)
            session_token = sessions.create_session(s, user=user, now=now, settings=state.settings)
    except InvalidInput as exc:
        with state.db.unit_of_work() as s:
            invite = sessions.require_invite(s, token, now=now)
        return render(request, None, "invite.html", status_code=400, invite=invite, token=token,
                      error=exc.message, name=name[:200])
    response = secure(RedirectResponse("/", status_code=303))
    set_session_cookie(response, state.settings, session_token)
    return response


# --- first run: the first admin, from the link `tocsin serve` prints while there are no users ---------

@router.get("/setup/{token}")
def setup_page(request: Request, token: str) -> Response:
    _mark(request)
    state = request.app.state
    with state.db.unit_of_work() as s:
        sessions.require_setup(s, state.settings, token)
    return render(request, None, "setup.html", token=token, zones=ZONES, time_zone="UTC")


@router.post("/setup/{token}")
def setup(request: Request, token: str, form: OriginForm) -> Response:
    state = request.app.state
    now = state.clock.now()
    values = {k: form.get(k, "").strip()[:320] for k in ("email", "name", "time_zone")}
    try:
        with state.db.unit_of_work() as s:
            user = sessions.create_first_admin(s, settings=state.settings, token=token, now=now,
                                               password=form.get("password", ""), **values)
            session_token = sessions.create_session(s, user=user, now=now, settings=state.settings)
    except InvalidInput as exc:
        with state.db.unit_of_work() as s:
            sessions.require_setup(s, state.settings, token)
        return render(request, None, "setup.html", status_code=400, token=token, zones=ZONES, error=exc.message,
                      **values)
    response = secure(RedirectResponse("/configure", status_code=303))
    set_session_cookie(response, state.settings, session_token)
    return response

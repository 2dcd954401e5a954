"""Console log in, log out and invitation acceptance.

Login and invite acceptance have no session yet, so they cannot carry a session-bound CSRF
token; they refuse cross-site posts by their Origin header instead (browsers always send it
on POST), and the invite's secret is in its URL.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.errors import InvalidInput, NotFound
from tocsin.users.service import check_password, get_user_by_email
from tocsin.web import sessions
from tocsin.web.auth import (
    COOKIE,
    CsrfFailed,
    WebCtx,
    check_csrf,
    clear_session_cookie,
    read_form,
    safe_next,
    set_session_cookie,
    web_ctx,
)
from tocsin.web.render import render, secure

router = APIRouter(include_in_schema=False)
WRONG = "Wrong email or password"


def _same_origin(request: Request) -> None:
    """Refuse a POST whose Origin names another site (login CSRF)."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        # Behind a reverse proxy that rewrites Host, the public address is the page's origin.
        ours = {request.headers.get("host", "").lower(),
                urlsplit(request.app.state.settings.resolved_public_url()).netloc.lower()}
        if urlsplit(origin).netloc.lower() not in ours:
            raise CsrfFailed()


def _mark(request: Request) -> None:
    request.state.console = True


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    _mark(request)
    return render(request, None, "login.html", next_path=safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    _mark(request)
    _same_origin(request)
    form = await read_form(request)
    email, password = form.get("email", "").strip(), form.get("password", "")
    next_path = safe_next(form.get("next"))
    state = request.app.state
    now = state.clock.now()
    token = None
    if email and password and len(email) <= 320 and len(password) <= 1024:
        with state.db.unit_of_work() as s:
            user = get_user_by_email(s, email)
            if user is not None and user.is_active and check_password(user, password):
                token = sessions.create_session(s, user=user, now=now, settings=state.settings)
    if token is None:
        return render(request, None, "login.html", status_code=400, error=WRONG, email=email[:320],
                      next_path=next_path)
    response = secure(RedirectResponse(next_path, status_code=303))
    set_session_cookie(response, state.settings, token)
    return response


@router.post("/logout")
async def logout(request: Request, ctx: WebCtx = Depends(web_ctx)) -> Response:
    await check_csrf(request, ctx)
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
async def accept_invite(request: Request, token: str) -> Response:
    _mark(request)
    _same_origin(request)
    form = await read_form(request)
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
    except NotFound:
        raise
    response = secure(RedirectResponse("/", status_code=303))
    set_session_cookie(response, state.settings, session_token)
    return response

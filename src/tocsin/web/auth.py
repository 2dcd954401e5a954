"""Console authentication: the session cookie, the per-request `WebCtx`, and CSRF checks.

Pages depend on `web_ctx` (a FastAPI dependency). Without a valid session it raises
`LoginRequired`, which the console's exception handler (web/app.py) turns into a redirect
to the login page (or a 401 for fetch and event-stream requests). Every POST calls
`check_csrf`, which also parses the url-encoded form: the token is an HMAC of the session
token under the server secret, so it needs no storage and dies with the session.

Slow work never runs on the event loop (it also serves the in-memory status pages and the live
streams): `web_ctx` is a plain `def` dependency, so FastAPI runs its database work in the
threadpool, and POST handlers are plain `def`s that receive the form already read and checked
by the async `csrf_form` dependency (`CsrfForm`), so their database and argon2 work runs there too.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.clock import Clock
from tocsin.config import Settings
from tocsin.db import Database
from tocsin.errors import InvalidInput
from tocsin.http.requests import reject_nul
from tocsin.principal import Principal
from tocsin.services.service import list_services
from tocsin.users.models import User
from tocsin.users.service import principal_for
from tocsin.web import guest_gate, sessions
from tocsin.workflows import types_service as incident_types

COOKIE = "tocsin_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_MAX_FIELDS = 500


class LoginRequired(Exception):
    """No valid session: the handler redirects to /login?next=<path> (401 for fetch/SSE)."""

    def __init__(self, next_path: str = "/") -> None:
        super().__init__("login required")
        self.next_path = next_path


class CsrfFailed(Exception):
    """A POST without the right CSRF token: the handler answers with a 403 page."""


class BadForm(InvalidInput):
    """The request body is not a readable url-encoded form (rendered as a 400 page)."""


@dataclass
class WebCtx:
    db: Database
    clock: Clock
    now: datetime
    settings: Settings
    user: User
    principal: Principal
    csrf_token: str
    session_id: uuid.UUID | None = None  # the WebSession id, to keep this session when revoking the others
    declare_services: list[str] = field(default_factory=list)  # service keys for the declare dialog
    declare_types: list[tuple[str, str]] = field(default_factory=list)  # incident types (slug, name) for it

    @contextmanager
    def work(self) -> Iterator[tuple[Session, Principal]]:
        """Yield (session, principal) inside one unit of work; commits when the block succeeds."""
        with self.db.unit_of_work() as session:
            yield session, self.principal


def csrf_for(settings: Settings, session_token: str) -> str:
    key = settings.resolved_secret_key().encode()
    return hmac.new(key, session_token.encode(), hashlib.sha256).hexdigest()


def _is_background(request: Request) -> bool:
    """A fetch() or EventSource request, which wants a status code rather than a login page."""
    accept = request.headers.get("accept", "")
    return ("text/event-stream" in accept or request.headers.get("x-requested-with") is not None
            or request.headers.get(CSRF_HEADER) is not None
            or request.headers.get("sec-fetch-mode") in ("cors", "same-origin", "no-cors"))


def _here(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return path


def web_ctx(request: Request) -> WebCtx:
    """FastAPI dependency: the logged-in user's context, or LoginRequired."""
    request.state.console = True
    reject_nul(request)
    state = request.app.state
    settings: Settings = state.settings
    now = state.clock.now()
    token = request.cookies.get(COOKIE)
    live = None
    principal = None
    keys: list[str] = []
    kinds: list[tuple[str, str]] = []
    if token:
        with state.db.unit_of_work() as s:
            live = sessions.lookup(s, token, now=now, settings=settings)
            if live is not None:
                principal = principal_for(s, live.user)
                if principal.is_guest:  # outside responders: their live grants' rooms only (web/guest_gate.py)
                    principal = guest_gate.with_grants(s, principal, now)
                    if principal is not None:
                        guest_gate.admit(s, request, principal, now)
                else:
                    # loaded here, in the request's first transaction, so render() never opens another
                    # one (a nested transaction would wait on SQLite's write lock)
                    keys = sorted(svc.slug for svc in list_services(s, limit=500))
                    kinds = incident_types.choices(s, now)
    if live is None or principal is None or token is None:
        raise LoginRequired(_here(request) if request.method == "GET" else "/")
    ctx = WebCtx(db=state.db, clock=state.clock, now=now, settings=settings, user=live.user, principal=principal,
                 csrf_token=csrf_for(settings, token), session_id=live.session_id, declare_services=keys,
                 declare_types=kinds)
    request.state.web_ctx = ctx
    return ctx


async def read_form(request: Request, *, reject_nul: bool = True) -> dict[str, str]:
    """Parse an application/x-www-form-urlencoded body into a dict (last value wins); BadForm otherwise."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if not body:
        return {}
    if ctype not in ("application/x-www-form-urlencoded", ""):
        raise BadForm("send forms as application/x-www-form-urlencoded",
                      details={"content_type": ctype})
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=_MAX_FIELDS,
                          encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadForm("the form could not be read (is it UTF-8?)") from None
    form = dict(pairs)
    if reject_nul:
        _check_nul(form)
    return form


def _check_nul(form: dict[str, str]) -> None:
    """PostgreSQL text cannot hold NUL, and no field needs one."""
    for key, value in form.items():
        if "\x00" in key or "\x00" in value:
            raise BadForm("form fields must not contain NUL characters", details={"field": key.replace("\x00", "")})


async def check_csrf(request: Request, ctx: WebCtx) -> dict[str, str]:
    """Verify the CSRF token (form field or X-CSRF-Token header); return the form fields."""
    try:
        form = await read_form(request, reject_nul=False)
    except BadForm:
        # an unreadable body cannot carry a token either; refuse it as forged only if the header is wrong
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), ctx.csrf_token.encode()):
            raise CsrfFailed() from None
        raise
    sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD, "")
    if not hmac.compare_digest(sent.encode("utf-8", "replace"), ctx.csrf_token.encode()):
        raise CsrfFailed()
    _check_nul(form)
    form.pop(CSRF_FIELD, None)
    return form


async def csrf_form(request: Request, ctx: WebCtx = Depends(web_ctx)) -> dict[str, str]:
    """FastAPI dependency: the CSRF-checked form, read on the event loop (reading the body is async)
    so that the handler itself can be a plain `def` that FastAPI runs in the threadpool."""
    return await check_csrf(request, ctx)


CtxDep = Annotated[WebCtx, Depends(web_ctx)]
CsrfForm = Annotated[dict[str, str], Depends(csrf_form)]


def safe_next(value: str | None) -> str:
    """Return `value` if it is a local path ("/x", not "//host" or "/\\host"); else "/". No open redirects."""
    if not value or not value.startswith("/") or value.startswith("//") or value.startswith("/\\"):
        return "/"
    if any(c in value for c in "\r\n\t\x00\\") or any(ord(c) < 0x20 for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/",
                        secure=settings.resolved_public_url().startswith("https"),
                        max_age=settings.session_max_hours * 3600)


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax",
                           secure=settings.resolved_public_url().startswith("https"))


def login_redirect(next_path: str) -> str:
    return "/login?next=" + quote(safe_next(next_path), safe="/")

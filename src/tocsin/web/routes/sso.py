"""Console single sign-on: "Sign in with SSO" (OIDC code flow) and the admin's SCIM token page.

`GET /login/sso` sends the browser to the provider with a fresh state, nonce and PKCE challenge,
kept in a signed ten-minute cookie (sso/state.py) scoped to /login/sso; `GET /login/sso/callback`
checks them, verifies the ID token (sso/oidc.py), finds or creates the user (sso/accounts.py) and
starts a console session like a password login does. Both answer 404 while SSO is not configured.
A refusal shows the login page with a fixed message; what the provider said is only logged.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from tocsin.errors import NotFound
from tocsin.principal import OrgRole
from tocsin.sso import oidc, tokens
from tocsin.sso import state as sso_state
from tocsin.sso.accounts import sign_in
from tocsin.web import sessions
from tocsin.web.auth import CsrfForm, CtxDep, safe_next, set_session_cookie
from tocsin.web.render import render, secure

router = APIRouter(include_in_schema=False)
log = logging.getLogger("tocsin.sso")
_PATH = "/login/sso"


def _configured(request: Request) -> None:
    request.state.console = True
    if not request.app.state.settings.sso_enabled():
        raise NotFound("single sign-on is not configured")


def _callback_url(request: Request) -> str:
    return request.app.state.settings.resolved_public_url() + _PATH + "/callback"


def _failed(request: Request, exc: oidc.SsoFailed) -> Response:
    log.warning("SSO sign-in failed: %s", exc.why)
    response = render(request, None, "login.html", status_code=exc.status, error=exc.message, next_path="/")
    response.delete_cookie(sso_state.COOKIE, path=_PATH)
    return response


@router.get(_PATH)
def sso_start(request: Request, next: str = "/") -> Response:
    _configured(request)
    app = request.app.state
    try:
        url, pending = oidc.begin(app.settings, redirect_uri=_callback_url(request), next_path=safe_next(next))
    except (oidc.SsoFailed, ValueError) as exc:
        failure = exc if isinstance(exc, oidc.SsoFailed) else oidc.SsoFailed(
            "Single sign-on is misconfigured; tell an administrator.", str(exc), status=503)
        return _failed(request, failure)
    response = secure(RedirectResponse(url, status_code=303))
    response.set_cookie(sso_state.COOKIE, sso_state.seal(pending, server_secret=app.settings.resolved_secret_key(),
                                                 now=app.clock.now()),
                        max_age=int(sso_state.TTL.total_seconds()), path=_PATH, httponly=True, samesite="lax",
                        secure=app.settings.resolved_public_url().startswith("https"))
    return response


@router.get(_PATH + "/callback")
def sso_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    _configured(request)
    app = request.app.state
    now = app.clock.now()
    pending = sso_state.unseal(request.cookies.get(sso_state.COOKIE), server_secret=app.settings.resolved_secret_key(), now=now)
    try:
        if error:
            raise oidc.SsoFailed("The identity provider did not sign you in; start again.", f"provider error {error!r}")
        if pending is None:
            raise oidc.SsoFailed("The sign-in took too long or was started in another browser; start again.",
                                 "no or expired state cookie")
        claims = oidc.complete(app.settings, pending, code=code, state=state,
                               redirect_uri=_callback_url(request), now=now)
    except oidc.SsoFailed as exc:
        return _failed(request, exc)
    except ValueError as exc:  # the client secret file is missing, empty or readable by others
        return _failed(request, oidc.SsoFailed("Single sign-on is misconfigured; tell an administrator.", str(exc),
                                               status=503))
    for attempt in (1, 2):
        try:
            with app.db.unit_of_work() as s:
                result = sign_in(s, settings=app.settings, claims=claims, now=now)
                token = (sessions.create_session(s, user=result.user, now=now, settings=app.settings)
                         if result.user else None)
            break
        except IntegrityError:
            # Two first sign-ins of one person at once (two tabs): both found no account and made one;
            # the second lost on the unique email. Once more, it finds the account the first made.
            if attempt == 2:
                raise
    if token is None:
        return _failed(request, oidc.SsoFailed(result.message, f"refused: {result.message}", status=403))
    response = secure(RedirectResponse(safe_next(pending.next_path), status_code=303))
    response.delete_cookie(sso_state.COOKIE, path=_PATH)
    set_session_cookie(response, app.settings, token)
    return response


# --- the admin's page: SCIM tokens ----------------------------------------------------------------

@router.get("/configure/sso")
def sso_page(request: Request, ctx: CtxDep) -> Response:
    ctx.principal.require(OrgRole.admin, "managing single sign-on")
    with ctx.db.read() as s:
        return render(request, ctx, "sso_admin.html", tokens=tokens.list_tokens(s), settings=ctx.settings)


@router.post("/configure/sso/tokens")
def sso_token_create(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, actor):
        token, plaintext = tokens.create_token(s, actor=actor, now=ctx.now, name=form.get("name", "")[:300])
        name = token.name
    with ctx.db.read() as s:  # the plaintext is shown on this answer only: tocsin keeps its hash
        return render(request, ctx, "sso_admin.html", tokens=tokens.list_tokens(s), settings=ctx.settings,
                      new_token=plaintext, new_name=name)


@router.post("/configure/sso/tokens/{token_id}/revoke")
def sso_token_revoke(request: Request, token_id: str, ctx: CtxDep, _form: CsrfForm) -> Response:
    with ctx.work() as (s, actor):
        tokens.revoke_token(s, actor=actor, now=ctx.now, token_id=token_id[:64])
    return secure(RedirectResponse("/configure/sso", status_code=303))


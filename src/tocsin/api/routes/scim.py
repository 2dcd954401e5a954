"""SCIM 2.0 provisioning for identity providers: /scim/v2/Users, /Groups (teams) and /ServiceProviderConfig.

Authenticated by a SCIM bearer token (`tocsin sso scim-token create`, or the console's Single sign-on
page), not by an API token. Bodies are read here rather than by FastAPI's validation, so every
refusal, a malformed body included, is answered in the SCIM error schema (RFC 7644 §3.12) with
`application/scim+json`; handlers are plain `def`s (FastAPI runs them in the threadpool).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from tocsin.errors import TocsinError
from tocsin.http.errors import status_for
from tocsin.principal import Principal
from tocsin.sso import scim, scim_groups, tokens
from tocsin.sso.models import SsoAccount

router = APIRouter(prefix="/scim/v2", include_in_schema=False)
log = logging.getLogger("tocsin.scim")
MEDIA = "application/scim+json"
_MAX_BODY = 256 * 1024


def _answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, media_type=MEDIA,
                        headers={"Cache-Control": "no-store", **(headers or {})})


def _error(exc: scim.ScimError) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if exc.status == 401 else None
    return _answer(exc.body(), exc.status, headers)


def _token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _run(request: Request, work: Callable[[Any, Principal, Any], Response]) -> Response:
    """Authenticate, run `work(session, principal, now)` in one unit of work; SCIM errors for every refusal."""
    state = request.app.state
    now = state.clock.now()
    try:
        with state.db.unit_of_work() as session:
            actor = tokens.authenticate(session, _token(request), now=now)
            if actor is None:
                raise scim.ScimError(401, "a valid SCIM bearer token is required")
            return work(session, actor, now)
    except scim.ScimError as exc:
        return _error(exc)
    except TocsinError as exc:  # a domain refusal (e.g. an InvalidInput from the user service)
        return _error(scim.ScimError(status_for(exc), exc.message, "invalidValue" if status_for(exc) < 500 else None))
    except Exception:
        log.exception("unhandled error on SCIM %s %s", request.method, request.url.path)
        return _error(scim.ScimError(500, "an unexpected error occurred; it has been logged"))


async def _json(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        raise scim.ScimError(413, "the body is too large", "tooMany")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise scim.ScimError(400, "the body is not valid JSON", "invalidSyntax") from None


def _base(request: Request) -> str:
    return str(request.app.state.settings.resolved_public_url())


def _one(request: Request, session: Any, user: Any, status: int = 200) -> Response:
    account = session.get(SsoAccount, user.id)
    body = scim.resource(user, account, _base(request))
    return _answer(body, status, {"Location": body["meta"]["location"]} if status == 201 else None)


def _int(value: str | None, default: int, field: str) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise scim.ScimError(400, f"{field} must be an integer", "invalidValue") from None


@router.get("/ServiceProviderConfig")
def service_provider_config(request: Request) -> Response:
    return _run(request, lambda _s, _a, _n: _answer({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": True}, "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": scim.MAX_COUNT}, "changePassword": {"supported": False},
        "sort": {"supported": False}, "etag": {"supported": False},
        "authenticationSchemes": [{"type": "oauthbearertoken", "name": "Bearer token", "primary": True,
                                   "description": "A SCIM token made by a tocsin admin"}],
    }))


@router.get("/Users")
def list_users(request: Request) -> Response:
    q = request.query_params

    def work(session: Any, _actor: Principal, _now: Any) -> Response:
        found = scim.list_users(session, filter_text=q.get("filter"), start_index=_int(q.get("startIndex"), 1, "startIndex"),
                                count=_int(q.get("count"), 100, "count"))
        return _answer({"schemas": [scim.LIST_SCHEMA], "totalResults": found.total, "startIndex": found.start_index,
                        "itemsPerPage": len(found.users),
                        "Resources": [scim.resource(u, a, _base(request)) for u, a in found.users]})
    return _run(request, work)


@router.post("/Users")
async def create_user(request: Request) -> Response:
    try:
        body = await _json(request)
    except scim.ScimError as exc:
        return _error(exc)
    default_role = request.app.state.settings.sso_default_role

    def work(session: Any, actor: Principal, now: Any) -> Response:
        user = scim.create(session, actor=actor, now=now, body=body, default_role=default_role)
        return _one(request, session, user, 201)
    return await _threaded(request, work)


@router.get("/Users/{user_id}")
def get_user(request: Request, user_id: str) -> Response:
    return _run(request, lambda session, _a, _n: _one(request, session, scim.require(session, user_id)[0]))


@router.put("/Users/{user_id}")
async def replace_user(request: Request, user_id: str) -> Response:
    try:
        body = await _json(request)
    except scim.ScimError as exc:
        return _error(exc)
    return await _threaded(request, lambda session, actor, now: _one(
        request, session, scim.replace(session, actor=actor, now=now, user_id=user_id, body=body)))


@router.patch("/Users/{user_id}")
async def patch_user(request: Request, user_id: str) -> Response:
    try:
        body = await _json(request)
    except scim.ScimError as exc:
        return _error(exc)
    return await _threaded(request, lambda session, actor, now: _one(
        request, session, scim.patch(session, actor=actor, now=now, user_id=user_id, body=body)))


@router.delete("/Users/{user_id}")
def delete_user(request: Request, user_id: str) -> Response:
    def work(session: Any, actor: Principal, now: Any) -> Response:
        scim.delete(session, actor=actor, now=now, user_id=user_id)
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    return _run(request, work)


async def _threaded(request: Request, work: Callable[[Any, Principal, Any], Response]) -> Response:
    """`_run` in the threadpool: the body was read on the event loop, the database work must not run there."""
    return await run_in_threadpool(_run, request, work)


# --- Groups: tocsin teams -------------------------------------------------------------------------

def _group(request: Request, session: Any, team: Any, status: int = 200) -> Response:
    body = scim_groups.resource(session, team, _base(request))
    return _answer(body, status, {"Location": body["meta"]["location"]} if status == 201 else None)


@router.get("/Groups")
def list_groups(request: Request) -> Response:
    q = request.query_params

    def work(session: Any, _actor: Principal, _now: Any) -> Response:
        total, teams = scim_groups.list_groups(session, filter_text=q.get("filter"),
                                               start_index=_int(q.get("startIndex"), 1, "startIndex"),
                                               count=_int(q.get("count"), 100, "count"))
        return _answer({"schemas": [scim.LIST_SCHEMA], "totalResults": total,
                        "startIndex": max(_int(q.get("startIndex"), 1, "startIndex"), 1), "itemsPerPage": len(teams),
                        "Resources": [scim_groups.resource(session, t, _base(request)) for t in teams]})
    return _run(request, work)


@router.post("/Groups")
async def create_group(request: Request) -> Response:
    try:
        body = await _json(request)
    except scim.ScimError as exc:
        return _error(exc)
    return await _threaded(request, lambda session, actor, now: _group(
        request, session, scim_groups.create(session, actor=actor, now=now, body=body), 201))


@router.get("/Groups/{group_id}")
def get_group(request: Request, group_id: str) -> Response:
    return _run(request, lambda session, _a, _n: _group(request, session, scim_groups.require(session, group_id)))


@router.put("/Groups/{group_id}")
async def replace_group(request: Request, group_id: str) -> Response:
    try:
        body = await _json(request)
    except scim.ScimError as exc:
        return _error(exc)
    return await _threaded(request, lambda session, actor, now: _group(
        request, session, scim_groups.replace(session, actor=actor, now=now, group_id=group_id, body=body)))


@router.patch("/Groups/{group_id}")
async def patch_group(request: Request, group_id: str) -> Response:
    try:
        body = await _json(request)
    except scim.ScimError as exc:
        return _error(exc)
    return await _threaded(request, lambda session, actor, now: _group(
        request, session, scim_groups.patch(session, actor=actor, now=now, group_id=group_id, body=body)))


@router.delete("/Groups/{group_id}")
def delete_group(request: Request, group_id: str) -> Response:
    def work(session: Any, actor: Principal, now: Any) -> Response:
        scim_groups.delete(session, actor=actor, now=now, group_id=group_id)
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    return _run(request, work)

"""/api/v1/users, /tokens, /teams, /services: the organisation's directory and catalog."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from tocsin.api import pagination
from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.errors import NotFound
from tocsin.flows import catalog
from tocsin.schemas import Page
from tocsin.services import service as services
from tocsin.services.models import Service
from tocsin.services.schemas import ServiceIn, ServiceOut, ServicePatch
from tocsin.teams import service as teams
from tocsin.teams.models import Team
from tocsin.teams.schemas import MembersIn, TeamIn, TeamOut, TeamPatch
from tocsin.users import service as users
from tocsin.users.schemas import (
    NewTokenOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]
LimitQ = Annotated[int, Query(ge=1, le=500)]
CursorQ = Annotated[str | None, Query(max_length=200)]
NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "Deleted"}}


def _page(rows: list[Any], limit: int, out: list[Any]) -> dict[str, Any]:
    page, more = pagination.split_page(rows, limit)
    return {"items": out[: len(page)], "next_cursor": pagination.encode(str(page[-1].id)) if more else None}


# --- users -------------------------------------------------------------------------------------

@router.get("/users", response_model=Page[UserOut], tags=["users"], summary="List users")
def list_users(ctx: CtxDep, limit: LimitQ = 50, cursor: CursorQ = None) -> dict[str, Any]:
    after = pagination.decode_id(cursor)
    with ctx.work() as (s, _me):
        rows = users.list_users(s, after=after, limit=limit + 1)
        return _page(rows, limit, rows)


@router.post("/users", status_code=201, response_model=UserOut, tags=["users"], summary="Create a user (admin)")
def create_user(body: UserIn, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        return users.create_user(s, actor=me, now=ctx.now, email=body.email, name=body.name, org_role=body.org_role,
                                 password=body.password, time_zone=body.time_zone)


@router.get("/users/me", response_model=UserOut, tags=["users"], summary="The user the token belongs to")
def me(ctx: CtxDep) -> Any:
    with ctx.work() as (s, principal):
        return users.require_user(s, principal.require_user_id())


@router.get("/users/{key}", response_model=UserOut, tags=["users"], summary="Get a user by id or email")
def get_user(key: str, ctx: CtxDep) -> Any:
    with ctx.work() as (s, _me):
        return users.require_user(s, key)


@router.patch("/users/{key}", response_model=UserOut, tags=["users"],
              summary="Change a user (yourself: name, password, time zone; admins: everything)")
def patch_user(key: str, body: UserPatch, ctx: CtxDep) -> Any:
    with ctx.work() as (s, principal):
        user = users.require_user(s, key)
        return users.update_user(s, actor=principal, now=ctx.now, user=user, **body.model_dump(exclude_unset=True))


# --- tokens ------------------------------------------------------------------------------------

@router.get("/tokens", response_model=Page[TokenOut], tags=["tokens"], summary="Your API tokens (never the secrets)")
def list_tokens(ctx: CtxDep) -> Any:
    with ctx.work() as (s, principal):
        return {"items": users.list_tokens(s, user_id=principal.require_user_id())}


@router.post("/tokens", status_code=201, response_model=NewTokenOut, tags=["tokens"],
             summary="Create an API token; the secret is shown only in this response")
def create_token(body: TokenIn, ctx: CtxDep) -> Any:
    with ctx.work() as (s, principal):
        owner = users.require_user(s, body.user if body.user else principal.require_user_id())
        token, plaintext = users.create_token(s, actor=principal, now=ctx.now, user=owner, name=body.name)
        return {**TokenOut.model_validate(token).model_dump(), "token": plaintext}


@router.delete("/tokens/{token_id}", response_model=TokenOut, tags=["tokens"], summary="Revoke a token")
def revoke_token(token_id: uuid.UUID, ctx: CtxDep) -> Any:
    with ctx.work() as (s, principal):
        token = users.require_token(s, token_id)
        if token.user_id != principal.user_id and not principal.is_admin:
            raise NotFound(f"no token {token_id}")  # other people's tokens do not exist for you
        return users.revoke_token(s, actor=principal, now=ctx.now, token=token)


# --- teams -------------------------------------------------------------------------------------

def _team_out(s: Session, team: Team) -> dict[str, Any]:
    return {**TeamOut.model_validate(team).model_dump(exclude={"members"}), "members": teams.member_ids(s, team.id)}


@router.get("/teams", response_model=Page[TeamOut], tags=["teams"], summary="List teams")
def list_teams(ctx: CtxDep, limit: LimitQ = 50, cursor: CursorQ = None) -> dict[str, Any]:
    after = pagination.decode_id(cursor)
    with ctx.work() as (s, _me):
        rows = teams.list_teams(s, after=after, limit=limit + 1)
        return _page(rows, limit, [_team_out(s, t) for t in rows[:limit]])


@router.post("/teams", status_code=201, response_model=TeamOut, tags=["teams"], summary="Create a team (admin)")
def create_team(body: TeamIn, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        return _team_out(s, teams.create_team(s, actor=me, now=ctx.now, **body.model_dump()))


@router.get("/teams/{key}", response_model=TeamOut, tags=["teams"], summary="Get a team by slug or id")
def get_team(key: str, ctx: CtxDep) -> Any:
    with ctx.work() as (s, _me):
        return _team_out(s, teams.require_team(s, key))


@router.patch("/teams/{key}", response_model=TeamOut, tags=["teams"], summary="Change a team (admin)")
def patch_team(key: str, body: TeamPatch, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        team = teams.require_team(s, key)
        return _team_out(s, teams.update_team(s, actor=me, now=ctx.now, team=team, **body.model_dump(exclude_unset=True)))


@router.put("/teams/{key}/members", response_model=TeamOut, tags=["teams"], summary="Replace a team's members (admin)")
def put_members(key: str, body: MembersIn, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        team = teams.require_team(s, key)
        members = [users.require_user(s, u) for u in body.users]
        teams.set_members(s, actor=me, now=ctx.now, team=team, users=members)
        return _team_out(s, team)


# --- services ----------------------------------------------------------------------------------

def _service_out(s: Session, svc: Service) -> dict[str, Any]:
    return {**ServiceOut.model_validate(svc).model_dump(exclude={"depends_on"}),
            "depends_on": services.dependency_slugs(s, svc.id)}


@router.get("/services", response_model=Page[ServiceOut], tags=["services"], summary="List services")
def list_services(ctx: CtxDep, limit: LimitQ = 50, cursor: CursorQ = None,
                  team: Annotated[str | None, Query(max_length=64, description="Owner team slug or id")] = None
                  ) -> dict[str, Any]:
    after = pagination.decode_id(cursor)
    with ctx.work() as (s, _me):
        team_id = teams.require_team(s, team).id if team else None
        rows = services.list_services(s, after=after, limit=limit + 1, team_id=team_id)
        return _page(rows, limit, [_service_out(s, x) for x in rows[:limit]])


@router.post("/services", status_code=201, response_model=ServiceOut, tags=["services"],
             summary="Add a service to the catalog (admin)")
def create_service(body: ServiceIn, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        return _service_out(s, services.create_service(s, actor=me, now=ctx.now, **body.model_dump()))


@router.get("/services/{key}", response_model=ServiceOut, tags=["services"], summary="Get a service by slug or id")
def get_service(key: str, ctx: CtxDep) -> Any:
    with ctx.work() as (s, _me):
        return _service_out(s, services.require_service(s, key))


@router.patch("/services/{key}", response_model=ServiceOut, tags=["services"], summary="Change a service (admin)")
def patch_service(key: str, body: ServicePatch, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        svc = services.require_service(s, key)
        return _service_out(s, services.update_service(s, actor=me, now=ctx.now, service=svc,
                                                       **body.model_dump(exclude_unset=True)))



@router.delete("/services/{key}", status_code=204, response_class=Response, responses=NO_CONTENT, tags=["services"],
               summary="Delete a service with its alert history, integrations, heartbeats and checks (admin); "
                       "refused (409) while an incident names it or one of its alerts fires")
def delete_service(key: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        catalog.delete_service(s, actor=me, now=ctx.now, service=services.require_service(s, key))
    return Response(status_code=204)

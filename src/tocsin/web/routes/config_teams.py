"""Console pages for teams: the list, a new team (admins), and a team's page with its members, the
services it owns, its schedules and the escalation policies that page it or its services.

Changes go through the teams service the API calls (same validation, audit and admin checks).
Adding or removing one member replaces the member list as a whole, as PUT /teams/{key}/members
does, so the audit entry names who was added or removed.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.escalation import service as esc
from tocsin.oncall import service as oncall
from tocsin.principal import OrgRole
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.teams.models import Team
from tocsin.users import service as users
from tocsin.web.auth import CsrfForm, CtxDep
from tocsin.web.render import render
from tocsin.web.routes.common import field, parse_uuid, redirect

router = APIRouter(include_in_schema=False)


@router.get("/teams")
def teams_page(request: Request, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        counts = teams.member_counts(s)
        owned: dict[uuid.UUID | None, list[str]] = {}
        for svc in sorted(services.list_services(s, limit=5000), key=lambda x: x.slug):
            owned.setdefault(svc.owner_team_id, []).append(svc.slug)
        rows = [{"team": team, "members": counts.get(team.id, 0), "services": owned.get(team.id, [])}
                for team in sorted(teams.list_teams(s, limit=1000), key=lambda t: t.name.lower())]
    return render(request, ctx, "teams.html", rows=rows)


@router.get("/teams/new")
def new_team(request: Request, ctx: CtxDep) -> Response:
    ctx.principal.require(OrgRole.admin, "creating teams")
    return render(request, ctx, "team.html", team=None)


@router.post("/teams")
def create_team(ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        team = teams.create_team(s, actor=me, now=ctx.now, name=field(form, "name", max_len=200),
                                 slug=field(form, "slug", required=False, max_len=64) or None,
                                 description=field(form, "description", required=False, max_len=10_000),
                                 is_security=bool(form.get("is_security")))
        slug = team.slug
    return redirect(f"/teams/{slug}", f"Team {slug} created")


def _policies_of(s: Session, team: Team, owned: set[str]) -> list[dict[str, Any]]:
    """Policies that page the team directly, or that its services page with."""
    policies = esc.list_policies(s)
    levels = esc.list_levels(s, [p.id for p in policies])
    using = esc.services_using(s, [p.id for p in policies])
    out = []
    for p in policies:
        targets_team = any(t.get("type") == "team" and t.get("id") == str(team.id)
                           for lv in levels[p.id] for t in lv.targets)
        for_services = [slug for slug in using[p.id] if slug in owned]
        if targets_team or for_services:
            out.append({"policy": p, "targets_team": targets_team, "services": for_services})
    return out


@router.get("/teams/{key}")
def team_page(request: Request, key: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        team = teams.require_team(s, key[:100])
        member_ids = set(teams.member_ids(s, team.id))
        everyone = sorted(users.list_users(s, limit=5000), key=lambda u: u.name.lower())
        members = [u for u in everyone if u.id in member_ids]
        candidates = [u for u in everyone if u.id not in member_ids and u.is_active]
        owned = sorted(services.list_services(s, team_id=team.id, limit=500), key=lambda x: x.slug)
        schedules = [x for x in oncall.list_schedules(s) if x.team_id == team.id]
        policies = _policies_of(s, team, {x.slug for x in owned})
    return render(request, ctx, "team.html", team=team, members=members, candidates=candidates, owned=owned,
                  schedules=schedules, policies=policies)


@router.post("/teams/{key}/edit")
def edit_team(key: str, ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        team = teams.require_team(s, key[:100])
        teams.update_team(s, actor=me, now=ctx.now, team=team, name=field(form, "name", max_len=200),
                          description=field(form, "description", required=False, max_len=10_000),
                          is_security=bool(form.get("is_security")))
        slug = team.slug
    return redirect(f"/teams/{slug}", "Team saved")


@router.post("/teams/{key}/members")
def add_member(key: str, ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        team = teams.require_team(s, key[:100])
        person = users.require_user(s, parse_uuid(field(form, "user", max_len=64), "user"))
        current = [users.require_user(s, uid) for uid in teams.member_ids(s, team.id)]
        teams.set_members(s, actor=me, now=ctx.now, team=team, users=[*current, person])
        slug, name = team.slug, person.name
    return redirect(f"/teams/{slug}", f"{name} added to the team")


@router.post("/teams/{key}/members/{user_id}/remove")
def remove_member(key: str, user_id: str, ctx: CtxDep, _form: CsrfForm) -> Response:
    uid = parse_uuid(user_id, "user")
    with ctx.work() as (s, me):
        team = teams.require_team(s, key[:100])
        person = users.require_user(s, uid)
        keep = [users.require_user(s, m) for m in teams.member_ids(s, team.id) if m != uid]
        teams.set_members(s, actor=me, now=ctx.now, team=team, users=keep)
        slug, name = team.slug, person.name
    return redirect(f"/teams/{slug}", f"{name} removed from the team")

"""/api/v1/agents (admins register and revoke agents) and /api/v1/agent/* (what an agent calls with
its own key: the checks assigned to its location, and its results); /api/v1/checks/{id}/locations.

An agent's key is not a user token: it authenticates only the two /agent routes, and a user token
does not authenticate them.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.checks import agents
from tocsin.checks import locations as check_locations
from tocsin.checks import service as checks
from tocsin.checks.models import CheckAgent
from tocsin.checks.probe import ProbeResult
from tocsin.checks.schemas import (
    AgentChecksOut,
    AgentIn,
    AgentOut,
    LocationsOut,
    NewAgentOut,
    ReportsIn,
    ReportsOut,
)
from tocsin.errors import Unauthenticated
from tocsin.principal import OrgRole

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]
_UNKNOWN_KEY = "a valid agent key is required (Authorization: Bearer tca_...)"


def _agent_out(agent: CheckAgent, counts: dict[str, int], now: Any) -> dict[str, Any]:
    return {"id": agent.id, "name": agent.name, "key_hint": agent.key_hint, "created_at": agent.created_at,
            "last_seen_at": agent.last_seen_at, "poll_interval_seconds": agent.poll_interval_seconds,
            "online": agents.is_online(agent, now), "checks": counts.get(agent.name, 0)}


@router.post("/agents", status_code=201, response_model=NewAgentOut, tags=["checks"],
             summary="Register an agent for a location (admin); its key is shown only in this response")
def register_agent(body: AgentIn, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        agent, key = agents.register_agent(s, actor=me, now=ctx.now, name=body.name)
        return {**_agent_out(agent, agents.agents_of(s), ctx.now), "key": key}


@router.get("/agents", response_model=list[AgentOut], tags=["checks"],
            summary="List agents (admin): last seen, online or offline, how many checks list them")
def list_agents(ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "listing agents")
        counts = agents.agents_of(s)
        return [_agent_out(a, counts, ctx.now) for a in agents.list_agents(s)]


@router.delete("/agents/{agent_id}", response_model=AgentOut, tags=["checks"],
               summary="Revoke an agent (admin): its key stops working at once")
def revoke_agent(agent_id: uuid.UUID, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "revoking agents")  # before the lookup: a 404 would tell which agents exist
        agent = agents.require_agent(s, agent_id)
        out = _agent_out(agent, agents.agents_of(s), ctx.now)
        agents.revoke_agent(s, actor=me, now=ctx.now, agent=agent)
        return out


@router.get("/agent/checks", response_model=AgentChecksOut, tags=["checks"],
            summary="For an agent, with its own key: the checks assigned to its location")
def agent_checks(ctx: CtxDep, interval: Annotated[int | None, Query(
        ge=1, le=86400, description="How often the agent polls (seconds): it is offline after 3 missed polls")] = None
                 ) -> Any:
    with ctx.db.unit_of_work() as s:
        agent = agents.authenticate_agent(s, ctx.token, now=ctx.now, poll_interval=interval)
        if agent is None:
            raise Unauthenticated(_UNKNOWN_KEY)
        return {"location": agent.name, "checks": agents.assigned_checks(s, agent)}


@router.post("/agent/results", response_model=ReportsOut, tags=["checks"],
             summary="For an agent, with its own key: report results (batched; idempotent per check and run time)")
def agent_results(body: ReportsIn, ctx: CtxDep) -> Any:
    reports = [agents.Report(check_id=r.check_id, at=r.at, result=ProbeResult(
        ok=r.ok, latency_ms=r.latency_ms, status_code=r.status_code, error=r.error, tls_expires_at=r.tls_expires_at))
        for r in body.results]
    with ctx.db.unit_of_work() as s:
        agent = agents.authenticate_agent(s, ctx.token, now=ctx.now)
        if agent is None:
            raise Unauthenticated(_UNKNOWN_KEY)
        done = agents.accept_results(s, agent, reports, now=ctx.now)
        return {"accepted": done.accepted, "duplicates": done.duplicates, "rejected": done.rejected}


@router.get("/checks/{check_id}/locations", response_model=LocationsOut, tags=["checks"],
            summary="A check's locations: each one's state, last result, uptime and latency over the last `hours`")
def check_locations_view(check_id: uuid.UUID, ctx: CtxDep,
                         hours: Annotated[int, Query(ge=1, le=24 * 90)] = 24) -> Any:
    with ctx.work() as (s, _me):
        check = checks.require_check(s, check_id)
        v = check_locations.verdict(s, check, ctx.now)
        items = []
        for view in check_locations.views(s, check, window=timedelta(hours=hours), now=ctx.now):
            up = view.uptime
            items.append({**{k: getattr(view, k) for k in ("location", "state", "last_result_at", "last_ok",
                                                            "last_error", "last_latency_ms", "last_status_code")},
                          "uptime": {"window_hours": hours, "since": up.since, "checks": up.checks,
                                     "failures": up.failures, "uptime_percent": up.uptime_percent,
                                     "latency_ms": {"p50": up.p50_ms, "p95": up.p95_ms}}})
        return {"quorum": v.quorum, "failing": len(v.failing), "reporting": v.reporting, "items": items}

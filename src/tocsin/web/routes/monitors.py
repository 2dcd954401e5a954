"""Console pages for the monitors that open alerts on their own, through their services as the
API's /heartbeats and /checks routes do: heartbeats (list, create with the ping URL shown once,
delete) and synthetic checks (list with state, latency and uptime; create; a check's page with its
recent results; edit; delete). Check targets are judged by the same egress policy as the API's.

Anyone logged in reads them; admins change them (the services refuse others, the pages hide the forms).
A new heartbeat's key lives only in the answer to the POST that made it (tocsin keeps its hash).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.checks import agents as check_agents
from tocsin.checks import locations as check_locations
from tocsin.checks import service as checks
from tocsin.checks.models import Check
from tocsin.errors import InvalidInput
from tocsin.heartbeats import service as heartbeats
from tocsin.heartbeats.schemas import MAX_GRACE, MAX_INTERVAL, MIN_INTERVAL
from tocsin.net.policy import check_policy
from tocsin.principal import OrgRole
from tocsin.services.service import list_services, require_service
from tocsin.web.auth import CsrfForm, CtxDep, WebCtx
from tocsin.web.render import describe_span, render
from tocsin.web.routes.common import field, parse_uuid, redirect

router = APIRouter(include_in_schema=False)
_DURATION = re.compile(r"^(\d{1,7})\s*([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
REDACTED = "<redacted>"


def parse_seconds(value: str, name: str, *, low: int, high: int) -> int:
    """A duration in seconds, or with a unit: 90, 90s, 5m, 2h, 1d; InvalidInput otherwise."""
    m = _DURATION.match(value.strip().lower())
    if not m:
        raise InvalidInput(f"{name}: give seconds (90) or a duration such as 5m, 2h or 1d", details={"field": name})
    seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if not low <= seconds <= high:
        raise InvalidInput(f"{name}: must be between {low} and {high} seconds", details={"field": name})
    return seconds


def every(seconds: int) -> str:
    """'5 min', '1 h', '45 s', '1 min 30 s' for interval and grace columns."""
    rest = seconds % 60
    if seconds < 60 or not rest:
        return describe_span(timedelta(seconds=seconds))
    return f"{describe_span(timedelta(seconds=seconds - rest))} {rest} s"


def _services(s: Any) -> dict[Any, Any]:
    return {svc.id: svc for svc in list_services(s, limit=500)}


# --- heartbeats --------------------------------------------------------------------------------

def _heartbeats_page(request: Request, ctx: WebCtx, status_code: int = 200, **extra: Any) -> Response:
    with ctx.work() as (s, _me):
        rows = heartbeats.list_heartbeats(s, limit=500)
        services = _services(s)
    return render(request, ctx, "heartbeats.html", status_code=status_code, heartbeats=rows, services=services,
                  service_keys=sorted(svc.slug for svc in services.values()),
                  base=ctx.settings.resolved_public_url(), every=every, **extra)


@router.get("/heartbeats")
def heartbeats_page(request: Request, ctx: CtxDep) -> Response:
    return _heartbeats_page(request, ctx)


@router.post("/heartbeats")
def create_heartbeat(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    ctx.principal.require(OrgRole.admin, "creating heartbeats")
    interval = parse_seconds(field(form, "interval", max_len=20), "interval", low=MIN_INTERVAL, high=MAX_INTERVAL)
    grace_text = form.get("grace", "").strip()
    grace = parse_seconds(grace_text, "grace", low=0, high=MAX_GRACE) if grace_text else 0
    with ctx.work() as (s, me):
        row, key = heartbeats.create_heartbeat(s, actor=me, now=ctx.now, service=field(form, "service", max_len=64),
                                               name=field(form, "name", max_len=200), interval_seconds=interval,
                                               grace_seconds=grace)
        created = {"name": row.name, "url": ctx.settings.resolved_public_url() + heartbeats.ping_path(key)}
    # the list with the new heartbeat's ping URL on top: shown once, in this answer only
    return _heartbeats_page(request, ctx, created=created, flash=f"Heartbeat {created['name']} created")


@router.post("/heartbeats/{heartbeat_id}/delete")
def delete_heartbeat(request: Request, heartbeat_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    hid = parse_uuid(heartbeat_id, "heartbeat")
    with ctx.work() as (s, me):
        row = heartbeats.require_heartbeat(s, hid)
        name = row.name
        heartbeats.delete_heartbeat(s, actor=me, now=ctx.now, heartbeat=row)
    return redirect("/heartbeats", f"Heartbeat {name} deleted; its ping URL no longer works")


# --- checks ------------------------------------------------------------------------------------

def _latest(s: Any, check: Check) -> Any:
    found = checks.results(s, check, limit=1)
    return found[0] if found else None


@router.get("/checks")
def checks_page(request: Request, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        services = _services(s)
        rows = []
        for c in checks.list_checks(s, limit=500):
            rows.append({"check": c, "latest": _latest(s, c),
                         "uptime": checks.uptime(s, c, window=timedelta(hours=24), now=ctx.now)})
    return render(request, ctx, "checks.html", rows=rows, services=services)


def _form_defaults() -> dict[str, Any]:
    return {"kind": "http", "method": "GET", "headers": {}, "interval_seconds": 60, "timeout_seconds": 10.0,
            "expected_statuses": "200-399", "keyword": None, "keyword_absent": False, "latency_threshold_ms": None,
            "tls_expiry_warn_days": None, "failures_to_alert": 2, "successes_to_resolve": 1, "enabled": True,
            "locations": ["server"], "quorum": None}


def _location_names(s: Any) -> list[str]:
    return ["server", *(a.name for a in check_agents.list_agents(s))]


@router.get("/checks/new")
def new_check(request: Request, ctx: CtxDep) -> Response:
    ctx.principal.require(OrgRole.admin, "creating checks")
    with ctx.work() as (s, _me):
        service_keys = sorted(svc.slug for svc in list_services(s, limit=500))
        location_names = _location_names(s)
    return render(request, ctx, "check_new.html", service_keys=service_keys, values=_form_defaults(),
                  methods=checks.METHODS, headers_text="", location_names=location_names)


def _int(form: dict[str, str], name: str, *, optional: bool = False) -> int | None:
    text = form.get(name, "").strip()
    if not text and optional:
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{name.replace('_', ' ')}: give a whole number", details={"field": name}) from None


def _float(form: dict[str, str], name: str) -> float:
    try:
        value = float(form.get(name, "").strip())
    except ValueError:
        raise InvalidInput(f"{name.replace('_', ' ')}: give a number of seconds", details={"field": name}) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidInput(f"{name.replace('_', ' ')}: give a number of seconds", details={"field": name})
    return value


def _headers(text: str) -> dict[str, str]:
    """'Name: value' lines -> a dict (the service validates names and values)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise InvalidInput(f"headers: write one 'Name: value' per line ({line.strip()[:40]!r})",
                               details={"field": "headers"})
        out[name.strip()] = value.strip()
    return out


def _locations(text: str) -> list[str]:
    """'server, eu-west' -> ["server", "eu-west"] (empty: the server alone); the service checks the names."""
    names = [n.strip().lower() for n in text[:2000].replace(",", " ").split()]
    return names[:checks.MAX_LOCATIONS + 1] or ["server"]


def _check_config(form: dict[str, str]) -> dict[str, Any]:
    """The check's configuration from the form, typed; the check service validates it."""
    return {"name": field(form, "name", max_len=200), "kind": field(form, "kind", max_len=8),
            "target": field(form, "target", max_len=2048), "method": form.get("method", "GET").strip()[:8] or "GET",
            "headers": _headers(form.get("headers", "")[:100_000]),
            "interval_seconds": parse_seconds(field(form, "interval_seconds", max_len=20), "interval_seconds",
                                              low=1, high=10**7),
            "timeout_seconds": _float(form, "timeout_seconds"),
            "expected_statuses": field(form, "expected_statuses", max_len=200),
            "keyword": form.get("keyword", "").strip()[:500] or None,
            "keyword_absent": form.get("keyword_absent") == "on",
            "latency_threshold_ms": _int(form, "latency_threshold_ms", optional=True),
            "tls_expiry_warn_days": _int(form, "tls_expiry_warn_days", optional=True),
            "failures_to_alert": _int(form, "failures_to_alert"), "successes_to_resolve": _int(form, "successes_to_resolve"),
            "enabled": form.get("enabled") == "on",
            "locations": _locations(form.get("locations", "")),
            "quorum": _int(form, "quorum", optional=True)}


@router.post("/checks")
def create_check(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    ctx.principal.require(OrgRole.admin, "creating checks")
    config = _check_config(form)
    with ctx.work() as (s, me):
        check = checks.create_check(s, actor=me, now=ctx.now, service=field(form, "service", max_len=64),
                                    policy=check_policy(ctx.settings), **config)
        check_id = check.id
    return redirect(f"/checks/{check_id}", "Check created; it runs at once, then every interval")


@router.get("/checks/{check_id}")
def check_page(request: Request, check_id: str, ctx: CtxDep) -> Response:
    cid = parse_uuid(check_id, "check")
    with ctx.work() as (s, me):
        check = checks.require_check(s, cid)
        service = require_service(s, check.service_id)
        day = checks.uptime(s, check, window=timedelta(hours=24), now=ctx.now)
        week = checks.uptime(s, check, window=timedelta(days=7), now=ctx.now)
        recent = checks.results(s, check, limit=50)
        values = {f: getattr(check, f) for f in checks.CONFIG_FIELDS}
        places = check_locations.views(s, check, window=timedelta(hours=24), now=ctx.now)
        verdict = check_locations.verdict(s, check, ctx.now)
        location_names = _location_names(s)
    headers = values["headers"] if me.is_admin else {n: REDACTED for n in values["headers"]}
    return render(request, ctx, "check.html", check=check, service=service, day=day, week=week, results=recent,
                  places=places, verdict=verdict, location_names=location_names,
                  values=values, headers=headers, methods=checks.METHODS, every=every,
                  headers_text="\n".join(f"{k}: {v}" for k, v in values["headers"].items()) if me.is_admin else "")


@router.post("/checks/{check_id}")
def update_check(request: Request, check_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    cid = parse_uuid(check_id, "check")
    ctx.principal.require(OrgRole.admin, "changing checks")
    config = _check_config(form)
    with ctx.work() as (s, me):
        check = checks.require_check(s, cid)
        checks.update_check(s, actor=me, now=ctx.now, check=check, policy=check_policy(ctx.settings), **config)
    return redirect(f"/checks/{cid}", "Check saved")


@router.post("/checks/{check_id}/delete")
def delete_check(request: Request, check_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    cid = parse_uuid(check_id, "check")
    with ctx.work() as (s, me):
        check = checks.require_check(s, cid)
        name = check.name
        checks.delete_check(s, actor=me, now=ctx.now, check=check)
    return redirect("/checks", f"Check {name} deleted with its results")


# --- agents ------------------------------------------------------------------------------------

def _agents_page(request: Request, ctx: WebCtx, status_code: int = 200, **extra: Any) -> Response:
    ctx.principal.require(OrgRole.admin, "managing check agents")
    with ctx.work() as (s, _me):
        counts = check_agents.agents_of(s)
        rows = [{"agent": a, "online": check_agents.is_online(a, ctx.now), "checks": counts.get(a.name, 0)}
                for a in check_agents.list_agents(s)]
    return render(request, ctx, "agents.html", status_code=status_code, rows=rows,
                  base=ctx.settings.resolved_public_url(), **extra)


@router.get("/agents")
def agents_page(request: Request, ctx: CtxDep) -> Response:
    return _agents_page(request, ctx)


@router.post("/agents")
def register_agent(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    ctx.principal.require(OrgRole.admin, "registering agents")
    with ctx.work() as (s, me):
        agent, key = check_agents.register_agent(s, actor=me, now=ctx.now, name=field(form, "name", max_len=64))
        created = {"name": agent.name, "key": key}
    # the list with the new agent's key on top: shown once, in this answer only
    return _agents_page(request, ctx, created=created, flash=f"Agent {created['name']} registered")


@router.post("/agents/{agent_id}/revoke")
def revoke_agent(request: Request, agent_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    ctx.principal.require(OrgRole.admin, "revoking agents")  # before the lookup: a 404 would tell which exist
    aid = parse_uuid(agent_id, "agent")
    with ctx.work() as (s, me):
        agent = check_agents.require_agent(s, aid)
        name = agent.name
        check_agents.revoke_agent(s, actor=me, now=ctx.now, agent=agent)
    return redirect("/agents", f"Agent {name} revoked; its key no longer works")

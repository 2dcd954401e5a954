"""Console pages for routing, auto-incident and inhibition rules, through the routing service (as the
API's rules routes do): everyone reads them, each rule said in words; admins create, edit, delete,
and move routing rules up or down (the order decides: the first match wins).

Matchers are typed one per line, as on /silences. Moving a rule sends the order the page showed,
so a rule added or deleted meanwhile makes the move a 409 (reload) rather than a surprise.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.errors import InvalidInput
from tocsin.incidents.types import Kind
from tocsin.routing import service as rules
from tocsin.routing.matchers import in_words, lines, load
from tocsin.routing.models import AutoIncidentRule, InhibitionRule, RoutingRule
from tocsin.services.service import list_services
from tocsin.web.auth import CsrfForm, CtxDep
from tocsin.web.render import SEVERITIES, render
from tocsin.web.routes.common import field, parse_uuid, redirect

router = APIRouter(include_in_schema=False)
KINDS = tuple(k.value for k in Kind)


def matcher_lines(form: dict[str, str], name: str) -> list[str]:
    """The matchers typed one per line in the form field `name` (the service validates each)."""
    return [line.strip() for line in field(form, name, max_len=20_000).splitlines() if line.strip()]


def _service_keys(s: Session) -> list[str]:
    return sorted(svc.slug for svc in list_services(s, limit=500))


def _optional(form: dict[str, str], name: str) -> str | None:
    return form.get(name, "").strip()[:64] or None


# --- routing rules -----------------------------------------------------------------------------

def _routing_view(rule: RoutingRule, slugs: dict[uuid.UUID, str]) -> dict[str, Any]:
    service = slugs.get(rule.service_id) if rule.service_id else None
    does = [f"go to {service}" if service else "keep the service they came in for"]
    does.append(f"with {rule.urgency} urgency" if rule.urgency else "with the urgency their severity gives")
    return {"row": rule, "service": service, "when": in_words(load(rule.matchers)), "does": " ".join(does),
            "lines": lines(rule.matchers)}


@router.get("/routing-rules")
def routing_rules_page(request: Request, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        rows = rules.list_routing_rules(s)
        slugs = rules.service_slugs(s, [r.service_id for r in rows])
        keys = _service_keys(s)
    views = [_routing_view(r, slugs) for r in rows]
    return render(request, ctx, "rules_routing.html", rules=views, order=",".join(str(r.id) for r in rows),
                  service_keys=keys)


@router.post("/routing-rules")
def create_routing_rule(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        rule = rules.create_routing_rule(s, actor=me, now=ctx.now, name=field(form, "name", max_len=200),
                                         matchers=matcher_lines(form, "matchers"), service=_optional(form, "service"),
                                         urgency=_optional(form, "urgency"))
        name = rule.name
    return redirect("/routing-rules", f"Routing rule {name!r} added at the end")


@router.post("/routing-rules/order")
def move_routing_rule(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    """Move one rule up or down in the order the page showed (`order`: every id, comma-separated)."""
    shown = [parse_uuid(part, "routing rule") for part in field(form, "order", max_len=40_000).split(",") if part]
    moving = parse_uuid(form.get("rule"), "routing rule")
    direction = form.get("direction", "")
    if moving not in shown or direction not in ("up", "down"):
        raise InvalidInput("say which rule to move (one the page showed) and whether up or down",
                           details={"field": "direction"})
    i = shown.index(moving)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(shown):
        shown[i], shown[j] = shown[j], shown[i]
    with ctx.work() as (s, me):
        rules.reorder_routing_rules(s, actor=me, now=ctx.now, ids=shown)
    return redirect("/routing-rules", f"Rule moved {direction}")


@router.get("/routing-rules/{rule_id}")
def routing_rule_page(request: Request, rule_id: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        rule = rules.require_routing_rule(s, parse_uuid(rule_id, "routing rule"))
        view = _routing_view(rule, rules.service_slugs(s, [rule.service_id]))
        keys = _service_keys(s)
    return render(request, ctx, "rule_edit.html", kind="routing", rule=view, service_keys=keys,
                  title=f"Routing rule {rule.name}", back="/routing-rules", action=f"/routing-rules/{rule.id}")


@router.post("/routing-rules/{rule_id}")
def update_routing_rule(request: Request, rule_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        rule = rules.require_routing_rule(s, parse_uuid(rule_id, "routing rule"))
        rules.update_routing_rule(s, actor=me, now=ctx.now, rule=rule, name=field(form, "name", max_len=200),
                                  matchers=matcher_lines(form, "matchers"), service=_optional(form, "service"),
                                  urgency=_optional(form, "urgency"))
    return redirect("/routing-rules", "Routing rule saved")


@router.post("/routing-rules/{rule_id}/delete")
def delete_routing_rule(request: Request, rule_id: str, ctx: CtxDep, _form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        rules.delete_routing_rule(s, actor=me, now=ctx.now,
                                  rule=rules.require_routing_rule(s, parse_uuid(rule_id, "routing rule")))
    return redirect("/routing-rules", "Routing rule deleted")


# --- auto-incident rules -----------------------------------------------------------------------

def _auto_view(rule: AutoIncidentRule) -> dict[str, Any]:
    kind = "security" if rule.incident_kind == Kind.security.value else "operational"
    return {"row": rule, "when": in_words(load(rule.matchers)), "lines": lines(rule.matchers),
            "does": f"declares a {rule.incident_severity} {kind} incident"}


def _auto_fields(form: dict[str, str]) -> dict[str, Any]:
    return {"name": field(form, "name", max_len=200), "matchers": matcher_lines(form, "matchers"),
            "incident_severity": field(form, "incident_severity", max_len=8),
            "incident_kind": form.get("incident_kind", "").strip()[:16] or Kind.operational.value}


@router.get("/auto-incident-rules")
def auto_rules_page(request: Request, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        views = [_auto_view(r) for r in rules.list_auto_rules(s)]
    return render(request, ctx, "rules_auto.html", rules=views, kinds=KINDS, severities=SEVERITIES)


@router.post("/auto-incident-rules")
def create_auto_rule(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        rule = rules.create_auto_rule(s, actor=me, now=ctx.now, **_auto_fields(form))
        name = rule.name
    return redirect("/auto-incident-rules", f"Auto-incident rule {name!r} added")


@router.get("/auto-incident-rules/{rule_id}")
def auto_rule_page(request: Request, rule_id: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        rule = rules.require_auto_rule(s, parse_uuid(rule_id, "auto-incident rule"))
        view = _auto_view(rule)
    return render(request, ctx, "rule_edit.html", kind="auto", rule=view, kinds=KINDS, severities=SEVERITIES,
                  title=f"Auto-incident rule {rule.name}", back="/auto-incident-rules",
                  action=f"/auto-incident-rules/{rule.id}")


@router.post("/auto-incident-rules/{rule_id}")
def update_auto_rule(request: Request, rule_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        rule = rules.require_auto_rule(s, parse_uuid(rule_id, "auto-incident rule"))
        rules.update_auto_rule(s, actor=me, now=ctx.now, rule=rule, **_auto_fields(form))
    return redirect("/auto-incident-rules", "Auto-incident rule saved")


@router.post("/auto-incident-rules/{rule_id}/delete")
def delete_auto_rule(request: Request, rule_id: str, ctx: CtxDep, _form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        rules.delete_auto_rule(s, actor=me, now=ctx.now,
                               rule=rules.require_auto_rule(s, parse_uuid(rule_id, "auto-incident rule")))
    return redirect("/auto-incident-rules", "Auto-incident rule deleted")


# --- inhibition rules --------------------------------------------------------------------------

def _inhibition_view(rule: InhibitionRule, slugs: dict[uuid.UUID, str]) -> dict[str, Any]:
    service = slugs.get(rule.service_id) if rule.service_id else None
    same = f" with the same {', '.join(rule.equal)}" if rule.equal else ""
    scope = f" (alerts of {service} only)" if service else ""
    return {"row": rule, "service": service, "source": in_words(load(rule.source_matchers)),
            "target": in_words(load(rule.target_matchers)), "source_lines": lines(rule.source_matchers),
            "target_lines": lines(rule.target_matchers), "equal": " ".join(rule.equal),
            "does": f"new alerts where {in_words(load(rule.target_matchers))}{same} are held instead of "
                    f"paging{scope}"}


def _inhibition_fields(form: dict[str, str]) -> dict[str, Any]:
    equal = [name for name in re.split(r"[\s,]+", form.get("equal", "")[:4000]) if name]
    return {"name": field(form, "name", max_len=200), "source_matchers": matcher_lines(form, "source_matchers"),
            "target_matchers": matcher_lines(form, "target_matchers"), "equal": equal,
            "service": _optional(form, "service")}


@router.get("/inhibition-rules")
def inhibition_rules_page(request: Request, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        rows = rules.list_inhibition_rules(s)
        slugs = rules.service_slugs(s, [r.service_id for r in rows])
        keys = _service_keys(s)
    return render(request, ctx, "rules_inhibition.html", rules=[_inhibition_view(r, slugs) for r in rows],
                  service_keys=keys)


@router.post("/inhibition-rules")
def create_inhibition_rule(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        rule = rules.create_inhibition_rule(s, actor=me, now=ctx.now, **_inhibition_fields(form))
        name = rule.name
    return redirect("/inhibition-rules", f"Inhibition rule {name!r} added")


@router.get("/inhibition-rules/{rule_id}")
def inhibition_rule_page(request: Request, rule_id: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        rule = rules.require_inhibition_rule(s, parse_uuid(rule_id, "inhibition rule"))
        view = _inhibition_view(rule, rules.service_slugs(s, [rule.service_id]))
        keys = _service_keys(s)
    return render(request, ctx, "rule_edit.html", kind="inhibition", rule=view, service_keys=keys,
                  title=f"Inhibition rule {rule.name}", back="/inhibition-rules", action=f"/inhibition-rules/{rule.id}")


@router.post("/inhibition-rules/{rule_id}")
def update_inhibition_rule(request: Request, rule_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        rule = rules.require_inhibition_rule(s, parse_uuid(rule_id, "inhibition rule"))
        rules.update_inhibition_rule(s, actor=me, now=ctx.now, rule=rule, **_inhibition_fields(form))
    return redirect("/inhibition-rules", "Inhibition rule saved")


@router.post("/inhibition-rules/{rule_id}/delete")
def delete_inhibition_rule(request: Request, rule_id: str, ctx: CtxDep, _form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        rules.delete_inhibition_rule(s, actor=me, now=ctx.now,
                                     rule=rules.require_inhibition_rule(s, parse_uuid(rule_id, "inhibition rule")))
    return redirect("/inhibition-rules", "Inhibition rule deleted")

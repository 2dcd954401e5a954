"""Configure → Guardrails: each guardrail with what trips it, what to do, its settings and whether it
is on (read-only: the thresholds are settings, TOCSIN_GUARDRAIL_*; docs/guardrails.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.config import Settings
from tocsin.guardrails.facts import SETTINGS, thresholds
from tocsin.guardrails.rules import ABOUT, Rule
from tocsin.web.auth import CtxDep
from tocsin.web.render import render

router = APIRouter(include_in_schema=False)


def rows(settings: Settings) -> list[dict[str, Any]]:
    off = thresholds(settings).off
    return [{"rule": rule.value, "label": about.label, "advice": about.advice, "on": rule.value not in off,
             "settings": [(f"TOCSIN_{name.upper()}", getattr(settings, name)) for name in SETTINGS[rule]]}
            for rule, about in ABOUT.items()]


@router.get("/configure/guardrails")
def guardrails_page(request: Request, ctx: CtxDep) -> Response:
    unknown = sorted(thresholds(ctx.settings).off - set(Rule.__members__))
    return render(request, ctx, "configure_guardrails.html", rules=rows(ctx.settings), unknown=unknown,
                  notify=ctx.settings.guardrail_notify_severities)

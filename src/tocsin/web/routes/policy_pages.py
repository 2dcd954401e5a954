"""The escalation policy editor (admins): create a policy, change its levels (who is paged, how long
to wait before the next level), its repeats, and delete it unless services page with it.

The editor works without JavaScript: the whole policy is one form, and "Add a level", "Remove",
"Up", "Down" and "Another target" are submit buttons (`op`) that re-render the form with the
change and write nothing; only "Save" calls the escalation service, which validates and audits
as the API does. A save the service refuses re-renders the form with the message and the
entries kept. The list and the read-only policy page stay in oncall_pages.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.errors import Conflict, InvalidInput
from tocsin.escalation import service as esc
from tocsin.oncall.service import list_schedules
from tocsin.principal import OrgRole, Principal
from tocsin.teams.service import list_teams
from tocsin.users.service import list_users
from tocsin.web.auth import CsrfForm, CtxDep, WebCtx
from tocsin.web.render import render
from tocsin.web.routes.common import redirect

router = APIRouter(include_in_schema=False)
NEW_LEVELS = 2  # blank levels a new policy starts with (levels without targets are left out on save)
MIN_SLOTS = 2  # target choices shown per level, at least
DEFAULT_DELAY = "10"
_OP = re.compile(r"(save|add-level|remove|up|down|add-target)(?:-(\d{1,2}))?")


@dataclass
class Draft:
    """The policy as typed in the form: raw strings, so a refused save shows what was entered."""

    name: str = ""
    slug: str = ""
    description: str = ""
    repeat: str = "0"
    levels: list[dict[str, Any]] = field(default_factory=list)  # {"delay": str, "targets": [str]}

    def slots(self) -> list[dict[str, Any]]:
        """Levels with room for one more target each (at least MIN_SLOTS choices)."""
        return [{"delay": lv["delay"], "targets": lv["targets"] + [""] * max(MIN_SLOTS - len(lv["targets"]), 1)}
                for lv in self.levels]


def _blank_level() -> dict[str, Any]:
    return {"delay": DEFAULT_DELAY, "targets": []}


def _from_form(form: dict[str, str]) -> Draft:
    draft = Draft(name=form.get("name", "")[:200], slug=form.get("slug", "").strip()[:64],
                  description=form.get("description", "")[:10_000], repeat=form.get("repeat", "0").strip()[:4])
    count = _small_int(form.get("levels", "0"), esc.MAX_LEVELS + 1)
    for i in range(count):
        slots = _small_int(form.get(f"l{i}-slots", "0"), esc.MAX_TARGETS + 2)
        targets = [v for j in range(slots) if (v := form.get(f"l{i}-t{j}", "").strip()[:100])]
        draft.levels.append({"delay": form.get(f"l{i}-delay", "").strip()[:8], "targets": targets})
    return draft


def _small_int(text: str, high: int) -> int:
    try:
        return max(0, min(int(text), high))
    except ValueError:
        return 0


def _apply(draft: Draft, op: str) -> None:
    """Change the draft as the button `op` asks (add-level, remove-N, up-N, down-N, add-target-N)."""
    m = _OP.fullmatch(op)
    if not m:
        raise InvalidInput("unknown editor action", details={"field": "op"})
    what, index = m.group(1), int(m.group(2)) if m.group(2) else -1
    levels = draft.levels
    if what == "add-level" and len(levels) < esc.MAX_LEVELS:
        levels.append(_blank_level())
    elif 0 <= index < len(levels):
        if what == "remove":
            levels.pop(index)
        elif what == "up" and index > 0:
            levels[index - 1], levels[index] = levels[index], levels[index - 1]
        elif what == "down" and index < len(levels) - 1:
            levels[index + 1], levels[index] = levels[index], levels[index + 1]
        elif what == "add-target":
            levels[index]["targets"].append("")  # kept as an extra blank choice when re-rendered


def _specs(draft: Draft) -> list[dict[str, Any]]:
    """The levels in the service's request form; levels without a target are left out."""
    out = []
    for i, lv in enumerate(draft.levels):
        targets = [t for t in lv["targets"] if t]
        if not targets:
            continue
        try:
            delay = int(lv["delay"])
        except ValueError:
            raise InvalidInput(f"level {i + 1}: the wait must be a whole number of minutes (1 to 1440)",
                               details={"field": f"l{i}-delay"}) from None
        specs = []
        for value in targets:
            kind, _, key = value.partition(":")
            specs.append({"type": kind, "id": key})
        out.append({"delay_minutes": delay, "targets": specs})
    return out


def _repeat(draft: Draft) -> int:
    try:
        return int(draft.repeat or "0")
    except ValueError:
        raise InvalidInput("repeat must be a whole number from 0 to 9", details={"field": "repeat"}) from None


def _choices(s: Session) -> dict[str, list[tuple[str, str]]]:
    """Who a level can page: active people, schedules and teams, as select options (value, label)."""
    return {
        "People": [(f"user:{u.id}", f"{u.name} ({u.email})") for u in list_users(s, limit=500) if u.is_active],
        "Schedules (whoever is on call)": [(f"schedule:{x.id}", x.name) for x in list_schedules(s)],
        "Teams (every member)": [(f"team:{t.id}", t.name) for t in list_teams(s, limit=500)],
    }


def _draft_of(s: Session, key: str) -> tuple[Draft, list[str]]:
    policy = esc.require_policy(s, key)
    levels = esc.list_levels(s, [policy.id])[policy.id]
    draft = Draft(name=policy.name, slug=policy.slug, description=policy.description, repeat=str(policy.repeat),
                  levels=[{"delay": str(lv.delay_minutes), "targets": [f"{t['type']}:{t['id']}" for t in lv.targets]}
                          for lv in levels])
    return draft, esc.services_using(s, [policy.id])[policy.id]


def _admin(me: Principal) -> None:
    me.require(OrgRole.admin, "changing escalation policies")


def _page(request: Request, ctx: WebCtx, draft: Draft, *, key: str | None, services: list[str],
          choices: dict[str, list[tuple[str, str]]], error: str | None = None, status: int = 200) -> Response:
    return render(request, ctx, "policy_form.html", status_code=status, draft=draft, levels=draft.slots(),
                  key=key, services=services, choices=choices, error=error,
                  action=f"/escalation-policies/{key}/edit" if key else "/escalation-policies/new")


@router.get("/escalation-policies/new")
def new_policy_page(request: Request, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        _admin(me)
        choices = _choices(s)
    draft = Draft(levels=[_blank_level() for _ in range(NEW_LEVELS)])
    return _page(request, ctx, draft, key=None, services=[], choices=choices)


@router.get("/escalation-policies/{key}/edit")
def edit_policy_page(request: Request, key: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        _admin(me)
        draft, services = _draft_of(s, key[:100])
        choices = _choices(s)
    return _page(request, ctx, draft, key=draft.slug, services=services, choices=choices)


def _submit(request: Request, ctx: WebCtx, form: dict[str, str], key: str | None) -> Response:
    draft = _from_form(form)
    op = form.get("op", "save")
    with ctx.work() as (s, me):
        _admin(me)
        choices = _choices(s)
        services = esc.services_using(s, [esc.require_policy(s, key).id]).popitem()[1] if key else []
    if op != "save":
        _apply(draft, op)
        return _page(request, ctx, draft, key=key, services=services, choices=choices)
    try:
        with ctx.work() as (s, me):
            fields: dict[str, Any] = {"name": draft.name, "description": draft.description.strip(),
                                      "repeat": _repeat(draft), "levels": _specs(draft)}
            if key is None:
                policy = esc.create_policy(s, actor=me, now=ctx.now, slug=draft.slug or None, **fields)
            else:
                if draft.slug:
                    fields["slug"] = draft.slug
                policy = esc.update_policy(s, actor=me, now=ctx.now, policy=esc.require_policy(s, key), **fields)
            slug = policy.slug
    except (InvalidInput, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return _page(request, ctx, draft, key=key, services=services, choices=choices, error=exc.message,
                     status=status)
    return redirect(f"/escalation-policies/{slug}", "Escalation policy saved")


@router.post("/escalation-policies/new")
def create_policy(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    return _submit(request, ctx, form, None)


@router.post("/escalation-policies/{key}/edit")
def update_policy(request: Request, key: str, ctx: CtxDep, form: CsrfForm) -> Response:
    return _submit(request, ctx, form, key[:100])


@router.post("/escalation-policies/{key}/delete")
def delete_policy(request: Request, key: str, ctx: CtxDep, _form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        policy = esc.require_policy(s, key[:100])
        name = policy.name
        esc.delete_policy(s, actor=me, now=ctx.now, policy=policy)
    return redirect("/escalation-policies", f"Escalation policy {name!r} deleted")

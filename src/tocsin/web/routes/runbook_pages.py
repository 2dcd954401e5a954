"""Console: runbooks. /runbooks/{slug} reads one (everyone signed in); /configure/runbooks lists them
and edits them (admins, or responders of the owning team: title, owner, services, label matchers and
the Markdown with a rendered preview); the incident room's Runbooks panel posts
/incidents/{ref}/runbooks/{slug}/steps/{n} (responders; need-to-know first).

A refused save shows the form again with what was typed and the reason (4xx), so nothing is lost.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.http.errors import status_for
from tocsin.incidents.access import require_incident
from tocsin.incidents.service import ref as incident_ref
from tocsin.principal import OrgRole
from tocsin.routing.matchers import in_words
from tocsin.runbooks import service as runbooks
from tocsin.runbooks.models import Runbook
from tocsin.runbooks.steps import render as render_md
from tocsin.runbooks.steps import steps
from tocsin.services.service import list_services
from tocsin.teams.service import list_teams
from tocsin.web.auth import CsrfForm, CtxDep, WebCtx
from tocsin.web.render import render
from tocsin.web.routes.common import field, redirect

router = APIRouter(include_in_schema=False)
BASE = "/configure/runbooks"


def _values(s: Session, rb: Runbook) -> dict[str, Any]:
    links = runbooks.links_of(s, [rb.id])[rb.id]
    team = runbooks.teams_of(s, [rb])
    return {"title": rb.title, "slug": rb.slug, "team": team[rb.team_id].slug if rb.team_id in team else "",
            "services": [x.slug for x in links.services], "matchers": "\n".join(str(m) for m in links.matchers),
            "body_md": rb.body_md}


def _from_form(form: dict[str, str]) -> dict[str, Any]:
    """The form's values; linked services are checkboxes named `svc:<slug>`."""
    services = sorted(k.removeprefix("svc:") for k, v in form.items() if k.startswith("svc:") and v)
    return {"title": form.get("title", "").strip(), "slug": form.get("slug", "").strip(),
            "team": form.get("team", "").strip(), "services": services,
            "matchers": form.get("matchers", "").strip(), "body_md": form.get("body_md", "").replace("\r\n", "\n")}


def _matcher_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _form_page(request: Request, ctx: WebCtx, s: Session, *, v: dict[str, Any], rb: Runbook | None,
               error: str | None = None, status_code: int = 200) -> Response:
    return render(request, ctx, "runbook_form.html", status_code=status_code, v=v, runbook=rb, error=error,
                  teams=sorted(list_teams(s, limit=500), key=lambda t: t.name.lower()),
                  services=sorted(x.slug for x in list_services(s, limit=500)),
                  preview=render_md(v["body_md"]) if v["body_md"].strip() else None,
                  step_count=len(steps(v["body_md"])))


def _refused(request: Request, ctx: WebCtx, exc: InvalidInput | Conflict | NotFound, v: dict[str, Any],
             slug: str | None) -> Response:
    with ctx.work() as (s, _me):
        rb = runbooks.get_runbook(s, slug) if slug else None
        return _form_page(request, ctx, s, v=v, rb=rb, error=exc.message, status_code=status_for(exc))


@router.get("/runbooks/{slug}")
def runbook_page(request: Request, slug: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        rb = runbooks.require_runbook(s, slug)
        v = _values(s, rb)
        links = runbooks.links_of(s, [rb.id])[rb.id]
        may_edit = runbooks.may_edit(me, rb.team_id)
    return render(request, ctx, "runbook.html", runbook=rb, v=v, body=render_md(rb.body_md),
                  matchers=in_words(links.matchers) if links.matchers else None, may_edit=may_edit,
                  steps=len(steps(rb.body_md)))


@router.get(BASE)
def list_page(request: Request, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        rows = runbooks.list_runbooks(s)
        links = runbooks.links_of(s, [r.id for r in rows])
        teams = runbooks.teams_of(s, rows)
        items = [{"slug": r.slug, "title": r.title, "team": teams[r.team_id].name if r.team_id in teams else None,
                  "services": [x.slug for x in links[r.id].services],
                  "matchers": in_words(links[r.id].matchers) if links[r.id].matchers else None,
                  "steps": len(steps(r.body_md)), "may_edit": runbooks.may_edit(me, r.team_id)} for r in rows]
    return render(request, ctx, "runbooks.html", runbooks=items,
                  may_create=ctx.principal.is_admin or (ctx.principal.at_least(OrgRole.responder)
                                                        and bool(ctx.principal.team_ids)))


@router.get(BASE + "/new")
def new_page(request: Request, ctx: CtxDep) -> Response:
    ctx.principal.require(OrgRole.responder, "writing runbooks")
    with ctx.work() as (s, _me):
        v = {"title": "", "slug": "", "team": "", "services": [], "matchers": "",
             "body_md": "# Title\n\nWhat this runbook is for.\n\n1. First step\n2. Second step\n"}
        return _form_page(request, ctx, s, v=v, rb=None)


@router.post(BASE + "/new")
def create(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    v = _from_form(form)
    if form.get("preview") == "1":
        with ctx.work() as (s, _me):
            return _form_page(request, ctx, s, v=v, rb=None)
    try:
        with ctx.work() as (s, me):
            rb = runbooks.create_runbook(s, actor=me, now=ctx.now, title=field(form, "title", max_len=200),
                                         slug=v["slug"] or None, team=v["team"] or None, body_md=v["body_md"],
                                         services=v["services"], matchers=_matcher_lines(v["matchers"]))
            slug = rb.slug
    except (InvalidInput, Conflict, NotFound) as exc:
        return _refused(request, ctx, exc, v, None)
    return redirect(f"{BASE}/{slug}", f"Runbook {slug} created.")


@router.get(BASE + "/{slug}")
def edit_page(request: Request, slug: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        rb = runbooks.require_runbook(s, slug)
        return _form_page(request, ctx, s, v=_values(s, rb), rb=rb)


@router.post(BASE + "/{slug}")
def save(request: Request, slug: str, ctx: CtxDep, form: CsrfForm) -> Response:
    """Save (or `preview=1`: show the rendered Markdown without saving; `delete=1`: delete it)."""
    v = _from_form(form)
    with ctx.work() as (s, me):
        rb = runbooks.require_runbook(s, slug)
        if form.get("delete") == "1":
            runbooks.delete_runbook(s, actor=me, now=ctx.now, runbook=rb)
            return redirect(BASE, f"Runbook {slug} deleted.")
        if form.get("preview") == "1":
            return _form_page(request, ctx, s, v={**v, "slug": rb.slug}, rb=rb)
    try:
        with ctx.work() as (s, me):
            rb = runbooks.require_runbook(s, slug)
            runbooks.update_runbook(s, actor=me, now=ctx.now, runbook=rb, changes={
                "title": field(form, "title", max_len=200), "team": v["team"] or None, "body_md": v["body_md"],
                "services": v["services"], "matchers": _matcher_lines(v["matchers"])})
    except (InvalidInput, Conflict, NotFound) as exc:
        return _refused(request, ctx, exc, {**v, "slug": slug}, slug)
    return redirect(f"{BASE}/{slug}", "Runbook saved.")


@router.post("/incidents/{ref}/runbooks/{slug}/steps/{number}")
def mark_step(ref: str, slug: str, number: str, ctx: CtxDep, form: CsrfForm) -> Response:
    """`state` is done, skipped or undone; `note` is optional."""
    ctx.principal.require(OrgRole.responder, "marking runbook steps")
    state = field(form, "state", max_len=10)
    note = field(form, "note", required=False, max_len=2000)
    if not (number.isascii() and number.isdigit() and len(number) <= 5) or not 1 <= int(number) <= 10_000:
        raise NotFound(f"no step {number[:20]!r}")
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref, for_update=True)
        rb = runbooks.attached(s, incident, slug)
        runbooks.mark_step(s, incident=incident, runbook=rb, number=int(number), state=state, actor=me,
                           now=ctx.now, note=note)
        room, anchor, title = incident_ref(incident), rb.slug, rb.title
    words = {"done": "done", "skipped": "skipped", "undone": "marked not done"}[state]
    return redirect(f"/incidents/{room}#runbook-{anchor}", f"Step {number} of {title} {words}.")


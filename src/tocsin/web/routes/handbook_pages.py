"""Console: role handbooks (/handbooks/{role} to read; /configure/handbooks for admins to edit, with
a preview, or reset to the shipped one) and the IC bench (/configure/ic-bench: who is trained as
Incident Commander and the exercises they passed; admins mark people trained)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.handbooks import bench
from tocsin.handbooks import service as handbooks
from tocsin.incidents.types import Role
from tocsin.principal import OrgRole
from tocsin.users.service import require_user
from tocsin.web.auth import CsrfForm, CtxDep
from tocsin.web.render import render
from tocsin.web.routes.common import field, redirect

router = APIRouter(include_in_schema=False)


@router.get("/handbooks/{role}")
def read_page(request: Request, role: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        book = handbooks.get(s, handbooks.role_of(role))
    return render(request, ctx, "handbook.html", book=book, html=handbooks.render(book.body_md, below=1),
                  can_edit=ctx.principal.is_admin)


@router.get("/configure/handbooks")
def list_page(request: Request, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        books = handbooks.list_all(s)
    return render(request, ctx, "handbooks.html", books=books, can_edit=ctx.principal.is_admin)


@router.get("/configure/handbooks/{role}")
def edit_page(request: Request, role: str, ctx: CtxDep) -> Response:
    ctx.principal.require(OrgRole.admin, "editing role handbooks")
    with ctx.work() as (s, _me):
        book = handbooks.get(s, handbooks.role_of(role))
    return render(request, ctx, "handbook_edit.html", book=book, body=book.body_md, preview=None)


@router.post("/configure/handbooks/{role}")
def save(request: Request, role: str, ctx: CtxDep, form: CsrfForm) -> Response:
    """`op`: preview (render what was typed, nothing saved), save, or reset (back to the shipped one)."""
    ctx.principal.require(OrgRole.admin, "editing role handbooks")
    which = handbooks.role_of(role)
    op = form.get("op", "save")
    if op == "reset":
        with ctx.work() as (s, me):
            handbooks.reset(s, role=which, actor=me, now=ctx.now)
        return redirect(f"/configure/handbooks/{which.value}", "Handbook reset to the shipped one.")
    body = field(form, "body_md", max_len=handbooks.MAX_BODY)
    if op == "preview":
        with ctx.work() as (s, _me):
            book = handbooks.get(s, which)
        return render(request, ctx, "handbook_edit.html", book=book, body=body,
                      preview=handbooks.render(body, below=2))  # under the preview's h2
    with ctx.work() as (s, me):
        handbooks.put(s, role=which, body_md=body, actor=me, now=ctx.now)
    return redirect(f"/handbooks/{which.value}", "Handbook saved.")


@router.get("/configure/ic-bench")
def bench_page(request: Request, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        rows = bench.bench(s, Role.incident_commander)
    return render(request, ctx, "ic_bench.html", rows=rows, can_edit=ctx.principal.is_admin,
                  ic_schedule=ctx.settings.ic_schedule)


@router.post("/configure/ic-bench")
def mark(ctx: CtxDep, form: CsrfForm) -> Response:
    """Mark a person (`user`: an email or id) trained as Incident Commander, or not (`trained=0`)."""
    ctx.principal.require(OrgRole.admin, "marking people trained")
    who = field(form, "user", max_len=320)
    trained = form.get("trained", "1") != "0"
    with ctx.work() as (s, me):
        user = require_user(s, who)
        bench.set_trained(s, user=user, role=Role.incident_commander, trained=trained, actor=me, now=ctx.now)
        name = user.name
    return redirect("/configure/ic-bench", f"{name} is {'' if trained else 'no longer '}marked trained as IC.")

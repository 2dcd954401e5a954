"""Console pages of the evidence locker: upload and register from the room's Evidence panel, an
item's page with its custody ledger, downloads, and the custody report.

Need-to-know as everywhere: an incident the viewer may not see is a 404 on every route here. The
upload is a multipart form read as it streams in (`web/multipart.py`): the file goes into the
evidence store chunk by chunk, hashed on the way, never whole in memory. It bypasses the body-size
limit of other forms (`app.py`: `UPLOAD_PATH`).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tocsin.errors import Conflict, InvalidInput
from tocsin.evidence import report
from tocsin.evidence import service as evidence
from tocsin.evidence.store import Intaking, Stored, TooLarge
from tocsin.evidence.types import MANUAL_ACTIONS, CustodyAction
from tocsin.http.evidence_download import file_response
from tocsin.incidents.access import require_incident
from tocsin.incidents.service import ref as incident_ref
from tocsin.web import multipart
from tocsin.web.auth import CSRF_FIELD, CSRF_HEADER, CsrfFailed, CsrfForm, WebCtx, check_csrf, web_ctx
from tocsin.web.render import render
from tocsin.web.routes.common import redirect

router = APIRouter(include_in_schema=False)
CtxDep = Annotated[WebCtx, Depends(web_ctx)]
UPLOAD_PATH = r"^/incidents/[^/]+/evidence/files$"  # streamed: the body limit middleware lets it through
_FIELDS = ("description", "collected_where", "collected_by", "reason")


def _may_upload(ctx: WebCtx, ref: str) -> str:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref)
        evidence.require_manager(s, me, incident)
        return incident_ref(incident)


def _add_file(ctx: WebCtx, ref: str, stored: Stored, name: str, media_type: str, fields: dict[str, str]) -> str:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref)
        item = evidence.add_file(s, incident=incident, actor=me, now=ctx.now, stored=stored, name=name,
                                 description=fields["description"], media_type=media_type,
                                 handling=evidence.Handling(location=fields["collected_where"],
                                                            reason=fields["reason"], who=fields["collected_by"]))
        return f"{evidence.label(item)} stored: SHA-256 {item.sha256}"


def _token_ok(sent: str, ctx: WebCtx) -> bool:
    return hmac.compare_digest(sent.encode("utf-8", "replace"), ctx.csrf_token.encode())


class _IntakeSink:
    """The evidence store's intake, written from the event loop through the threadpool."""

    def __init__(self, intake: Intaking) -> None:
        self.intake = intake

    async def write(self, chunk: bytes) -> None:
        await run_in_threadpool(self.intake.write, chunk)


@router.post("/incidents/{ref}/evidence/files")
async def upload(request: Request, ref: str, ctx: CtxDep) -> Response:
    """Upload a file from the room's Evidence panel: a multipart form whose csrf_token comes before the
    file. The token and the uploader's right to manage evidence are checked when the file part starts,
    so a forged form, an outsider (404) or a non-manager (403) writes nothing."""
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        await check_csrf(request, ctx)  # a forged or token-less post is refused as such (403)
        raise InvalidInput("send the file as a multipart form (choose a file to upload)", details={"field": "file"})
    header = request.headers.get(CSRF_HEADER)
    if header is not None and not _token_ok(header, ctx):
        raise CsrfFailed()
    settings = request.app.state.settings
    sink: _IntakeSink | None = None
    key = ""

    async def open_file(so_far: multipart.Received) -> _IntakeSink:
        nonlocal sink, key
        if header is None and not _token_ok(so_far.fields.get(CSRF_FIELD, ""), ctx):
            raise CsrfFailed()
        key = await run_in_threadpool(_may_upload, ctx, ref)  # 404 outside the circle, 403 for non-managers
        if not so_far.filename:
            raise InvalidInput("choose a file to upload", details={"field": "file"})
        evidence.file_name(so_far.filename)  # refused before the bytes are stored
        intake = await run_in_threadpool(evidence.store_for(settings).intake, limit=settings.evidence_max_bytes)
        sink = _IntakeSink(intake)
        return sink

    try:
        got = await multipart.read_form(request.stream(), ctype, open_file=open_file)
        if sink is None:
            if header is None and not _token_ok(got.fields.get(CSRF_FIELD, ""), ctx):
                raise CsrfFailed()
            raise InvalidInput("choose a file to upload", details={"field": "file"})
        stored = await run_in_threadpool(sink.intake.commit)
    except TooLarge as exc:
        raise InvalidInput(str(exc), details={"field": "file"}) from None
    except BaseException:
        if sink is not None:
            sink.intake.abort()
        raise
    fields = {name: got.fields.get(name, "") for name in _FIELDS}
    flash = await run_in_threadpool(_add_file, ctx, ref, stored, got.filename or "", got.content_type[:200], fields)
    return redirect(f"/incidents/{key}#evidence-section", flash)


@router.post("/incidents/{ref}/evidence/external")
def register_external(ref: str, ctx: CtxDep, form: CsrfForm) -> Response:
    size_text = form.get("size", "").strip().replace(",", "").replace("_", "")
    if size_text and not (size_text.isascii() and size_text.isdigit()):
        raise InvalidInput("size is a whole number of bytes", details={"field": "size"})
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref)
        item = evidence.register_external(
            s, incident=incident, actor=me, now=ctx.now, name=form.get("name", ""), location=form.get("location", ""),
            sha256=form.get("sha256"), sha512=form.get("sha512"), size=int(size_text[:25]) if size_text else None,
            description=form.get("description", ""),
            handling=evidence.Handling(location=form.get("collected_where", ""), reason=form.get("reason", ""),
                                       who=form.get("collected_by", "")))
        key = incident_ref(incident)
        flash = f"{evidence.label(item)} registered"
    return redirect(f"/incidents/{key}#evidence-section", flash)


def _report_response(body: str, name: str) -> Response:
    return Response(body, media_type="text/html; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="{name}"', "Content-Security-Policy": report.CSP,
                             "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
                             "Cache-Control": "no-store"})


@router.get("/incidents/{ref}/evidence/report")
def custody_report(ref: str, ctx: CtxDep) -> Response:
    """The printable custody report (print it to PDF from the browser)."""
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref)
        body = report.custody_report(s, incident=incident, now=ctx.now, generated_by=ctx.user.name)
        name = report.filename(incident)
    return _report_response(body, name)


def _item_page(request: Request, ctx: WebCtx, ref: str, evidence_id: str, *, error: str | None = None,
               form: dict[str, str] | None = None, status_code: int = 200) -> Response:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref)
        item = evidence.require_item(s, incident, evidence_id)
        key = incident_ref(incident)
        values: dict[str, Any] = {
            "ref": key, "ledger": evidence.ledgers(s, [item])[item.id],
            "can_manage": evidence.may_manage(s, me, incident),
            "item": {"id": item.id, "label": evidence.label(item), "name": item.name, "kind": item.kind,
                     "description": item.description, "location": item.location, "size": item.size,
                     "sha256": item.sha256, "sha512": item.sha512,
                     "download": f"/incidents/{key}/evidence/{item.id}/download" if item.kind == "file" else None},
        }
    return render(request, ctx, "evidence_item.html", status_code=status_code, error=error, form=form or {},
                  actions=[a.value for a in MANUAL_ACTIONS], **values)


@router.get("/incidents/{ref}/evidence/{evidence_id}")
def item_page(request: Request, ref: str, evidence_id: str, ctx: CtxDep) -> Response:
    return _item_page(request, ctx, ref, evidence_id)


@router.post("/incidents/{ref}/evidence/{evidence_id}/custody")
def add_custody(request: Request, ref: str, evidence_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    try:
        try:
            action = CustodyAction(form.get("action", ""))
        except ValueError:
            raise InvalidInput("choose an action from the list", details={"field": "action"}) from None
        with ctx.work() as (s, me):
            incident = require_incident(s, me, ref)
            item = evidence.require_item(s, incident, evidence_id)
            entry = evidence.add_custody(s, incident=incident, item=item, actor=me, now=ctx.now, action=action,
                                         handling=evidence.Handling(location=form.get("location", ""),
                                                                    reason=form.get("reason", ""),
                                                                    who=form.get("who", "")))
            key, where = incident_ref(incident), f"{item.id}"
            flash = f"{evidence.label(item)}: {entry.action} recorded"
    except InvalidInput as exc:
        return _item_page(request, ctx, ref, evidence_id, error=exc.message, form=form, status_code=422)
    return redirect(f"/incidents/{key}/evidence/{where}", flash)


@router.get("/incidents/{ref}/evidence/{evidence_id}/download")
def download_item(request: Request, ref: str, evidence_id: str, ctx: CtxDep) -> Response:
    """The file as an attachment (never rendered); the download is written to the ledger first."""
    store = evidence.store_for(request.app.state.settings)
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref)
        item = evidence.require_item(s, incident, evidence_id)
        evidence.record_download(s, incident=incident, item=item, actor=me, now=ctx.now, via="console")
        assert item.sha256 is not None  # record_download refuses an external artefact
        if not store.exists(item.sha256):
            raise Conflict(f"{evidence.label(item)}'s stored file is missing: run `tocsin evidence verify`")
        name, sha = item.name, item.sha256
    return file_response(store, sha, name)

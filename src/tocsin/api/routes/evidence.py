"""/api/v1/incidents/{key}/evidence: the evidence locker and chain of custody of an incident.

Upload a file by sending its bytes as the request body (`curl -T disk.img` or `--data-binary @f`):
the body is streamed to disk in chunks and hashed on the way (the body-size limit of other routes
does not apply here; `TOCSIN_EVIDENCE_MAX_BYTES` does). Need-to-know: an incident the caller may
not see answers 404 on every route, before any byte is stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.errors import Conflict
from tocsin.evidence import report
from tocsin.evidence import service as svc
from tocsin.evidence.models import CustodyEntry, EvidenceItem
from tocsin.evidence.schemas import CustodyIn, CustodyOut, ExternalIn, ItemOut
from tocsin.evidence.store import Stored, TooLarge
from tocsin.http.evidence_download import file_response
from tocsin.incidents.access import require_incident
from tocsin.schemas import Page

router = APIRouter(prefix="/api/v1/incidents", tags=["evidence"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]
UPLOAD_PATH = r"^/api/v1/incidents/[^/]+/evidence/files$"  # streamed: the body limit middleware lets it through


def item_out(item: EvidenceItem, ledger: list[CustodyEntry]) -> dict[str, Any]:
    return {"id": item.id, "label": svc.label(item), "kind": item.kind, "name": item.name,
            "description": item.description, "media_type": item.media_type, "size": item.size,
            "sha256": item.sha256, "sha512": item.sha512, "location": item.location, "created_at": item.created_at,
            "custody": [CustodyOut.model_validate(e).model_dump() for e in ledger]}


@router.get("/{key}/evidence", response_model=Page[ItemOut], summary="The incident's evidence items and their ledgers")
def list_evidence(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        items = svc.list_items(s, require_incident(s, me, key))
        ledgers = svc.ledgers(s, items)
        return {"items": [item_out(i, ledgers[i.id]) for i in items], "next_cursor": None}


def _may_upload(ctx: Ctx, key: str, name: str) -> None:
    with ctx.work() as (s, me):
        svc.require_manager(s, me, require_incident(s, me, key))
    svc.file_name(name)  # a name that would be refused is refused before the bytes are stored


def _add_file(ctx: Ctx, key: str, stored: Stored, fields: dict[str, str]) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        item = svc.add_file(s, incident=incident, actor=me, now=ctx.now, stored=stored, name=fields["name"],
                            description=fields["description"], media_type=fields["media_type"],
                            handling=svc.Handling(location=fields["where"], reason=fields["reason"],
                                                  who=fields["who"]))
        return item_out(item, svc.ledgers(s, [item])[item.id])


@router.post("/{key}/evidence/files", status_code=201, response_model=ItemOut,
             summary="Upload a file as evidence: the request body is the file (streamed, hashed at intake)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
async def upload(key: str, request: Request, ctx: CtxDep,
                 name: Annotated[str, Query(min_length=1, max_length=300, description="The file's name")],
                 description: Annotated[str, Query(max_length=5000)] = "",
                 collected_by: Annotated[str, Query(max_length=300, description="Default: you")] = "",
                 collected_where: Annotated[str, Query(max_length=500, description="Host or site")] = "",
                 reason: Annotated[str, Query(max_length=5000, description="Why it was collected")] = "") -> Any:
    await run_in_threadpool(_may_upload, ctx, key, name)  # 401/404/403/422 before a byte is written
    settings = request.app.state.settings
    intake = await run_in_threadpool(svc.store_for(settings).intake, limit=settings.evidence_max_bytes)
    try:
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(intake.write, chunk)
        stored = await run_in_threadpool(intake.commit)
    except TooLarge as exc:
        return JSONResponse({"error": {"code": "payload_too_large", "message": str(exc), "details": {}}},
                            status_code=413)
    except BaseException:  # the client went away (or the task was cancelled): nothing is kept
        intake.abort()
        raise
    fields = {"name": name, "description": description, "media_type": request.headers.get("content-type", "")[:200],
              "who": collected_by, "where": collected_where, "reason": reason}
    return await run_in_threadpool(_add_file, ctx, key, stored, fields)


@router.post("/{key}/evidence/external", status_code=201, response_model=ItemOut,
             summary="Register an external artefact (kept elsewhere) with the hash(es) and size its collector gives")
def register_external(key: str, body: ExternalIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        item = svc.register_external(
            s, incident=incident, actor=me, now=ctx.now, name=body.name, location=body.location, sha256=body.sha256,
            sha512=body.sha512, size=body.size, description=body.description,
            handling=svc.Handling(location=body.collected_where, reason=body.reason, who=body.collected_by,
                                  occurred_at=body.collected_at))
        return item_out(item, svc.ledgers(s, [item])[item.id])


@router.get("/{key}/evidence/report", response_class=Response,
            summary="The custody report: every item, its hashes and full ledger, as printable HTML",
            responses={200: {"content": {"text/html": {}}}})
def custody_report(key: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        body = report.custody_report(s, incident=incident, now=ctx.now, generated_by=me.label)
        name = report.filename(incident)
    return Response(body, media_type="text/html; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="{name}"', "Content-Security-Policy": report.CSP,
                             "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                             "Cache-Control": "no-store"})


@router.get("/{key}/evidence/{evidence_id}", response_model=ItemOut, summary="One item (id or E-n) with its ledger")
def get_item(key: str, evidence_id: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        item = svc.require_item(s, require_incident(s, me, key), evidence_id)
        return item_out(item, svc.ledgers(s, [item])[item.id])


@router.get("/{key}/evidence/{evidence_id}/custody", response_model=Page[CustodyOut], summary="An item's custody ledger")
def get_custody(key: str, evidence_id: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        item = svc.require_item(s, require_incident(s, me, key), evidence_id)
        return {"items": svc.ledgers(s, [item])[item.id], "next_cursor": None}


@router.post("/{key}/evidence/{evidence_id}/custody", status_code=201, response_model=CustodyOut,
             summary="Append a custody entry (transferred, analysed, copied, returned, accessed)")
def add_custody(key: str, evidence_id: str, body: CustodyIn, ctx: CtxDep) -> CustodyEntry:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        item = svc.require_item(s, incident, evidence_id)
        return svc.add_custody(s, incident=incident, item=item, actor=me, now=ctx.now, action=body.action,
                               handling=svc.Handling(location=body.location, reason=body.reason, who=body.who,
                                                     occurred_at=body.occurred_at))


@router.get("/{key}/evidence/{evidence_id}/content", response_class=Response,
            summary="Download an uploaded file (as an attachment); every download is logged as `accessed`",
            responses={200: {"content": {"application/octet-stream": {}}}})
def download_item(key: str, evidence_id: str, request: Request, ctx: CtxDep) -> Response:
    store = svc.store_for(request.app.state.settings)
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        item = svc.require_item(s, incident, evidence_id)
        svc.record_download(s, incident=incident, item=item, actor=me, now=ctx.now, via="API")
        assert item.sha256 is not None  # record_download refuses an external artefact
        if not store.exists(item.sha256):
            raise Conflict(f"{svc.label(item)}'s stored file is missing: run `tocsin evidence verify`",
                           details={"item": svc.label(item)})
        name, sha = item.name, item.sha256
    return file_response(store, sha, name)

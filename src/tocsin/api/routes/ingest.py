"""Ingestion endpoints: PagerDuty Events API v2, Opsgenie Alert API v2, Alertmanager, Grafana, generic JSON,
heartbeats.

These are the hot path: no pydantic body models and no per-request transaction. The raw body
goes to the group-commit writer (`inbound/writer.py`), which answers after its commit. In the
running app, `api/fastpath.py` answers these paths before FastAPI routing; the routes here
document them in the OpenAPI schema and answer the same way.
Each endpoint is authenticated by an integration key (in the URL, PagerDuty's `routing_key`, or Opsgenie's
`Authorization: GenieKey` header).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from tocsin.api.fastpath import opsgenie_job  # the fast path builds the same job
from tocsin.ingest.types import Job

router = APIRouter(tags=["ingest"])

_JSON_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "additionalProperties": True}}}}}
_PD = {"description": "PagerDuty shape: `{\"status\", \"message\", \"dedup_key\"}` or "
                      "`{\"status\", \"message\", \"errors\"}`",
       "content": {"application/json": {"schema": {"type": "object"}}}}
_HOOK = {"description": "`{\"status\": \"accepted\", \"events\", \"results\"}` or the error shape",
         "content": {"application/json": {"schema": {"type": "object"}}}}


async def _submit(request: Request, job: Job) -> Response:
    reply = await request.app.state.ingest.reply(job)
    return Response(orjson.dumps(reply.body), status_code=reply.status, media_type="application/json")


@router.post("/v2/enqueue", summary="PagerDuty Events API v2: trigger, acknowledge, resolve", status_code=202,
             openapi_extra=_JSON_BODY, responses={"2XX": _PD, "4XX": _PD, "5XX": _PD})
async def enqueue(request: Request) -> Response:
    return await _submit(request, Job("events_v2", await request.body()))


@router.post("/v2/change/enqueue", summary="PagerDuty change events (deploys)", status_code=202,
             openapi_extra=_JSON_BODY, responses={"2XX": _PD, "4XX": _PD, "5XX": _PD})
async def change_enqueue(request: Request) -> Response:
    return await _submit(request, Job("change", await request.body()))


def _headers(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


@router.post("/integrations/alertmanager/{key}", summary="Prometheus Alertmanager webhook (version 4)",
             status_code=202, openapi_extra=_JSON_BODY, responses={"2XX": _HOOK, "4XX": _HOOK, "5XX": _HOOK})
async def alertmanager(key: str, request: Request) -> Response:
    return await _submit(request, Job("alertmanager", await request.body(), key=key))


@router.post("/integrations/grafana/{key}", summary="Grafana unified alerting webhook (optional HMAC)",
             status_code=202, openapi_extra=_JSON_BODY, responses={"2XX": _HOOK, "4XX": _HOOK, "5XX": _HOOK})
async def grafana(key: str, request: Request) -> Response:
    return await _submit(request, Job("grafana", await request.body(), key=key, headers=_headers(request)))


@router.post("/integrations/generic/{key}", summary="Any JSON, mapped by the integration's template",
             status_code=202, openapi_extra=_JSON_BODY, responses={"2XX": _HOOK, "4XX": _HOOK, "5XX": _HOOK})
async def generic(key: str, request: Request) -> Response:
    return await _submit(request, Job("generic", await request.body(), key=key))


@router.get("/heartbeats/{key}", summary="Heartbeat ping (GET, for curl and cron)",
            responses={"2XX": _HOOK, "4XX": _HOOK, "5XX": _HOOK})
async def heartbeat_get(key: str, request: Request) -> Response:
    return await _submit(request, Job("heartbeat", b"", key=key))


@router.post("/heartbeats/{key}", summary="Heartbeat ping (POST; any body is ignored)",
             responses={"2XX": _HOOK, "4XX": _HOOK, "5XX": _HOOK})
async def heartbeat_post(key: str, request: Request) -> Response:
    return await _submit(request, Job("heartbeat", b"", key=key))


# -- Opsgenie Alert API v2 drop-in: the integration key is the GenieKey (`Authorization: GenieKey <key>`) --
_OG = {"description": "Opsgenie shape: `{\"result\", \"took\", \"requestId\"}` or `{\"message\", \"took\", \"requestId\"}`",
       "content": {"application/json": {"schema": {"type": "object"}}}}
_OG_RESPONSES: dict[int | str, dict[str, Any]] = {"2XX": _OG, "4XX": _OG, "5XX": _OG}


async def _opsgenie(request: Request, op: str, target: str) -> Response:
    body = await request.body() if op not in ("ping", "status") else b""
    return await _submit(request, opsgenie_job(request.scope, op, target, body))


@router.post("/v2/alerts", summary="Opsgenie Alert API: create an alert (alias = dedup key)", status_code=202,
             openapi_extra=_JSON_BODY, responses=_OG_RESPONSES)
async def opsgenie_create(request: Request) -> Response:
    return await _opsgenie(request, "create", "")


@router.post("/v2/alerts/{identifier}/acknowledge", summary="Opsgenie Alert API: acknowledge an alert by id or alias",
             status_code=202, responses=_OG_RESPONSES)
async def opsgenie_acknowledge(identifier: str, request: Request) -> Response:
    return await _opsgenie(request, "acknowledge", identifier)


@router.post("/v2/alerts/{identifier}/close", summary="Opsgenie Alert API: close an alert by id or alias",
             status_code=202, responses=_OG_RESPONSES)
async def opsgenie_close(identifier: str, request: Request) -> Response:
    return await _opsgenie(request, "close", identifier)


@router.post("/v2/alerts/{identifier}/notes", summary="Opsgenie Alert API: add a note to an alert",
             status_code=202, openapi_extra=_JSON_BODY, responses=_OG_RESPONSES)
async def opsgenie_note(identifier: str, request: Request) -> Response:
    return await _opsgenie(request, "notes", identifier)


@router.get("/v2/alerts/requests/{request_id}", summary="Opsgenie Alert API: what an accepted request became",
            responses=_OG_RESPONSES)
async def opsgenie_request_status(request_id: str, request: Request) -> Response:
    return await _opsgenie(request, "status", request_id)


async def opsgenie_ping(name: str, request: Request) -> Response:
    return await _opsgenie(request, "ping", name)


for _method in ("GET", "POST", "PUT", "PATCH"):  # Opsgenie takes a ping by any of these; one operation id each
    router.add_api_route("/v2/heartbeats/{name}/ping", opsgenie_ping, methods=[_method],
                         operation_id=f"opsgenie_ping_{_method.lower()}", responses=_OG_RESPONSES,
                         summary="Opsgenie Heartbeat API: ping the heartbeat of this name on the key's service")

"""Console pages for integrations (a service's inbound keys), through the integrations service as
the API's routes do: list them, create one (admin) and see its key once with copy-ready snippets
for each sender, look at one (never its key again), rotate its key (the new key shown once), delete.

A key is shown in the answer to the POST that made it, not behind a redirect: there is nowhere
to keep it for a later GET (tocsin stores only its hash), and the page is sent `no-store`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.errors import InvalidInput
from tocsin.inbound.presets import PRESETS
from tocsin.ingest.formats import signing_secret
from tocsin.integrations import service as integrations
from tocsin.integrations.models import Integration
from tocsin.integrations.snippets import DEFAULT_GENERIC_MAPPING, ingest_url, mail_address, snippets
from tocsin.principal import OrgRole
from tocsin.services.models import Service
from tocsin.services.service import list_services, require_service
from tocsin.web.auth import CsrfForm, CtxDep, WebCtx
from tocsin.web.render import render
from tocsin.web.routes.common import field, parse_uuid, redirect

router = APIRouter(include_in_schema=False)

KINDS = [("alertmanager", "Prometheus Alertmanager (webhook)"), ("grafana", "Grafana alerting (webhook contact point)"),
         ("events_v2", "PagerDuty Events API v2 (pdpyras, Alertmanager or Grafana PagerDuty senders)"),
         ("opsgenie", "Opsgenie Alert API drop-in (Alertmanager opsgenie_configs, Grafana Opsgenie, opsgenie-sdk)"),
         ("generic", "Generic JSON webhook (a preset for your tool, or your own mapping)"),
         ("email", "Email (mail to an address; rules read the subject and body)")]
KIND_LABELS = {"alertmanager": "Alertmanager", "grafana": "Grafana", "events_v2": "Events API v2",
               "generic": "Generic webhook", "email": "Email",
               "opsgenie": "Opsgenie Alert API"}
PRESET_CHOICES = [(p.name, p.title) for p in sorted(PRESETS.values(), key=lambda p: p.title.lower())]


def _services(s: Any) -> dict[Any, Service]:
    return {svc.id: svc for svc in list_services(s, limit=500)}


@router.get("/integrations")
def integrations_page(request: Request, ctx: CtxDep) -> Response:
    with ctx.work() as (s, _me):
        rows = integrations.list_integrations(s)
        services = _services(s)
    return render(request, ctx, "integrations.html", integrations=rows, services=services, kinds=KIND_LABELS)


@router.get("/integrations/new")
def new_integration(request: Request, ctx: CtxDep) -> Response:
    ctx.principal.require(OrgRole.admin, "creating integrations")
    with ctx.work() as (s, _me):
        service_keys = sorted(svc.slug for svc in list_services(s, limit=500))
    return render(request, ctx, "integration_new.html", kinds=KINDS, service_keys=service_keys,
                  chosen=request.query_params.get("service", "")[:64], presets=PRESET_CHOICES,
                  default_mapping=json.dumps(DEFAULT_GENERIC_MAPPING, indent=2))


def _json_field(form: dict[str, str], name: str) -> Any:
    text = form.get(name, "").strip()
    if len(text) > 20_000:
        raise InvalidInput(f"{name}: longer than 20000 characters", details={"field": name})
    try:
        return json.loads(text) if text else {}
    except ValueError as exc:
        raise InvalidInput(f"{name}: not valid JSON ({exc})", details={"field": name}) from None


def _mapping(form: dict[str, str]) -> dict[str, Any]:
    preset = form.get("preset", "").strip()
    if preset:  # a shipped mapping; the textarea's custom mapping is not used
        return {"preset": preset[:64]}
    return {"mapping": _json_field(form, "mapping")}


def _where(ctx: WebCtx, row: Integration, key: str) -> str:
    """Where senders deliver: the URL, or for email integrations the address."""
    if row.type == "email":
        return mail_address(key, ctx.settings.mail_domain)
    return ingest_url(ctx.settings.resolved_public_url(), row.type, key)


def _preset_of(row: Integration) -> str | None:
    mapping = row.config.get("mapping") if row.type == "generic" else None
    return mapping.get("preset") if isinstance(mapping, dict) else None


def _key_page(request: Request, ctx: WebCtx, row: Integration, service: Service, key: str, *, rotated: bool
              ) -> Response:
    secret = None
    if row.type == "grafana" and row.config.get("hmac"):
        secret = signing_secret(ctx.settings.resolved_secret_key(), row.id)
    base = ctx.settings.resolved_public_url()
    return render(request, ctx, "integration_key.html", integration=row, service=service, key=key, rotated=rotated,
                  kinds=KIND_LABELS, url=_where(ctx, row, key), signing_secret=secret,
                  snippets=snippets(row.type, base_url=base, key=key, name=row.name, signing_secret=secret,
                                    timestamp_header=row.config.get("timestamp_header"), preset=_preset_of(row),
                                    mail_domain=ctx.settings.mail_domain))


@router.post("/integrations")
def create_integration(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    kind_text = field(form, "type", max_len=32)
    try:
        kind = integrations.IntegrationType(kind_text)
    except ValueError:
        raise InvalidInput(f"type: {kind_text[:40]!r} is not one of {', '.join(k for k, _ in KINDS)}",
                           details={"field": "type"}) from None
    config: dict[str, Any] = {}
    if kind is integrations.IntegrationType.generic:
        config = _mapping(form)
    elif kind is integrations.IntegrationType.email:
        config = _json_field(form, "rules")
        if not isinstance(config, dict):
            raise InvalidInput("rules: must be a JSON object", details={"field": "rules"})
    elif kind is integrations.IntegrationType.grafana and form.get("hmac") == "on":
        config = {"hmac": True}
    with ctx.work() as (s, me):
        row, key = integrations.create_integration(s, actor=me, now=ctx.now, service=field(form, "service", max_len=64),
                                                   kind=kind, name=field(form, "name", max_len=200), config=config)
        return _key_page(request, ctx, row, require_service(s, row.service_id), key, rotated=False)


@router.get("/integrations/{integration_id}")
def integration_page(request: Request, integration_id: str, ctx: CtxDep) -> Response:
    iid = parse_uuid(integration_id, "integration")
    with ctx.work() as (s, _me):
        row = integrations.require_integration(s, iid)
        service = require_service(s, row.service_id)
    preset = PRESETS.get(_preset_of(row) or "")
    return render(request, ctx, "integration.html", integration=row, service=service, kinds=KIND_LABELS,
                  url=_where(ctx, row, row.key_hint + "…"), preset=preset,
                  mapping=json.dumps(row.config.get("mapping"), indent=2) if row.type == "generic" else
                  json.dumps(row.config, indent=2) if row.type == "email" else None)


def _confirmed(form: dict[str, str], why: str) -> None:
    if form.get("confirm") != "yes":
        raise InvalidInput(f"tick the box to confirm: {why}", details={"field": "confirm"})


@router.post("/integrations/{integration_id}/rotate-key")
def rotate_key(request: Request, integration_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    iid = parse_uuid(integration_id, "integration")
    ctx.principal.require(OrgRole.admin, "rotating integration keys")
    _confirmed(form, "senders using the old key will be refused from now on")
    with ctx.work() as (s, me):
        row, key = integrations.rotate_key(s, actor=me, now=ctx.now, integration_id=iid)
        return _key_page(request, ctx, row, require_service(s, row.service_id), key, rotated=True)


@router.post("/integrations/{integration_id}/delete")
def delete_integration(request: Request, integration_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    iid = parse_uuid(integration_id, "integration")
    ctx.principal.require(OrgRole.admin, "deleting integrations")
    _confirmed(form, "senders using this key will be refused from now on")
    with ctx.work() as (s, me):
        name = integrations.require_integration(s, iid).name
        integrations.delete_integration(s, actor=me, now=ctx.now, integration_id=iid)
    return redirect("/integrations", f"Integration {name} deleted; its key no longer works")

"""Integrations CRUD: a service's inbound keys, one per tool, shown once and stored hashed."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.db.lookup import require_row
from tocsin.errors import InvalidInput
from tocsin.inbound import grafana, mail
from tocsin.inbound.generic import validate_mapping
from tocsin.integrations.models import Integration
from tocsin.keys import hint, key_hash, new_key
from tocsin.principal import OrgRole, Principal
from tocsin.services.service import require_service


class IntegrationType(StrEnum):
    events_v2 = "events_v2"
    alertmanager = "alertmanager"
    grafana = "grafana"
    generic = "generic"
    email = "email"
    opsgenie = "opsgenie"


# Where each type of integration is sent to; `<key>` stands for its key.
ENDPOINTS = {"events_v2": "/v2/enqueue (routing_key = <key>)", "alertmanager": "/integrations/alertmanager/<key>",
             "grafana": "/integrations/grafana/<key>", "generic": "/integrations/generic/<key>",
             "email": "<key>@<TOCSIN_MAIL_DOMAIN>",
             "opsgenie": "/v2/alerts (Authorization: GenieKey <key>)"}


def check_config(kind: IntegrationType, config: dict[str, Any]) -> dict[str, Any]:
    """Return the validated config for `kind`; raise InvalidInput."""
    if kind is IntegrationType.generic:
        unknown = set(config) - {"mapping", "preset"}
        if unknown:
            raise InvalidInput(f"unknown generic config fields: {', '.join(sorted(unknown))}")
        mapping = config.get("mapping") or {}
        if config.get("preset") is not None:  # {"preset": "datadog"}: the preset, the mapping's fields over it
            if not isinstance(mapping, dict):
                raise InvalidInput("mapping: mapping must be an object", details={"field": "config.mapping"})
            mapping = {**mapping, "preset": config["preset"]}
        try:
            validate_mapping(mapping)
        except ValueError as exc:
            raise InvalidInput(f"mapping: {exc}", details={"field": "config.mapping"}) from None
        return {"mapping": mapping}
    if kind is IntegrationType.email:
        try:
            mail.validate_rules(config)
        except ValueError as exc:
            raise InvalidInput(f"email rules: {exc}", details={"field": "config"}) from None
        return {k: v for k, v in config.items() if v not in (None, "", [])}
    if kind is IntegrationType.grafana:
        unknown = set(config) - {"hmac", "timestamp_header"}
        if unknown:
            raise InvalidInput(f"unknown grafana config fields: {', '.join(sorted(unknown))}")
        if not isinstance(config.get("hmac", False), bool):
            raise InvalidInput("config.hmac must be true or false", details={"field": "config.hmac"})
        ts = config.get("timestamp_header")
        if ts is not None and (not isinstance(ts, str) or not ts.strip() or len(ts) > 100):
            raise InvalidInput("config.timestamp_header must be a header name", details={"field": "config.timestamp_header"})
        if config.get("hmac") and ts is None:
            # A signature without a timestamp could be replayed forever: signed requests must carry one.
            config = {**config, "timestamp_header": grafana.DEFAULT_TIMESTAMP_HEADER}
        return {k: v for k, v in config.items() if v is not None}
    if config:
        raise InvalidInput(f"{kind.value} integrations take no config", details={"field": "config"})
    return {}


def create_integration(session: Session, *, actor: Principal, now: datetime, service: str, kind: IntegrationType,
                       name: str, config: dict[str, Any] | None = None) -> tuple[Integration, str]:
    """Create an integration; return it and its key (shown once)."""
    actor.require(OrgRole.admin, "creating integrations")
    svc = require_service(session, service)
    if not name.strip():
        raise InvalidInput("name must not be empty", details={"field": "name"})
    key = new_key()
    row = Integration(service_id=svc.id, type=kind.value, name=name.strip(), key_hash=key_hash(key),
                      key_hint=hint(key), config=check_config(kind, config or {}), created_by_id=actor.user_id,
                      created_at=now)
    session.add(row)
    session.flush()
    record(session, actor=actor, action="integration.create", target_type="integration", target_id=row.id, now=now,
           details={"service": svc.slug, "type": kind.value, "name": row.name})
    return row, key


def list_integrations(session: Session, *, service_id: uuid.UUID | None = None) -> list[Integration]:
    stmt = sa.select(Integration).order_by(Integration.created_at, Integration.id)
    if service_id:
        stmt = stmt.where(Integration.service_id == service_id)
    return list(session.execute(stmt).scalars())


def require_integration(session: Session, integration_id: uuid.UUID) -> Integration:
    return require_row(session, Integration, integration_id, "integration")


def delete_integration(session: Session, *, actor: Principal, now: datetime, integration_id: uuid.UUID) -> None:
    """Delete an integration: its key stops working at once; its alerts stay."""
    actor.require(OrgRole.admin, "deleting integrations")
    row = require_integration(session, integration_id)
    record(session, actor=actor, action="integration.delete", target_type="integration", target_id=row.id, now=now,
           details={"type": row.type, "name": row.name})
    session.delete(row)
    session.flush()


def rotate_key(session: Session, *, actor: Principal, now: datetime, integration_id: uuid.UUID) -> tuple[Integration, str]:
    actor.require(OrgRole.admin, "rotating integration keys")
    row = require_integration(session, integration_id)
    key = new_key()
    row.key_hash, row.key_hint = key_hash(key), hint(key)
    record(session, actor=actor, action="integration.rotate_key", target_type="integration", target_id=row.id, now=now)
    return row, key

"""The services catalog."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.db.lookup import get_by_key, require_by_key
from tocsin.errors import Conflict, InvalidInput
from tocsin.principal import OrgRole, Principal
from tocsin.services.alert_settings import parse_settings
from tocsin.services.models import Service, ServiceDependency
from tocsin.slugs import check_description, check_name, check_slug, slugify
from tocsin.teams.service import require_team


def get_service(session: Session, key: str | uuid.UUID) -> Service | None:
    return get_by_key(session, Service, key)


def require_service(session: Session, key: str | uuid.UUID) -> Service:
    return require_by_key(session, Service, key, "service")


def list_services(session: Session, *, after: uuid.UUID | None = None, limit: int = 50,
                  team_id: uuid.UUID | None = None) -> list[Service]:
    stmt = sa.select(Service).order_by(Service.id).limit(limit)
    if after:
        stmt = stmt.where(Service.id > after)
    if team_id:
        stmt = stmt.where(Service.owner_team_id == team_id)
    return list(session.execute(stmt).scalars())


def dependency_slugs(session: Session, service_id: uuid.UUID) -> list[str]:
    return list(session.execute(
        sa.select(Service.slug).join(ServiceDependency, ServiceDependency.depends_on_id == Service.id)
        .where(ServiceDependency.service_id == service_id).order_by(Service.slug)
    ).scalars())


def _check_tier(tier: int) -> int:
    if not 1 <= tier <= 4:
        raise InvalidInput("tier must be 1 (most critical) to 4", details={"field": "tier"})
    return tier


def _check_runbook_url(url: str | None) -> str | None:
    """An http(s) address with a host, or None ("" clears it too): the console, the API's clients and
    notifications turn it into a link, and a `javascript:` or `data:` one would run in the reader's page."""
    if not url or not url.strip():
        return None
    parts = urlsplit(url.strip())
    if len(url.strip()) > 2048:
        raise InvalidInput("runbook_url must have at most 2048 characters", details={"field": "runbook_url"})
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(ch in url for ch in "\r\n\t "):
        raise InvalidInput("runbook_url must be an http:// or https:// address", details={"field": "runbook_url"})
    return url.strip()


def _check_alert_settings(value: dict[str, Any] | None) -> dict[str, Any] | None:
    try:
        parse_settings(value)
    except ValueError as exc:
        raise InvalidInput(f"alert_settings: {exc}", details={"field": "alert_settings"}) from None
    return value or None


PAGING_UNITS = ("alert", "group")


def _check_paging_unit(unit: str) -> str:
    """`alert` (one escalation per alert) or `group` (one per alert group, see docs/alerting.md)."""
    if unit not in PAGING_UNITS:
        raise InvalidInput("paging_unit must be 'alert' (one page per alert) or 'group' (one page per alert group)",
                           details={"field": "paging_unit"})
    return unit


def _set_dependencies(session: Session, service: Service, keys: list[str]) -> list[str]:
    deps = [require_service(session, k) for k in keys]
    if any(d.id == service.id for d in deps):
        raise InvalidInput("a service cannot depend on itself", details={"field": "depends_on"})
    session.execute(sa.delete(ServiceDependency).where(ServiceDependency.service_id == service.id))
    for dep in {d.id: d for d in deps}.values():
        session.add(ServiceDependency(service_id=service.id, depends_on_id=dep.id))
    session.flush()
    return sorted(d.slug for d in deps)


def create_service(session: Session, *, actor: Principal, now: datetime, name: str, slug: str | None = None,
                   description: str = "", owner_team: str | None = None, tier: int = 3,
                   runbook_url: str | None = None, depends_on: list[str] | None = None,
                   alert_settings: dict[str, Any] | None = None, paging_unit: str = "group",
                   drill: bool = False) -> Service:
    """Add a service. New services page once per alert group (`paging_unit` "group"); "alert" pages
    every alert on its own, as services did before the setting existed. A `drill` service is an
    exercise's stand-in (issue 19): its alerts and incidents are drills."""
    actor.require(OrgRole.admin, "creating services")
    name, description = check_name(name), check_description(description)
    slug = check_slug(slug) if slug else slugify(name)
    if get_service(session, slug):
        raise Conflict(f"a service with slug {slug} already exists", details={"slug": slug})
    team = require_team(session, owner_team) if owner_team else None
    service = Service(slug=slug, name=name, description=description, owner_team_id=team.id if team else None,
                      tier=_check_tier(tier), runbook_url=_check_runbook_url(runbook_url), created_at=now,
                      updated_at=now,
                      alert_settings=_check_alert_settings(alert_settings),
                      paging_unit=_check_paging_unit(paging_unit), drill=drill)
    session.add(service)
    session.flush()
    deps = _set_dependencies(session, service, depends_on or [])
    record(session, actor=actor, action="service.create", target_type="service", target_id=service.id, now=now,
           details={"slug": slug, "tier": service.tier, "owner_team": team.slug if team else None, "depends_on": deps,
                    "paging_unit": service.paging_unit, "drill": drill})
    return service


class _Unset(Enum):
    """The default of a parameter for which None means "clear it"."""

    token = 0


_UNSET = _Unset.token


def update_service(session: Session, *, actor: Principal, now: datetime, service: Service, name: str | None = None,
                   description: str | None = None, owner_team: str | None | _Unset = _UNSET, tier: int | None = None,
                   runbook_url: str | None | _Unset = _UNSET, depends_on: list[str] | None = None,
                   alert_settings: dict[str, Any] | None | _Unset = _UNSET,
                   paging_unit: str | None = None) -> Service:
    """Change a service; `owner_team` and `runbook_url` accept None to clear them."""
    actor.require(OrgRole.admin, "changing services")
    changes: dict[str, object] = {}
    if name is not None:
        service.name = changes["name"] = check_name(name)
    if description is not None:
        service.description = changes["description"] = check_description(description)
    if owner_team is not _UNSET:
        team = require_team(session, owner_team) if owner_team else None
        service.owner_team_id = team.id if team else None
        changes["owner_team"] = team.slug if team else None
    if tier is not None:
        service.tier = changes["tier"] = _check_tier(tier)
    if runbook_url is not _UNSET:
        service.runbook_url = changes["runbook_url"] = _check_runbook_url(runbook_url)
    if alert_settings is not _UNSET:
        service.alert_settings = changes["alert_settings"] = _check_alert_settings(alert_settings)
    if paging_unit is not None and paging_unit != service.paging_unit:
        service.paging_unit = changes["paging_unit"] = _check_paging_unit(paging_unit)
    if depends_on is not None:
        changes["depends_on"] = _set_dependencies(session, service, depends_on)
    if changes:
        service.updated_at = now
        record(session, actor=actor, action="service.update", target_type="service", target_id=service.id, now=now,
               details=changes)
    return service


def delete_service(session: Session, *, actor: Principal, now: datetime, service: Service) -> None:
    """Delete a service; the database removes its alerts, integrations, heartbeats, checks, windows and
    dependency edges with it. Callers check first what must not go (flows/catalog.py)."""
    actor.require(OrgRole.admin, "deleting services")
    record(session, actor=actor, action="service.delete", target_type="service", target_id=service.id, now=now,
           details={"slug": service.slug, "name": service.name, "depended_on_by": dependent_slugs(session, service.id)})
    session.delete(service)
    session.flush()


def dependent_slugs(session: Session, service_id: uuid.UUID) -> list[str]:
    """The services that depend on this one."""
    return list(session.execute(
        sa.select(Service.slug).join(ServiceDependency, ServiceDependency.service_id == Service.id)
        .where(ServiceDependency.depends_on_id == service_id).order_by(Service.slug)
    ).scalars())

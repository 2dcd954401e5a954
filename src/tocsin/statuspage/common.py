"""Shared by the status page writers: input checks, the change notice, applying a component status.

Split out so pages/components (`service`), public incidents (`incidents`) and maintenances
(`maintenance`) use one set of rules without importing each other in a circle.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin import live
from tocsin.errors import InvalidInput, NotFound
from tocsin.statuspage.models import (
    ComponentStatusChange,
    StatusComponent,
    StatusIncident,
    StatusIncidentComponent,
    StatusPage,
)
from tocsin.statuspage.types import ComponentStatus, Impact, IncidentStatus

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_DATA_LOGO = re.compile(r"^data:image/(png|svg\+xml|jpeg|gif);base64,([A-Za-z0-9+/=]+)$")
MAX_NAME, MAX_INCIDENT_NAME, MAX_TEXT, MAX_URL = 200, 300, 20_000, 2000
INCIDENT_IMPACTS = (Impact.none.value, Impact.minor.value, Impact.major.value, Impact.critical.value)


# --- validation ----------------------------------------------------------------------------------

def text_field(field: str, value: str, *, limit: int, required: bool = False) -> str:
    if required and not value.strip():
        raise InvalidInput(f"{field} must not be empty", details={"field": field})
    if len(value) > limit:
        raise InvalidInput(f"{field} may have at most {limit} characters", details={"field": field})
    return value.strip() if required else value


def check_page_slug(slug: str) -> str:
    """Return `slug` if it is lowercase letters, digits and inner hyphens (1–64); raise InvalidInput."""
    if not SLUG_RE.match(slug or ""):
        raise InvalidInput(f"invalid slug {slug!r}: use 1-64 lowercase letters, digits and inner hyphens",
                           details={"field": "slug"})
    return slug


def _http_url(field: str, url: str, *, schemes: tuple[str, ...]) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in schemes or not parts.hostname or len(url) > MAX_URL \
            or any(c.isspace() for c in url):
        raise InvalidInput(f"{field} must be an {' or '.join(s + '://' for s in schemes)} address of at most "
                           f"{MAX_URL} characters", details={"field": field})
    return url


def check_logo_url(url: str | None) -> str | None:
    """An https:// address or a base64 data: URI of a PNG, SVG, JPEG or GIF image (the page shows
    it as <img>, never fetches it); raise InvalidInput."""
    if url is None or url == "":
        return None
    if url.startswith("data:"):
        m = _DATA_LOGO.match(url)
        if not m or len(url) > MAX_URL:
            raise InvalidInput("logo_url data: URIs must be data:image/(png|svg+xml|jpeg|gif);base64,... "
                               f"and at most {MAX_URL} characters", details={"field": "logo_url"})
        try:
            base64.b64decode(m.group(2), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("logo_url holds invalid base64", details={"field": "logo_url"}) from None
        return url
    return _http_url("logo_url", url, schemes=("https",))


def check_public_url(url: str | None) -> str | None:
    return _http_url("public_url", url, schemes=("http", "https")) if url else None


def enum_field(field: str, value: str, allowed: tuple[str, ...] | list[str]) -> str:
    if value not in allowed:
        raise InvalidInput(f"{field} must be one of {', '.join(allowed)}", details={"field": field, "value": value})
    return value


COMPONENT_STATUSES = tuple(s.value for s in ComponentStatus)
INCIDENT_STATUSES = tuple(s.value for s in IncidentStatus)


def announce(session: Session, page_id: uuid.UUID) -> None:
    live.changed(session, f"statuspage:{page_id}")


def require_component(session: Session, page: StatusPage, component_id: uuid.UUID | str) -> StatusComponent:
    try:
        cid = component_id if isinstance(component_id, uuid.UUID) else uuid.UUID(str(component_id))
    except ValueError:
        cid = None
    component = session.get(StatusComponent, cid) if cid else None
    if component is None or component.page_id != page.id:
        raise NotFound(f"no component {component_id} on status page {page.slug}",
                       details={"component": str(component_id)})
    return component


def apply_status(session: Session, component: StatusComponent, status: str, now: datetime) -> dict[str, Any]:
    """Set the status and log the change; return the Statuspage `affected_components` entry."""
    if component.is_group:
        raise InvalidInput(f"{component.name} is a group: its status follows its components",
                           details={"component": str(component.id)})
    enum_field("status", status, COMPONENT_STATUSES)
    old = component.status
    if old != status:
        component.status, component.updated_at = status, now
        session.add(ComponentStatusChange(component_id=component.id, status=status, at=now))
    return {"code": str(component.id), "name": component.name, "old_status": old, "new_status": status}


def components_of(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[StatusComponent]]:
    out: dict[uuid.UUID, list[StatusComponent]] = {i: [] for i in ids}
    if ids:
        for sid, c in session.execute(
                sa.select(StatusIncidentComponent.status_incident_id, StatusComponent)
                .join(StatusComponent, StatusComponent.id == StatusIncidentComponent.component_id)
                .where(StatusIncidentComponent.status_incident_id.in_(ids))
                .order_by(StatusComponent.position, StatusComponent.id)):
            out[sid].append(c)
    return out


def link_components(session: Session, si: StatusIncident, components: list[StatusComponent]) -> None:
    have = set(session.execute(sa.select(StatusIncidentComponent.component_id)
                               .where(StatusIncidentComponent.status_incident_id == si.id)).scalars())
    for c in components:
        if c.id not in have:
            session.add(StatusIncidentComponent(status_incident_id=si.id, component_id=c.id))
            have.add(c.id)


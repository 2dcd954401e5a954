"""Status page writes: pages, components, public incidents and their updates, maintenances,
and publishing a postmortem to the page.

Everything customers read is written here, so the rules live here too: a public incident has
its own customer-facing name and text (the internal title and summary are never copied), a
restricted internal incident is never linked from a public row, and every change announces
`statuspage:<page id>` so the cached page re-renders. Pages and components are the admin's;
posting updates and running maintenances is the responders'. Services never commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.checks.models import Check
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.principal import OrgRole, Principal
from tocsin.services.models import Service
from tocsin.statuspage import subscribers
from tocsin.statuspage.common import (  # noqa: F401  (components_of, require_component: one import point for callers)
    MAX_NAME,
    MAX_TEXT,
    announce,
    apply_status,
    check_logo_url,
    check_page_slug,
    check_public_url,
    components_of,
    require_component,
    text_field,
)
from tocsin.statuspage.incidents import (  # noqa: F401  (one import point for callers)
    component_offers,
    first_update_times,
    list_status_incidents,
    post_incident_update,
    public_incident_for,
    publish_postmortem,
    require_status_incident,
    updates_of,
)
from tocsin.statuspage.maintenance import (  # noqa: F401
    advance_maintenances,
    schedule_maintenance,
    update_maintenance,
)
from tocsin.statuspage.models import ComponentStatusChange, StatusComponent, StatusPage
from tocsin.statuspage.types import ComponentStatus
from tocsin.users.service import check_time_zone

# --- pages ---------------------------------------------------------------------------------------

def get_page(session: Session, slug_or_id: str | uuid.UUID) -> StatusPage | None:
    if isinstance(slug_or_id, uuid.UUID):
        return session.get(StatusPage, slug_or_id)
    page = session.execute(sa.select(StatusPage).where(StatusPage.slug == slug_or_id)).scalar_one_or_none()
    if page is None:
        try:
            return session.get(StatusPage, uuid.UUID(slug_or_id))
        except ValueError:
            return None
    return page


def require_page(session: Session, slug_or_id: str | uuid.UUID) -> StatusPage:
    """Return the page with this slug or id; raise NotFound."""
    page = get_page(session, slug_or_id)
    if page is None:
        raise NotFound(f"no status page {slug_or_id}", details={"page": str(slug_or_id)})
    return page


def list_pages(session: Session) -> list[StatusPage]:
    return list(session.execute(sa.select(StatusPage).order_by(StatusPage.name, StatusPage.id)).scalars())


def _slug_free(session: Session, slug: str, page_id: uuid.UUID | None = None) -> None:
    clash = session.execute(sa.select(StatusPage.id).where(StatusPage.slug == slug)).scalar_one_or_none()
    if clash is not None and clash != page_id:
        raise Conflict(f"a status page with slug {slug!r} exists", details={"field": "slug"})


def create_page(session: Session, *, actor: Principal, now: datetime, slug: str, name: str, description: str = "",
                logo_url: str | None = None, public_url: str | None = None, time_zone: str = "UTC") -> StatusPage:
    """Create a page (admin). Raises Forbidden, InvalidInput, Conflict (slug taken)."""
    actor.require(OrgRole.admin, "creating status pages")
    page = StatusPage(slug=check_page_slug(slug), name=text_field("name", name, limit=MAX_NAME, required=True),
                      description=text_field("description", description, limit=MAX_TEXT),
                      logo_url=check_logo_url(logo_url), public_url=check_public_url(public_url),
                      time_zone=check_time_zone(time_zone), created_at=now, updated_at=now)
    _slug_free(session, page.slug)
    session.add(page)
    session.flush()
    record(session, actor=actor, action="statuspage.create", target_type="status_page", target_id=page.id, now=now,
           details={"slug": page.slug, "name": page.name})
    announce(session, page.id)
    return page


_PAGE_CHECKS = {
    "slug": check_page_slug,
    "name": lambda v: text_field("name", v, limit=MAX_NAME, required=True),
    "description": lambda v: text_field("description", v, limit=MAX_TEXT),
    "logo_url": check_logo_url,
    "public_url": check_public_url,
    "time_zone": check_time_zone,
}


def update_page(session: Session, *, actor: Principal, now: datetime, page: StatusPage,
                changes: dict[str, Any]) -> StatusPage:
    """Change a page's fields (admin); keys as in `create_page`. Raises Forbidden, InvalidInput, Conflict."""
    actor.require(OrgRole.admin, "changing status pages")
    audit: dict[str, Any] = {}
    for key, check in _PAGE_CHECKS.items():
        if key not in changes:
            continue
        value = changes[key]
        if value is None and key in ("slug", "name", "description", "time_zone"):
            raise InvalidInput(f"{key} cannot be null", details={"field": key})
        value = check(value)
        if key == "slug" and value is not None:  # (a null slug was refused above)
            _slug_free(session, value, page.id)
        if value != getattr(page, key):
            setattr(page, key, value)
            audit[key] = value if key in ("slug", "name", "time_zone") else "changed"
    if audit:
        page.updated_at = now
        session.flush()
        record(session, actor=actor, action="statuspage.update", target_type="status_page", target_id=page.id,
               now=now, details=audit)
        announce(session, page.id)
    return page


def delete_page(session: Session, *, actor: Principal, now: datetime, page: StatusPage) -> None:
    """Delete a page with its components, incidents and subscribers (admin)."""
    actor.require(OrgRole.admin, "deleting status pages")
    record(session, actor=actor, action="statuspage.delete", target_type="status_page", target_id=page.id, now=now,
           details={"slug": page.slug, "name": page.name})
    announce(session, page.id)
    session.delete(page)
    session.flush()


# --- components ----------------------------------------------------------------------------------

def list_components(session: Session, page: StatusPage) -> list[StatusComponent]:
    """Groups and components in display order (position, then creation)."""
    return list(session.execute(sa.select(StatusComponent).where(StatusComponent.page_id == page.id)
                                .order_by(StatusComponent.position, StatusComponent.id)).scalars())


def _check_group(session: Session, page: StatusPage, group: StatusComponent | None, is_group: bool,
                 me: uuid.UUID | None = None) -> None:
    if group is None:
        return
    if group.page_id != page.id or not group.is_group or group.id == me:
        raise InvalidInput("group must be a component group on the same page", details={"field": "group"})
    if is_group:
        raise InvalidInput("groups cannot be nested", details={"field": "group"})


def _links(session: Session, service_id: uuid.UUID | None, check_id: uuid.UUID | None) -> None:
    if service_id is not None and session.get(Service, service_id) is None:
        raise NotFound(f"no service {service_id}", details={"field": "service"})
    if check_id is not None and session.get(Check, check_id) is None:
        raise NotFound(f"no check {check_id}", details={"field": "check"})


def create_component(session: Session, *, actor: Principal, now: datetime, page: StatusPage, name: str,
                     description: str = "", group: StatusComponent | None = None, is_group: bool = False,
                     position: int | None = None, service_id: uuid.UUID | None = None,
                     check_id: uuid.UUID | None = None, only_show_if_degraded: bool = False) -> StatusComponent:
    """Add a component or a group (admin), operational, at the end unless `position` is given."""
    actor.require(OrgRole.admin, "changing status page components")
    _check_group(session, page, group, is_group)
    _links(session, service_id, check_id)
    if position is None:
        position = (session.execute(sa.select(sa.func.max(StatusComponent.position))
                                    .where(StatusComponent.page_id == page.id)).scalar() or 0) + 1
    component = StatusComponent(
        page_id=page.id, group_id=group.id if group else None, is_group=is_group,
        name=text_field("name", name, limit=MAX_NAME, required=True),
        description=text_field("description", description, limit=MAX_TEXT), position=position,
        status=ComponentStatus.operational.value, only_show_if_degraded=only_show_if_degraded,
        service_id=service_id, check_id=check_id, created_at=now, updated_at=now)
    session.add(component)
    session.flush()
    if not is_group:  # the uptime history starts here
        session.add(ComponentStatusChange(component_id=component.id, status=component.status, at=now))
    record(session, actor=actor, action="statuspage.component_create", target_type="status_component",
           target_id=component.id, now=now, details={"page": page.slug, "name": component.name, "group": is_group})
    announce(session, page.id)
    return component


_NULLABLE = ("service_id", "check_id", "group_id")
_COMPONENT_FIELDS = ("name", "description", "position", "only_show_if_degraded", "service_id", "check_id", "group")


def update_component(session: Session, *, actor: Principal, now: datetime, component: StatusComponent,
                     changes: dict[str, Any]) -> StatusComponent:
    """Change a component: its fields (admin; `group` is a StatusComponent or None) and/or its
    `status` (responder, through `set_component_status`)."""
    page = session.get(StatusPage, component.page_id)
    assert page is not None
    audit: dict[str, Any] = {}
    if any(k in changes for k in _COMPONENT_FIELDS):
        actor.require(OrgRole.admin, "changing status page components")
    if "name" in changes:
        changes["name"] = text_field("name", changes["name"] or "", limit=MAX_NAME, required=True)
    if "description" in changes:
        changes["description"] = text_field("description", changes["description"] or "", limit=MAX_TEXT)
    if "group" in changes:
        _check_group(session, page, changes["group"], component.is_group, component.id)
        changes["group_id"] = changes.pop("group").id if changes["group"] else None
    _links(session, changes.get("service_id"), changes.get("check_id"))
    for key in ("name", "description", "position", "only_show_if_degraded", "service_id", "check_id", "group_id"):
        if key not in changes or changes[key] is None and key not in _NULLABLE:
            continue
        if changes[key] != getattr(component, key):
            setattr(component, key, changes[key])
            audit[key] = str(changes[key]) if changes[key] is not None else None
    if audit:
        component.updated_at = now
        session.flush()
        record(session, actor=actor, action="statuspage.component_update", target_type="status_component",
               target_id=component.id, now=now, details={"page": page.slug, **audit})
        announce(session, page.id)
    if changes.get("status") is not None:
        set_component_status(session, actor=actor, now=now, component=component, status=changes["status"])
    return component


def delete_component(session: Session, *, actor: Principal, now: datetime, component: StatusComponent) -> None:
    """Remove a component (a group takes its components with it) (admin)."""
    actor.require(OrgRole.admin, "changing status page components")
    record(session, actor=actor, action="statuspage.component_delete", target_type="status_component",
           target_id=component.id, now=now, details={"name": component.name})
    announce(session, component.page_id)
    session.delete(component)
    session.flush()


def set_component_status(session: Session, *, actor: Principal, now: datetime, component: StatusComponent,
                         status: str) -> StatusComponent:
    """Change a component's status outside any incident (responder); logged for the uptime bar and
    sent to webhook subscribers as a component update."""
    actor.require(OrgRole.responder, "changing component statuses")
    old = component.status
    apply_status(session, component, status, now)
    if old != status:
        session.flush()
        page = session.get(StatusPage, component.page_id)
        assert page is not None
        record(session, actor=actor, action="statuspage.component_status", target_type="status_component",
               target_id=component.id, now=now, details={"page": page.slug, "from": old, "to": status})
        subscribers.queue_component_update(session, now=now, page=page, component=component, old_status=old)
        announce(session, page.id)
    return component

"""Deleting a service from the catalog: what the other domains hold about it decides whether it may go."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.alerts import service as alerts
from tocsin.errors import Conflict
from tocsin.incidents import service as incidents
from tocsin.principal import OrgRole, Principal
from tocsin.services import service as services
from tocsin.services.models import Service

FIRING = ["triggered", "acknowledged"]


def delete_service(session: Session, *, actor: Principal, now: datetime, service: Service) -> None:
    """Delete the service with its alert history, integrations, heartbeats and checks (admin only).

    Raise Conflict while an incident names it (the incident's record must keep its services) or while
    one of its alerts fires (someone may be working on it); nothing is deleted then."""
    actor.require(OrgRole.admin, "deleting services")
    named = incidents.count_for_service(session, service.id)
    if named:
        raise Conflict(f"{service.slug} cannot be deleted: {named} incident(s) name it, and their record keeps "
                       "their services", details={"incidents": named})
    firing = alerts.count_alerts(session, flt=alerts.AlertFilter(status=FIRING, service=service.slug))
    if firing:
        raise Conflict(f"{service.slug} cannot be deleted while {firing} of its alert(s) fire; resolve them first",
                       details={"firing_alerts": firing})
    services.delete_service(session, actor=actor, now=now, service=service)

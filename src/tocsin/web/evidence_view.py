"""What the incident room's Evidence panel shows: the items, and whether the viewer may add to them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tocsin.evidence import service as evidence
from tocsin.evidence.types import MANUAL_ACTIONS, ORDER_OF_VOLATILITY
from tocsin.incidents.models import Incident
from tocsin.incidents.service import ref
from tocsin.incidents.types import Kind
from tocsin.principal import Principal


def panel(session: Session, me: Principal, incident: Incident) -> dict[str, Any] | None:
    """The panel's values; None on an operational incident that has no evidence (nothing to show)."""
    items = evidence.list_items(session, incident)
    if not items and incident.kind != Kind.security.value:
        return None
    base = f"/incidents/{ref(incident)}/evidence"
    return {
        "items": [{"label": evidence.label(i), "name": i.name, "kind": i.kind, "size": i.size, "sha256": i.sha256,
                   "location": i.location, "url": f"{base}/{i.id}",
                   "download": f"{base}/{i.id}/download" if i.kind == "file" else None} for i in items],
        "can_manage": evidence.may_manage(session, me, incident),
        "volatility": ORDER_OF_VOLATILITY,
        "report": f"{base}/report",
        "base": base,
        "actions": [a.value for a in MANUAL_ACTIONS],
    }

"""The incident room's security panels: "Waiting for Legal" (communications held by the legal gate,
with approve and reject for the Legal role holder) and "Outside responders" (guests: invite, list
with expiry, revoke for admins and the commander). Views only: the forms post to
`web/routes/legal_pages.py` and `web/routes/guest_pages.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.incidents import guests
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Kind
from tocsin.legal import service as legal
from tocsin.principal import Principal

_RECENT = 5  # decided drafts shown under the pending ones


def legal_view(s: Session, incident: Incident, me: Principal) -> dict[str, Any] | None:
    """Pending drafts (oldest first, the order Legal works through them) and the last decided ones;
    None on an incident without drafts that is not a security incident, and for guests."""
    if me.is_guest:
        return None
    drafts = legal.draft_out(s, legal.list_drafts(s, incident))
    if not drafts and incident.kind != Kind.security.value:
        return None
    holders = legal.legal_holders(s, incident)
    return {"pending": [d for d in reversed(drafts) if d["state"] == legal.PENDING],
            "decided": [d for d in drafts if d["state"] != legal.PENDING][:_RECENT],
            "holder": holders[0].name if holders else None,
            "can_decide": legal.is_legal_holder(s, incident, me)}


def guests_view(s: Session, incident: Incident, me: Principal, now: datetime, max_days: int) -> dict[str, Any] | None:
    """The incident's outside responders for admins and its commander (who invite and revoke them);
    None for everyone else, and on an incident that is not restricted."""
    if me.is_guest or not incident.restricted or not guests.may_manage(s, incident=incident, actor=me):
        return None
    rows = [{"id": str(g.id), "name": g.name, "email": g.email, "organisation": g.organisation,
             "expires_at": g.expires_at, "live": guests.is_live(g, now), "joined": g.accepted_at is not None,
             "state": ("revoked" if g.revoked_at is not None else "expired" if now >= g.expires_at
                       else "active" if g.accepted_at is not None else "invited")}
            for g in guests.list_grants(s, incident)]
    return {"rows": rows, "max_days": max_days}

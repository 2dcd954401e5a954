"""What an outside (guest) responder may reach in the console: the rooms of their live grants,
read-only views of those incidents' evidence, and nothing else.

Deny by default: `web_ctx` asks `admit` on every console request by a guest. A guest without a
live grant (expired, revoked) has no session at all; with one, only these pass:

- GET the room page (with its read-only Indicators and Evidence panels, web/room_page.py) and its
  live event stream; POST /logout; the home page sends them to their incident;
- GET an evidence item's page with its custody ledger (`/incidents/{ref}/evidence/{id}`), its
  download (`.../download`: written to the item's custody ledger as `accessed`, like anyone's),
  and the incident's custody report (`/incidents/{ref}/evidence/report`): what an outside IR firm
  or counsel works from.

Everything else is a 404, whatever the route (lists, schedules, people, reports, search,
configuration, /me and its API tokens, every POST form, the indicator exports, the containment and
obligations pages). Which incident they may see is still decided by `incidents/access.py` (the
guest principal carries its live grants), so the room or evidence of another incident is a 404
too. Each page view and download is audited (`guest.view`, with the page): an outside party's
every look at a restricted incident is on record.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime

import sqlalchemy as sa
from fastapi import Request
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.errors import NotFound
from tocsin.ids import incident_ref
from tocsin.incidents.guests import live_incident_ids
from tocsin.incidents.models import Incident
from tocsin.principal import Principal

_ROOM = re.compile(r"^/incidents/([A-Za-z0-9-]{1,64})$")
_STREAM = re.compile(r"^/incidents/[A-Za-z0-9-]{1,64}/events$")
# the custody report, an item's page (by id or E-n label) and its download; nothing under it (no POST)
_EVIDENCE = re.compile(r"^/incidents/([A-Za-z0-9-]{1,64})/evidence/(report|[A-Za-z0-9-]{1,64}(?:/download)?)$")


class GuestHome(Exception):
    """A guest asked for the home page: the handler redirects to their (first) incident's room."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def with_grants(s: Session, principal: Principal, now: datetime) -> Principal | None:
    """The guest principal with the incidents of their live grants; None when there are none (no session)."""
    ids = live_incident_ids(s, principal.user_id, now) if principal.user_id else frozenset()
    return dataclasses.replace(principal, guest_incidents=ids) if ids else None


def admit(s: Session, request: Request, principal: Principal, now: datetime) -> None:
    """Let a guest's request through, or raise NotFound (GuestHome for the home page)."""
    path, method = request.url.path, request.method
    if method == "POST" and path == "/logout":
        return
    if method in ("GET", "HEAD"):
        if path == "/":
            number = s.execute(sa.select(Incident.number).where(Incident.id.in_(principal.guest_incidents))
                               .order_by(Incident.number).limit(1)).scalar_one()
            raise GuestHome(f"/incidents/{incident_ref(number)}")
        if _STREAM.match(path):
            return
        if (room := _ROOM.match(path)) is not None:
            record(s, actor=principal, action="guest.view", target_type="incident", target_id=None, now=now,
                   details={"incident": room.group(1)})
            return
        if (page := _EVIDENCE.match(path)) is not None:
            record(s, actor=principal, action="guest.view", target_type="incident", target_id=None, now=now,
                   details={"incident": page.group(1), "evidence": page.group(2)})
            return
    raise NotFound("outside responders see only the room of the incident they were invited to")

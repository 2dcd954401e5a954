"""The incident room's live stream: after each change notice, send the viewer what they lack.

Which entries a viewer lacks is decided by when entries were *recorded*, not when they
occurred: a scribe's back-dated note occurs before entries the viewer already has, so a cursor
on occurred_at would skip it. Recording times can arrive out of order too (a transaction that
read the clock earlier may commit later), so each read looks back `LOOKBACK` before the newest
recording time sent and drops entries already sent, by id and edit time (an edited note is
sent again, and the page replaces the one it shows). The SSE id of each message is the
newest entry's id; a browser that reconnects sends it as Last-Event-ID (or the page passes it
as `?after=`), and the stream resumes from that entry's recording time.

Every read runs in a worker thread with its own unit of work, and first checks that the viewer
may still watch: their console session is still valid (not logged out, expired or idle) and
they can still see the incident (need-to-know is re-checked with their current principal).
If not, the stream ends.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tocsin.incidents import timeline
from tocsin.incidents.access import get_incident
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.principal import Principal
from tocsin.users.models import User
from tocsin.users.service import principal_for
from tocsin.web import guest_gate, room_view, sessions, sse
from tocsin.web.auth import WebCtx
from tocsin.web.models import WebSession
from tocsin.web.render import render

LOOKBACK = timedelta(minutes=2)


def session_alive(s: Session, ctx: WebCtx, now: datetime) -> User | None:
    """The viewer's user row if their console session is still valid (read only: watching a room
    does not count as activity, so an open tab does not keep an idle session alive)."""
    web = s.get(WebSession, ctx.session_id) if ctx.session_id else None
    user = s.get(User, ctx.user.id) if web is not None else None
    return user if sessions.is_live(web, user, now, ctx.settings) else None


@dataclass
class RoomReader:
    """One viewer's position in one incident's timeline."""

    request: Request
    ctx: WebCtx
    incident_id: uuid.UUID
    since: datetime | None = None  # newest recording time sent (None: send everything)
    # entry id -> (recorded_at, edited_at) as sent, within LOOKBACK
    sent: dict[uuid.UUID, tuple[datetime, datetime | None]] = field(default_factory=dict)
    last_id: uuid.UUID | None = None

    def resume_after(self, entry_id: uuid.UUID | None) -> None:
        """Start after `entry_id` (Last-Event-ID or ?after=): the viewer has it and every entry recorded
        before it. Entries recorded in the same instant with a higher id are sent again (the page
        drops duplicates by data-id); an unknown id means starting from the beginning."""
        if entry_id is None:
            return
        with self.ctx.db.unit_of_work() as s:
            entry = s.get(TimelineEntry, entry_id)
            if entry is None or entry.incident_id != self.incident_id:
                return
            mark = (entry.recorded_at, entry.id)
            self.since, self.last_id = entry.recorded_at, entry.id
            incident = s.get(Incident, self.incident_id)
            if incident is None:  # gone since the entry was read: nothing to resume
                return
            for e in timeline.recorded_since(s, incident=incident, since=entry.recorded_at - LOOKBACK):
                if (e.recorded_at, e.id) <= mark:
                    self.sent[e.id] = (e.recorded_at, e.edited_at)

    async def read(self, noticed: bool) -> list[bytes] | None:
        return await run_in_threadpool(self._read, noticed)

    def _read(self, noticed: bool) -> list[bytes] | None:
        now = self.ctx.clock.now()
        with self.ctx.db.unit_of_work() as s:
            user = session_alive(s, self.ctx, now)
            if user is None:
                return None
            principal: Principal | None = principal_for(s, user)
            if principal is not None and principal.is_guest:  # an outside responder watches only while a grant is live
                principal = guest_gate.with_grants(s, principal, now)
            incident = get_incident(s, principal, self.incident_id) if principal is not None else None
            if incident is None:
                return None
            since = self.since - LOOKBACK if self.since else None
            rows = [e for e in timeline.recorded_since(s, incident=incident, since=since)
                    if self.sent.get(e.id) != (e.recorded_at, e.edited_at)]
            if not rows and not noticed:
                return []
            tz = room_view.viewer_zone(user)
            entries = room_view.entry_views(s, rows, tz, now)
            header = room_view.header_view(s, incident, tz, now, self.ctx.settings)
        for e in rows:
            self.sent[e.id] = (e.recorded_at, e.edited_at)
        top = room_view.newest(rows)
        if top is not None and (self.since is None or top.recorded_at >= self.since):
            self.since, self.last_id = top.recorded_at, top.id
        if self.since is not None:
            floor = self.since - LOOKBACK
            self.sent = {k: v for k, v in self.sent.items() if max(v[0], v[1] or v[0]) >= floor}
        html = _fragment(self.request, self.ctx, "room_entries.html", entries=entries) if entries else ""
        head = _fragment(self.request, self.ctx, "room_header.html", h=header)
        return [sse.event(name="timeline", event_id=str(self.last_id) if self.last_id else None,
                          data={"html": html, "header": head, "count": len(entries)})]


def _fragment(request: Request, ctx: WebCtx, template: str, **values: Any) -> str:
    """A partial template rendered exactly as the page renders it."""
    # HTMLResponse.body is bytes; Starlette types it bytes | memoryview for streaming bodies
    return bytes(render(request, ctx, template, declare_services=[], **values).body).decode()

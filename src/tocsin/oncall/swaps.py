"""Shift swaps ("cover me"): a person on a schedule asks for cover for a time range, others offer,
the requester accepts one offer, which becomes an override for the taker.

States: open → accepted | cancelled; an open request whose start has passed reads as expired
(`swap_state`), nothing writes that. The override an acceptance makes replaces only the requester
(`replaces`), so it covers exactly the requester's time inside the range, whatever the layers
and restrictions say; it is stored and audited by `service.store_override` like any override.

Roles: a responder asks for cover for their own shifts and offers to cover others'; only the
requester (or an admin) accepts or cancels. Offers come from people on the schedule's layers
(or admins), since only they are expected to carry its pager.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.db.lookup import require_row
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.oncall import service as oncall
from tocsin.oncall.models import Schedule, ShiftSwap, ShiftSwapOffer
from tocsin.principal import OrgRole, Principal
from tocsin.users.models import User

MAX_AHEAD = timedelta(days=90)  # a request's shifts are resolved to check them: the resolver's range
MAX_LENGTH = timedelta(days=31)
NOTE_MAX = 2000
STATES = ("open", "expired", "accepted", "cancelled")


def swap_state(row: ShiftSwap, now: datetime) -> str:
    """open, expired (open but its start has passed), accepted or cancelled."""
    if row.status == "open" and row.starts_at <= now:
        return "expired"
    return row.status


def require_swap(session: Session, swap_id: uuid.UUID) -> ShiftSwap:
    return require_row(session, ShiftSwap, swap_id, "shift swap")


def schedule_members(session: Session, schedule: Schedule) -> set[uuid.UUID]:
    """The ids of everyone on one of the schedule's layers."""
    layers = oncall.list_layers(session, [schedule.id])[schedule.id]
    return {uid for ids in oncall.layer_members(session, [x.id for x in layers]).values() for uid in ids}


def list_swaps(session: Session, *, now: datetime, schedule: Schedule | None = None,
               requester_id: uuid.UUID | None = None, state: str | None = None,
               limit: int = 200) -> list[ShiftSwap]:
    """Swap requests by start time, newest-starting last; `state` filters by `swap_state`
    (open means not yet started). Raise InvalidInput for an unknown state."""
    stmt = sa.select(ShiftSwap)
    if schedule is not None:
        stmt = stmt.where(ShiftSwap.schedule_id == schedule.id)
    if requester_id is not None:
        stmt = stmt.where(ShiftSwap.requester_id == requester_id)
    if state is not None:
        if state not in STATES:
            raise InvalidInput(f"state must be one of {', '.join(STATES)}", details={"field": "state"})
        if state == "open":
            stmt = stmt.where(ShiftSwap.status == "open", ShiftSwap.starts_at > now)
        elif state == "expired":
            stmt = stmt.where(ShiftSwap.status == "open", ShiftSwap.starts_at <= now)
        else:
            stmt = stmt.where(ShiftSwap.status == state)
    return list(session.execute(stmt.order_by(ShiftSwap.starts_at, ShiftSwap.id).limit(limit)).scalars())


def offers_for(session: Session, swap_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[ShiftSwapOffer]]:
    """Each swap's offers, oldest first."""
    ids = list(swap_ids)
    out: dict[uuid.UUID, list[ShiftSwapOffer]] = {i: [] for i in ids}
    if ids:
        for row in session.execute(sa.select(ShiftSwapOffer).where(ShiftSwapOffer.swap_id.in_(ids))
                                   .order_by(ShiftSwapOffer.created_at, ShiftSwapOffer.id)).scalars():
            out[row.swap_id].append(row)
    return out


def _note(text: str) -> str:
    text = text.strip()
    if len(text) > NOTE_MAX:
        raise InvalidInput(f"note: at most {NOTE_MAX} characters", details={"field": "note"})
    return text


def _me(session: Session, actor: Principal, doing: str) -> User:
    actor.require(OrgRole.responder, doing)
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise Forbidden(f"{doing} needs a person, not a token of the system", details={})
    return user


def _details(row: ShiftSwap, schedule: Schedule) -> dict[str, object]:
    return {"swap_id": str(row.id), "schedule": schedule.slug, "starts_at": row.starts_at.isoformat(),
            "ends_at": row.ends_at.isoformat()}


def create_swap(session: Session, *, actor: Principal, now: datetime, schedule: Schedule, starts_at: datetime,
                ends_at: datetime, note: str = "") -> ShiftSwap:
    """Ask for cover for the actor's own shifts from starts_at to ends_at and return the request.

    Raise Forbidden (a viewer) or InvalidInput (a range in the past, longer than 31 days, more
    than 90 days ahead, or one in which the actor is never on call).
    """
    me = _me(session, actor, "asking for cover")
    if starts_at <= now:
        raise InvalidInput("starts_at: the cover must start in the future", details={"field": "starts_at"})
    if ends_at <= starts_at:
        raise InvalidInput("ends_at must be after starts_at", details={"field": "ends_at"})
    if ends_at - starts_at > MAX_LENGTH:
        raise InvalidInput("a request covers at most 31 days; make several", details={"field": "ends_at"})
    if ends_at > now + MAX_AHEAD:
        raise InvalidInput("ends_at must be within 90 days", details={"field": "ends_at"})
    mine = [x for x in oncall.shifts(session, schedule=schedule, start=starts_at, end=ends_at, now=now)
            if x.user == str(me.id)]
    if not mine:
        raise InvalidInput(f"you are not on call in {schedule.name} during that time: ask for cover within "
                           "your shifts", details={"field": "starts_at"})
    row = ShiftSwap(schedule_id=schedule.id, requester_id=me.id, starts_at=starts_at, ends_at=ends_at,
                    note=_note(note), status="open", created_at=now)
    session.add(row)
    session.flush()
    record(session, actor=actor, action="shift_swap.create", target_type="schedule", target_id=schedule.id,
           now=now, details={**_details(row, schedule), "note": row.note})
    return row


def _open(row: ShiftSwap, now: datetime) -> None:
    state = swap_state(row, now)
    if state != "open":
        raise Conflict(f"this request is {state}", details={"state": state})


def offer(session: Session, *, actor: Principal, now: datetime, swap: ShiftSwap, note: str = "") -> ShiftSwapOffer:
    """Offer to cover an open request and return the offer; raise Forbidden (not on the schedule, a
    viewer), InvalidInput (one's own request) or Conflict (not open; offered already)."""
    me = _me(session, actor, "offering cover")
    schedule = session.get(Schedule, swap.schedule_id)
    assert schedule is not None
    if me.id == swap.requester_id:
        raise InvalidInput("you cannot cover your own request", details={})
    if not actor.is_admin and me.id not in schedule_members(session, schedule):
        raise Forbidden(f"only people on {schedule.name} (or admins) can offer cover", details={})
    _open(swap, now)
    taken = session.execute(sa.select(ShiftSwapOffer.id).where(
        ShiftSwapOffer.swap_id == swap.id, ShiftSwapOffer.user_id == me.id)).first()
    if taken:
        raise Conflict("you have offered already", details={})
    row = ShiftSwapOffer(swap_id=swap.id, user_id=me.id, note=_note(note), created_at=now)
    session.add(row)
    session.flush()
    record(session, actor=actor, action="shift_swap.offer", target_type="schedule", target_id=schedule.id,
           now=now, details={**_details(swap, schedule), "offer_id": str(row.id)})
    return row


def _decider(actor: Principal, swap: ShiftSwap, doing: str) -> None:
    actor.require(OrgRole.responder, doing)
    if actor.user_id != swap.requester_id and not actor.is_admin:
        raise Forbidden(f"only the person who asked (or an admin) may be {doing}", details={})


def accept(session: Session, *, actor: Principal, now: datetime, swap: ShiftSwap, offer_id: uuid.UUID) -> ShiftSwap:
    """Accept an offer: the offerer goes on call instead of the requester for the request's range
    (an override, audited); return the swap. Raise Forbidden, NotFound (no such offer) or Conflict."""
    _decider(actor, swap, "accepting an offer")
    _open(swap, now)
    chosen = session.get(ShiftSwapOffer, offer_id)
    if chosen is None or chosen.swap_id != swap.id:
        raise NotFound(f"no offer {offer_id} on this request", details={"offer_id": str(offer_id)})
    schedule = session.get(Schedule, swap.schedule_id)
    taker, requester = session.get(User, chosen.user_id), session.get(User, swap.requester_id)
    assert schedule is not None and requester is not None
    if taker is None or not taker.is_active:
        raise Conflict("the person who offered is no longer active", details={})
    override = oncall.store_override(session, actor=actor, now=now, schedule=schedule, taker=taker,
                                     replaced=requester, starts_at=swap.starts_at, ends_at=swap.ends_at)
    swap.status, swap.taker_id, swap.override_id, swap.decided_at = "accepted", taker.id, override.id, now
    session.flush()
    record(session, actor=actor, action="shift_swap.accept", target_type="schedule", target_id=schedule.id,
           now=now, details={**_details(swap, schedule), "taker": taker.email, "override_id": str(override.id)})
    return swap


def cancel(session: Session, *, actor: Principal, now: datetime, swap: ShiftSwap) -> ShiftSwap:
    """Withdraw an open request; raise Forbidden or Conflict (accepted, cancelled or expired)."""
    _decider(actor, swap, "cancelling a request")
    _open(swap, now)
    schedule = session.get(Schedule, swap.schedule_id)
    assert schedule is not None
    swap.status, swap.decided_at = "cancelled", now
    session.flush()
    record(session, actor=actor, action="shift_swap.cancel", target_type="schedule", target_id=schedule.id,
           now=now, details=_details(swap, schedule))
    return swap


def describe(session: Session, rows: list[ShiftSwap], now: datetime) -> list[dict[str, object]]:
    """The requests as the API and the console show them (SwapOut's shape; users as {id, name, email})."""
    offers = offers_for(session, [r.id for r in rows])
    schedules = {s.id: s for s in session.execute(sa.select(Schedule).where(
        Schedule.id.in_({r.schedule_id for r in rows}))).scalars()} if rows else {}
    users = oncall.users_by_id(session, [u for r in rows for u in (r.requester_id, r.taker_id)]
                               + [o.user_id for os in offers.values() for o in os])

    def ref(uid: uuid.UUID) -> dict[str, object]:
        u = users.get(uid)
        return {"id": uid, "name": u.name if u else str(uid), "email": u.email if u else ""}

    return [{"id": r.id, "schedule": schedules[r.schedule_id].slug, "schedule_name": schedules[r.schedule_id].name,
             "requester": ref(r.requester_id), "starts_at": r.starts_at, "ends_at": r.ends_at, "note": r.note,
             "state": swap_state(r, now), "taker": ref(r.taker_id) if r.taker_id else None,
             "override_id": r.override_id, "created_at": r.created_at, "decided_at": r.decided_at,
             "offers": [{"id": o.id, "user": ref(o.user_id), "note": o.note, "created_at": o.created_at}
                        for o in offers[r.id]]} for r in rows]

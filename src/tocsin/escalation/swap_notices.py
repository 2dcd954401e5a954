"""Emails about shift swaps, through the notification outbox: the schedule's other members hear
of a new "cover me" request, the requester hears of each offer, and the person whose offer is
accepted hears that they are on call for it.

They go to the account email at once (low urgency, like action item reminders: a swap is
never worth waking someone for); the idempotency key names the request, offer or acceptance and
the person, so a retried request cannot send twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.escalation.models import Notification
from tocsin.ids import new_id
from tocsin.localtime import zone
from tocsin.oncall.models import Schedule, ShiftSwap, ShiftSwapOffer
from tocsin.oncall.swaps import schedule_members
from tocsin.users.models import User


def _local(at: datetime, tz_name: str) -> str:
    try:
        tz = zone(tz_name or "UTC")
    except ValueError:
        tz, tz_name = zone("UTC"), "UTC"
    local = at.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %H:%M} ({tz_name})"


def _queue(session: Session, user: User, subject: str, body: str, key: str, now: datetime) -> None:
    session.add(Notification(id=new_id(), user_id=user.id, alert_id=None, incident_id=None, escalation_id=None,
                             contact_method_id=None, channel="email", destination=user.email, kind="swap",
                             subject=subject[:300], body=body, idempotency_key=key[:200], status="queued",
                             created_at=now, send_after=now, attempts=0))


def request_made(session: Session, *, swap: ShiftSwap, now: datetime, public_url: str) -> int:
    """Queue an email to each active member of the schedule other than the requester; return how many."""
    schedule = session.get(Schedule, swap.schedule_id)
    requester = session.get(User, swap.requester_id)
    assert schedule is not None and requester is not None
    sent = 0
    for uid in sorted(schedule_members(session, schedule) - {requester.id}):
        user = session.get(User, uid)
        if user is None or not user.is_active:
            continue
        span = f"{_local(swap.starts_at, user.time_zone)} to {_local(swap.ends_at, user.time_zone)}"
        body = (f"{requester.name} asks for cover on {schedule.name} from {span}."
                + (f"\n\n\u201c{swap.note}\u201d" if swap.note else "")
                + f"\n\nOffer to take it: {public_url}/shift-swaps")
        _queue(session, user, f"Cover request: {schedule.name}, {span}", body, f"swap:{swap.id}:ask:{uid}", now)
        sent += 1
    return sent


def offer_made(session: Session, *, swap: ShiftSwap, offer: ShiftSwapOffer, now: datetime, public_url: str) -> None:
    """Queue an email to the requester saying who offered."""
    schedule = session.get(Schedule, swap.schedule_id)
    requester, taker = session.get(User, swap.requester_id), session.get(User, offer.user_id)
    assert schedule is not None and requester is not None and taker is not None
    span = f"{_local(swap.starts_at, requester.time_zone)} to {_local(swap.ends_at, requester.time_zone)}"
    body = (f"{taker.name} offers to cover your shifts on {schedule.name} from {span}."
            + (f"\n\n\u201c{offer.note}\u201d" if offer.note else "")
            + f"\n\nAccept it: {public_url}/shift-swaps")
    _queue(session, requester, f"{taker.name} offers to cover {schedule.name}", body,
           f"swap:{swap.id}:offer:{offer.id}", now)


def offer_accepted(session: Session, *, swap: ShiftSwap, now: datetime, public_url: str) -> None:
    """Queue an email to the person whose offer was accepted: they are on call for that range now."""
    schedule = session.get(Schedule, swap.schedule_id)
    requester = session.get(User, swap.requester_id)
    taker = session.get(User, swap.taker_id) if swap.taker_id else None
    assert schedule is not None and requester is not None
    if taker is None or not taker.is_active:
        return
    span = f"{_local(swap.starts_at, taker.time_zone)} to {_local(swap.ends_at, taker.time_zone)}"
    body = (f"{requester.name} accepted your offer: you cover their shifts on {schedule.name} from {span}; "
            f"pages for that time come to you.\n\n{public_url}/me/shifts")
    _queue(session, taker, f"You cover {requester.name} on {schedule.name}, {span}", body,
           f"swap:{swap.id}:accepted:{taker.id}", now)

"""Engine module: send queued notifications (the outbox) by email, at least once.

A notification is claimed by moving it to `sending` with `send_after` pushed out by the claim
time, in its own short transaction; the send happens outside any transaction; the result is
recorded only if the row is still this claim's (same status and attempt number). A process
that dies mid-send leaves the row `sending` with an expired claim, and the next tick (here or
in another engine) sends it again: at least once, never silently dropped. The email carries a
Message-ID derived from the idempotency key, so a repeat after a crash is recognisable as one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from tocsin.engine.runner import EngineContext
from tocsin.escalation.models import Notification
from tocsin.notify.email import EmailProvider
from tocsin.notify.types import Message, Outcome, Result
from tocsin.users.models import User

BATCH = 50
CLAIM = timedelta(seconds=120)  # longer than one send may take (the SMTP timeout is 10 s)
MAX_ATTEMPTS = 8


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 15 min."""
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), timedelta(minutes=15))


def deliver(ec: EngineContext) -> int:
    """Send what is due; return how many sends were attempted."""
    claimed = _claim(ec)
    if not claimed:
        return 0
    provider = _provider(ec)
    results = []
    for note, address in claimed:
        if provider is None:
            result = Result(Outcome.permanent, "no email server configured (set TOCSIN_SMTP_URL)")
        elif not address:
            result = Result(Outcome.permanent, "the user has no email address")
        else:
            result = provider.send(Message(idempotency_key=note["idempotency_key"], to=address,
                                           subject=note["subject"], body=note["body"], data={},
                                           created_at=note["created_at"]))
        results.append((note, result))
    _record(ec, results, ec.clock.now())
    return len(claimed)


def _provider(ec: EngineContext) -> EmailProvider | None:
    smtp_url = getattr(ec.settings, "smtp_url", None)
    if not smtp_url:
        return None
    return EmailProvider(smtp_url, getattr(ec.settings, "smtp_from", None) or "tocsin@localhost")


def _claim(ec: EngineContext) -> list[tuple[dict, str | None]]:
    now = ec.now
    with ec.db.unit_of_work() as s:
        rows = s.execute(
            sa.select(Notification, User.email).join(User, User.id == Notification.user_id)
            .where(Notification.status.in_(("queued", "sending")), Notification.send_after <= now)
            .order_by(Notification.send_after, Notification.id).limit(BATCH)
            .with_for_update(skip_locked=True, of=Notification)).all()
        out = []
        for note, email in rows:
            note.status, note.attempts, note.send_after = "sending", note.attempts + 1, now + CLAIM
            out.append(({"id": note.id, "attempts": note.attempts, "idempotency_key": note.idempotency_key,
                         "subject": note.subject, "body": note.body, "created_at": note.created_at}, email))
        return out


def _record(ec: EngineContext, results: list[tuple[dict, Result]], now: datetime) -> None:
    with ec.db.unit_of_work() as s:
        for note, result in results:
            row = s.get(Notification, note["id"], with_for_update=True)
            if row is None or row.status != "sending" or row.attempts != note["attempts"]:
                continue  # the claim expired and another tick took it over
            if result.outcome is Outcome.delivered:
                row.status, row.sent_at, row.last_error = "sent", now, None
            elif result.outcome is Outcome.retryable and row.attempts < MAX_ATTEMPTS:
                row.status, row.send_after, row.last_error = "queued", now + backoff(row.attempts), result.detail
            else:
                row.status, row.last_error = "failed", result.detail

"""Status page subscribers: email (double opt-in) and webhooks, and queueing what they are sent.

Tokens never sit in the database in plain text:

- the confirm token is random (256 bits, url-safe); its SHA-256 is stored and the plain token
  travels only in the queued confirmation message, which the sender wipes once it is sent;
- the unsubscribe token is derived, HMAC-SHA256(server key, subscriber id), so every message
  can carry the same one-click link without storing it; its SHA-256 is stored for the lookup.
  Rotating the server key therefore invalidates old unsubscribe links (the next message
  carries a working one).

Messages are rows in `status_deliveries` (an outbox) written in the caller's transaction; the
engine's `statuspage_deliver` module sends them after commit, with retries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.db.prune import delete_batch
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.ids import new_id
from tocsin.keys import key_hash
from tocsin.net.guard import Blocked, EgressPolicy
from tocsin.principal import OrgRole, Principal
from tocsin.statuspage.models import (
    StatusComponent,
    StatusIncident,
    StatusPage,
    StatusSubscriber,
    StatusUpdate,
    SubscriberDelivery,
)
from tocsin.statuspage.types import DeliveryKind, SubscriberKind

CONFIRM_TTL = timedelta(days=7)  # a confirmation link works this long after it was sent
# At most this many new, still unconfirmed email subscribers per page per PENDING_WINDOW: the
# public form then refuses (429) until the oldest ages out. Real customers arrive a few at a
# time even during an outage; a script filling the table (and sending confirmation mails to
# strangers) does not, and the per-IP limit in the route cannot see a botnet.
MAX_PENDING_PER_PAGE = 100
PENDING_WINDOW = timedelta(hours=1)
RESEND_AFTER = timedelta(minutes=10)  # asking again sooner sends nothing (no mail bombing)
MAX_EMAIL, MAX_URL = 254, 2000
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


class TooManySubscriptions(Conflict):
    """The page's cap of unconfirmed subscriptions is reached; `retry_after` is in seconds."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


def unsubscribe_token(secret: str, subscriber_id: uuid.UUID) -> str:
    """The subscriber's one-click unsubscribe token (256 bits, url-safe), derived from the server key."""
    digest = hmac.new(secret.encode(), f"statuspage-unsubscribe:{subscriber_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def check_email(address: str) -> str:
    """Return the address (domain lowercased) if it looks deliverable; raise InvalidInput."""
    address = (address or "").strip()
    if len(address) > MAX_EMAIL or not _EMAIL.match(address):
        raise InvalidInput("enter a valid email address such as name@example.com", details={"field": "email"})
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def check_webhook_url(url: str, *, policy: EgressPolicy | None = None) -> str:
    """Return `url` if it can be a webhook destination; raise InvalidInput saying why not.

    Its host is judged by `policy` (`tocsin.net.policy.user_policy(settings)`; the strict
    default when None): a literal address in a refused range, in any spelling, or an
    always-loopback or metadata name is refused here; other names are checked when sent.
    """
    try:
        parts = urlsplit(url or "")
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL \
            or any(c.isspace() for c in url):
        raise InvalidInput(f"url must be an http:// or https:// address of at most {MAX_URL} characters",
                           details={"field": "url"})
    try:
        (policy or EgressPolicy()).check_host(parts.hostname)
    except Blocked as exc:
        raise InvalidInput(f"url is refused by the egress policy: {exc.message} (TOCSIN_OUTBOUND_ALLOW opens "
                           "ranges)", details={"field": "url"}) from None
    return url


def _find(session: Session, page: StatusPage, kind: SubscriberKind, address: str) -> StatusSubscriber | None:
    return session.execute(sa.select(StatusSubscriber).where(
        StatusSubscriber.page_id == page.id, StatusSubscriber.kind == kind.value,
        sa.func.lower(StatusSubscriber.address) == address.lower())).scalar_one_or_none()


def _queue(session: Session, subscriber: StatusSubscriber, kind: DeliveryKind, payload: dict[str, Any],
           now: datetime) -> SubscriberDelivery:
    row = SubscriberDelivery(subscriber_id=subscriber.id, kind=kind.value, payload=payload, attempts=0,
                             next_attempt_at=now, created_at=now)
    session.add(row)
    return row


def _last_confirm(session: Session, subscriber_id: uuid.UUID) -> SubscriberDelivery | None:
    return session.execute(sa.select(SubscriberDelivery).where(
        SubscriberDelivery.subscriber_id == subscriber_id, SubscriberDelivery.kind == DeliveryKind.confirm.value)
        .order_by(SubscriberDelivery.created_at.desc(), SubscriberDelivery.id.desc()).limit(1)).scalar_one_or_none()


def subscribe_email(session: Session, *, now: datetime, page: StatusPage, email: str, secret: str) -> str | None:
    """Ask `email` to confirm a subscription to `page` (double opt-in): queue a confirmation message
    and return its token. Returns None, sending nothing, when the address is already subscribed
    or was sent a confirmation in the last RESEND_AFTER; the caller answers the same either way,
    so the form does not reveal who is subscribed. Raises InvalidInput for a bad address."""
    address = check_email(email)
    subscriber = _find(session, page, SubscriberKind.email, address)
    if subscriber is None:
        _check_pending(session, page, now)
        subscriber = StatusSubscriber(id=new_id(), page_id=page.id, kind=SubscriberKind.email.value,
                                      address=address, created_at=now)
        subscriber.unsubscribe_token_hash = key_hash(unsubscribe_token(secret, subscriber.id))
        session.add(subscriber)
    elif subscriber.confirmed_at is not None and subscriber.unsubscribed_at is None:
        return None
    else:
        last = _last_confirm(session, subscriber.id)
        if last is not None and last.created_at > now - RESEND_AFTER:
            return None
    token = secrets.token_urlsafe(32)
    subscriber.confirm_token_hash = key_hash(token)
    session.flush()
    _queue(session, subscriber, DeliveryKind.confirm, {"type": "confirm", "token": token}, now)
    session.flush()
    return token


def _check_pending(session: Session, page: StatusPage, now: datetime) -> None:
    """Raise TooManySubscriptions when MAX_PENDING_PER_PAGE unconfirmed email subscribers were
    created on the page within PENDING_WINDOW. The page row is locked first (FOR UPDATE; SQLite's one
    writer does the same), so parallel subscriptions count one after another and the cap holds."""
    session.execute(sa.select(StatusPage.id).where(StatusPage.id == page.id).with_for_update())
    since = now - PENDING_WINDOW
    count, oldest = session.execute(sa.select(sa.func.count(), sa.func.min(StatusSubscriber.created_at)).where(
        StatusSubscriber.page_id == page.id, StatusSubscriber.kind == SubscriberKind.email.value,
        StatusSubscriber.confirmed_at.is_(None), StatusSubscriber.created_at > since)).one()
    if count >= MAX_PENDING_PER_PAGE:
        if oldest is not None and oldest.tzinfo is None:  # SQLite aggregates skip the column type
            oldest = datetime.fromisoformat(str(oldest)).replace(tzinfo=now.tzinfo)
        wait = (oldest + PENDING_WINDOW - now).total_seconds() if oldest is not None else 60
        raise TooManySubscriptions("this page has had too many subscription requests in the last hour",
                                   retry_after=max(1, math.ceil(wait)))


def _by_hash(session: Session, column: Any, token: str, page: StatusPage | None) -> StatusSubscriber:
    row = session.execute(sa.select(StatusSubscriber).where(column == key_hash(token or ""))).scalar_one_or_none() \
        if token and len(token) <= 200 else None
    if row is None or (page is not None and row.page_id != page.id):
        raise NotFound("this link is not valid (it may have been used already)")
    return row


def find_by_confirm_token(session: Session, *, now: datetime, token: str,
                          page: StatusPage | None = None) -> StatusSubscriber:
    """The subscriber a confirmation token is for, without confirming (the page with the button).
    Raises NotFound (unknown or used token), InvalidInput (expired)."""
    subscriber = _by_hash(session, StatusSubscriber.confirm_token_hash, token, page)
    last = _last_confirm(session, subscriber.id)
    if last is not None and last.created_at + CONFIRM_TTL < now:
        raise InvalidInput("this confirmation link has expired: subscribe again to get a new one")
    return subscriber


def confirm(session: Session, *, now: datetime, token: str, page: StatusPage | None = None) -> StatusSubscriber:
    """Confirm the subscription the token was sent for; the token then stops working.
    Raises NotFound (unknown or used token), InvalidInput (expired)."""
    subscriber = find_by_confirm_token(session, now=now, token=token, page=page)
    subscriber.confirm_token_hash = None
    subscriber.confirmed_at, subscriber.unsubscribed_at = now, None
    session.flush()
    return subscriber


def find_by_unsubscribe_token(session: Session, *, token: str, page: StatusPage | None = None) -> StatusSubscriber:
    """Raises NotFound."""
    return _by_hash(session, StatusSubscriber.unsubscribe_token_hash, token, page)


def unsubscribe(session: Session, *, now: datetime, token: str, page: StatusPage | None = None) -> StatusSubscriber:
    """Stop all messages to the subscriber (idempotent: a second click changes nothing). Raises NotFound."""
    subscriber = find_by_unsubscribe_token(session, token=token, page=page)
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = now
        session.flush()
    return subscriber


def add_webhook(session: Session, *, actor: Principal, now: datetime, page: StatusPage, url: str,
                secret: str, policy: EgressPolicy | None = None) -> StatusSubscriber:
    """Subscribe a webhook URL (admin); it is active at once. Raises Forbidden, InvalidInput, Conflict.

    `policy` judges the URL's host (see `check_webhook_url`)."""
    actor.require(OrgRole.admin, "adding status page webhooks")
    url = check_webhook_url(url, policy=policy)
    subscriber = _find(session, page, SubscriberKind.webhook, url)
    if subscriber is not None and subscriber.unsubscribed_at is None:
        raise Conflict("this webhook is already subscribed to the page", details={"field": "url"})
    if subscriber is None:
        subscriber = StatusSubscriber(id=new_id(), page_id=page.id, kind=SubscriberKind.webhook.value,
                                      address=url, created_at=now)
        subscriber.unsubscribe_token_hash = key_hash(unsubscribe_token(secret, subscriber.id))
        session.add(subscriber)
    subscriber.confirmed_at, subscriber.unsubscribed_at = now, None
    session.flush()
    record(session, actor=actor, action="statuspage.webhook_add", target_type="status_subscriber",
           target_id=subscriber.id, now=now, details={"page": page.slug, "url": url})
    return subscriber


def require_subscriber(session: Session, page: StatusPage, subscriber_id: uuid.UUID) -> StatusSubscriber:
    row = session.get(StatusSubscriber, subscriber_id)
    if row is None or row.page_id != page.id:
        raise NotFound(f"no subscriber {subscriber_id} on status page {page.slug}")
    return row


def remove_subscriber(session: Session, *, actor: Principal, now: datetime, subscriber: StatusSubscriber) -> None:
    """Unsubscribe anyone (admin); queued messages to them are dropped by the sender."""
    actor.require(OrgRole.admin, "removing status page subscribers")
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = now
    session.flush()
    record(session, actor=actor, action="statuspage.subscriber_remove", target_type="status_subscriber",
           target_id=subscriber.id, now=now, details={"kind": subscriber.kind})


def list_subscribers(session: Session, page: StatusPage) -> list[StatusSubscriber]:
    return list(session.execute(sa.select(StatusSubscriber).where(StatusSubscriber.page_id == page.id)
                                .order_by(StatusSubscriber.created_at, StatusSubscriber.id)).scalars())


def _active(session: Session, page: StatusPage, kinds: tuple[str, ...]) -> list[uuid.UUID]:
    return list(session.execute(sa.select(StatusSubscriber.id).where(
        StatusSubscriber.page_id == page.id, StatusSubscriber.kind.in_(kinds),
        StatusSubscriber.confirmed_at.is_not(None), StatusSubscriber.unsubscribed_at.is_(None))).scalars())


def _queue_all(session: Session, ids: list[uuid.UUID], payload: dict[str, Any], now: datetime) -> int:
    if ids:  # one INSERT for every subscriber: a big page must not mean one round trip per address
        session.execute(sa.insert(SubscriberDelivery), [
            {"id": new_id(), "subscriber_id": sid, "kind": DeliveryKind.update.value, "payload": payload,
             "attempts": 0, "next_attempt_at": now, "created_at": now} for sid in ids])
    return len(ids)


def queue_update(session: Session, *, now: datetime, page: StatusPage, status_incident: StatusIncident,
                 update: StatusUpdate) -> int:
    """Queue `update` for every confirmed subscriber of `page`; return how many."""
    payload = {"type": "incident_update", "status_incident_id": str(status_incident.id), "update_id": str(update.id)}
    return _queue_all(session, _active(session, page, (SubscriberKind.email.value, SubscriberKind.webhook.value)),
                      payload, now)


def queue_component_update(session: Session, *, now: datetime, page: StatusPage, component: StatusComponent,
                           old_status: str) -> int:
    """Queue a component status change for the page's webhooks (emails are about incidents only)."""
    payload = {"type": "component_update", "component_id": str(component.id), "old_status": old_status,
               "new_status": component.status, "at": now.isoformat()}
    return _queue_all(session, _active(session, page, (SubscriberKind.webhook.value,)), payload, now)


def prune_deliveries(session: Session, *, before: datetime, limit: int) -> int:
    """Retention: delete up to `limit` deliveries created before `before` that were sent or gave up;
    one still waiting to be sent (or retried) is never deleted. Return how many went."""
    return delete_batch(session, SubscriberDelivery, SubscriberDelivery.created_at < before,
                        sa.or_(SubscriberDelivery.sent_at.is_not(None), SubscriberDelivery.failed_at.is_not(None)),
                        oldest_first=SubscriberDelivery.created_at, limit=limit)

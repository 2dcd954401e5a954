"""Send the status page outbox (`status_deliveries`): confirmation and update emails, webhook POSTs.

Runs on the one delivery machinery (`tocsin/delivery.py`), like pages and tracker sync: claim due
rows in one short transaction (SKIP LOCKED on PostgreSQL; the lease pushes `next_attempt_at` out
and counts the attempt), compose in the claim (a row that cannot be composed is dropped with the
reason) and send outside any transaction, then record the result only if the row is still this
claim's. Retryable failures back off (`jobs.backoff`) up to MAX_ATTEMPTS, then the row is failed
with the reason. A confirmation's plain token is wiped from the row once it leaves the queue.

Emails are plain text through the project's SMTP sender, with `List-Unsubscribe` and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058). Webhooks are POSTed through
the engine's one guarded HTTP client, signed like every tocsin webhook (X-Tocsin-Signature
over the timestamp and body, secret derived from the server key and the subscriber id); the
JSON follows Statuspage's webhook shape: `{"meta", "page", "incident"}` or
`{"meta", "page", "component_update", "component"}` (docs/status-pages.md).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.config import Settings
from tocsin.delivery import MAX_ATTEMPTS as MAX_ATTEMPTS  # the tests' limit, the machinery's
from tocsin.delivery import Claim, Outbox
from tocsin.delivery import run as _run
from tocsin.jobs import JobContext, dispatcher
from tocsin.notify.dispatch import webhook_secret
from tocsin.notify.email import EmailProvider
from tocsin.notify.types import Message, Outcome, Result
from tocsin.notify.webhook import post_json
from tocsin.statuspage.models import (
    StatusComponent,
    StatusIncident,
    StatusPage,
    StatusSubscriber,
    StatusUpdate,
    SubscriberDelivery,
)
from tocsin.statuspage.render import rollup_of
from tocsin.statuspage.subscribers import unsubscribe_token
from tocsin.statuspage.types import (
    MAINTENANCE_ACTIVE,
    UNRESOLVED,
    StatusIncidentKind,
    SubscriberKind,
)

log = logging.getLogger("tocsin.statuspage.deliver")

BATCH = 100


class ListEmail(EmailProvider):
    """The SMTP sender, adding the headers in `message.data["headers"]` (List-Unsubscribe...)."""

    def build(self, message: Message) -> Any:
        email = super().build(message)
        for name, value in (message.data.get("headers") or {}).items():
            email[name] = value
        return email


@dataclass
class Send:
    id: uuid.UUID
    attempts: int
    kind: str  # email | webhook | drop (nothing to send; `detail` says why)
    message: Message | None
    secret: str = ""  # a webhook's signing secret
    detail: str = ""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") if value else None


def page_json(s: Session, page: StatusPage, components: list[StatusComponent], base: str) -> dict[str, Any]:
    """The page object with `status_indicator`/`status_description` computed exactly as the
    page's status.json computes them (render.rollup_of), incident impacts and maintenances included."""
    open_impacts = list(s.execute(sa.select(StatusIncident.impact).where(
        StatusIncident.page_id == page.id, StatusIncident.kind == StatusIncidentKind.incident.value,
        StatusIncident.status.in_(UNRESOLVED))).scalars())
    maintenance_active = s.execute(sa.select(sa.func.count()).select_from(StatusIncident).where(
        StatusIncident.page_id == page.id, StatusIncident.kind == StatusIncidentKind.maintenance.value,
        StatusIncident.status.in_(MAINTENANCE_ACTIVE))).scalar_one() > 0
    indicator, description = rollup_of([c.status for c in components if not c.is_group], open_impacts,
                                       maintenance_active)
    return {"id": str(page.id), "name": page.name, "url": page.public_url or f"{base}/status/{page.slug}",
            "status_indicator": indicator, "status_description": description}


def component_json(c: StatusComponent) -> dict[str, Any]:
    return {"id": str(c.id), "name": c.name, "status": c.status, "created_at": _iso(c.created_at),
            "updated_at": _iso(c.updated_at), "position": c.position, "description": c.description or None,
            "group_id": str(c.group_id) if c.group_id else None, "page_id": str(c.page_id), "group": c.is_group,
            "only_show_if_degraded": c.only_show_if_degraded}


def incident_json(si: StatusIncident, update: StatusUpdate, components: list[StatusComponent]) -> dict[str, Any]:
    """The Statuspage incident object, with the one update this message is about as `incident_updates`."""
    out = {"id": str(si.id), "name": si.name, "status": si.status, "impact": si.impact,
           "created_at": _iso(si.created_at), "updated_at": _iso(si.updated_at), "started_at": _iso(si.started_at),
           "monitoring_at": _iso(si.monitoring_at), "resolved_at": _iso(si.resolved_at), "page_id": str(si.page_id),
           "incident_updates": [{
               "id": str(update.id), "status": update.status, "body": update.body, "incident_id": str(si.id),
               "created_at": _iso(update.created_at), "updated_at": _iso(update.created_at),
               "display_at": _iso(update.display_at), "affected_components": update.affected_components,
               "deliver_notifications": update.deliver_notifications}],
           "components": [component_json(c) for c in components]}
    if si.kind == "maintenance":
        out["scheduled_for"], out["scheduled_until"] = _iso(si.scheduled_for), _iso(si.scheduled_until)
    return out


def _status_words(status: str) -> str:
    return status.replace("_", " ").capitalize()


class _Batch:
    """What one claim batch loads once however many rows share it: a page's components and page
    object, incidents and updates by id (rows of one update to N subscribers cost no N queries)."""

    def __init__(self, s: Session, base: str) -> None:
        self.s, self.base = s, base
        self._components: dict[uuid.UUID, list[StatusComponent]] = {}
        self._pages: dict[uuid.UUID, dict[str, Any]] = {}
        self._objects: dict[tuple[type, uuid.UUID], Any] = {}

    def components(self, page: StatusPage) -> list[StatusComponent]:
        if page.id not in self._components:
            self._components[page.id] = list(self.s.execute(
                sa.select(StatusComponent).where(StatusComponent.page_id == page.id)
                .order_by(StatusComponent.position, StatusComponent.id)).scalars())
        return self._components[page.id]

    def page_json(self, page: StatusPage) -> dict[str, Any]:
        if page.id not in self._pages:
            self._pages[page.id] = page_json(self.s, page, self.components(page), self.base)
        return dict(self._pages[page.id])  # each message its own (shallow) copy

    def get(self, model: type, id: uuid.UUID) -> Any:
        if (model, id) not in self._objects:
            self._objects[(model, id)] = self.s.get(model, id)
        return self._objects[(model, id)]


def _compose(s: Session, row: SubscriberDelivery, sub: StatusSubscriber, page: StatusPage, base: str,
             secret: str, batch: _Batch | None = None) -> Send:
    batch = batch or _Batch(s, base)
    unsub = f"{base}/status/{page.slug}/unsubscribe/{unsubscribe_token(secret, sub.id)}"
    page_url = page.public_url or f"{base}/status/{page.slug}"
    payload, key = row.payload or {}, f"statuspage:{row.id}"
    headers = {"List-Unsubscribe": f"<{unsub}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    if payload.get("type") == "confirm":
        if sub.kind != SubscriberKind.email.value or not payload.get("token"):
            return Send(row.id, row.attempts, "drop", None, detail="not sent: nothing to confirm")
        link = f"{base}/status/{page.slug}/confirm/{payload['token']}"
        body = (f"Someone (hopefully you) asked to get updates from {page.name} at this address.\n\n"
                f"Confirm the subscription:\n{link}\n\n"
                "If it was not you, ignore this message: nothing is sent until you confirm.\n")
        msg = Message(key, sub.address, f"Confirm your subscription to {page.name}", body, {}, row.created_at)
        return Send(row.id, row.attempts, "email", msg)
    components = batch.components(page)
    meta = {"unsubscribe": unsub, "documentation": "docs/status-pages.md#webhook-payloads",
            "generated_at": _iso(row.created_at)}
    if payload.get("type") == "component_update":
        comp = next((c for c in components if str(c.id) == payload.get("component_id")), None)
        if comp is None:
            return Send(row.id, row.attempts, "drop", None, detail="not sent: the component was deleted")
        data = {"meta": meta, "page": batch.page_json(page),
                "component_update": {"created_at": payload.get("at"), "new_status": payload.get("new_status"),
                                     "old_status": payload.get("old_status"), "component_id": str(comp.id)},
                "component": component_json(comp)}
        return Send(row.id, row.attempts, "webhook", Message(key, sub.address, "", "", data, row.created_at),
                    secret=webhook_secret(secret, sub.id))
    si = batch.get(StatusIncident, uuid.UUID(payload.get("status_incident_id", str(uuid.UUID(int=0)))))
    update = batch.get(StatusUpdate, uuid.UUID(payload.get("update_id", str(uuid.UUID(int=0)))))
    if si is None or update is None:
        return Send(row.id, row.attempts, "drop", None, detail="not sent: the incident was deleted")
    affected = set()
    for a in update.affected_components or []:
        affected.add(a.get("code"))
    linked = [c for c in components if str(c.id) in affected]
    if sub.kind == SubscriberKind.webhook.value:
        data = {"meta": meta, "page": batch.page_json(page), "incident": incident_json(si, update, linked)}
        return Send(row.id, row.attempts, "webhook", Message(key, sub.address, "", "", data, row.created_at),
                    secret=webhook_secret(secret, sub.id))
    lines = [f"{si.name}", f"{_status_words(update.status)}: {update.body}", ""]
    for a in update.affected_components or []:
        if a.get("old_status") != a.get("new_status"):
            lines.append(f"{a.get('name')}: {_status_words(a.get('new_status', ''))}")
    if si.kind == "maintenance" and si.scheduled_for and si.scheduled_until:
        lines.append(f"Scheduled: {si.scheduled_for:%Y-%m-%d %H:%M} to {si.scheduled_until:%Y-%m-%d %H:%M} UTC")
    lines += ["", f"Details: {page_url}/incidents/{si.id}", "", f"Unsubscribe: {unsub}"]
    subject = f"[{page.name}] {si.name}: {_status_words(update.status)}"
    return Send(row.id, row.attempts, "email",
                Message(key, sub.address, subject, "\n".join(lines) + "\n", {"headers": headers}, row.created_at))


def _due(s: Session, now: datetime) -> list[SubscriberDelivery]:
    return list(s.execute(
        sa.select(SubscriberDelivery).where(SubscriberDelivery.sent_at.is_(None), SubscriberDelivery.failed_at.is_(None),
                                            SubscriberDelivery.next_attempt_at <= now)
        .order_by(SubscriberDelivery.next_attempt_at, SubscriberDelivery.id).limit(BATCH)
        .with_for_update(skip_locked=True)).scalars())


def _shape(s: Session, rows: list[SubscriberDelivery], *, base: str, secret: str) -> list[Send]:
    """Compose what each row sends (one `Send` per row, in order)."""
    subs = {x.id: x for x in s.execute(sa.select(StatusSubscriber).where(
        StatusSubscriber.id.in_({r.subscriber_id for r in rows}))).scalars()} if rows else {}
    pages = {p.id: p for p in s.execute(sa.select(StatusPage).where(
        StatusPage.id.in_({x.page_id for x in subs.values()}))).scalars()} if subs else {}
    out, batch = [], _Batch(s, base)
    for r in rows:
        sub = subs.get(r.subscriber_id)
        if sub is None or (sub.unsubscribed_at is not None and r.kind != "confirm"):
            out.append(Send(r.id, r.attempts, "drop", None, detail="not sent: unsubscribed"))
            continue
        try:
            out.append(_compose(s, r, sub, pages[sub.page_id], base, secret, batch))
        except Exception as exc:  # a broken row must not stop the batch
            log.exception("composing status page delivery %s failed", r.id)
            out.append(Send(r.id, r.attempts, "drop", None, detail=f"not sent: {type(exc).__name__}: {exc}"[:500]))
    return out


def claim(s: Session, *, now: datetime, base: str, secret: str) -> list[Send]:
    """The due rows (bounded, SKIP LOCKED), composed: what each would send (nothing is leased)."""
    return _shape(s, _due(s, now), base=base, secret=secret)


def post_webhook(client: httpx.Client, message: Message, secret: str, now: datetime) -> Result:
    """POST `message.data` as JSON, signed, exactly as every tocsin webhook (`notify.webhook.post_json`):
    delivered on 2xx, retryable on 408/425/429/5xx and network errors, permanent otherwise (and when
    the egress guard refuses the address, or the payload cannot be encoded)."""
    return post_json(client, message.to, message.idempotency_key, message.data, secret, now=now)


def send(send: Send, *, email: EmailProvider | Result, client: Any, now: datetime) -> Result:
    """Send one composed message; never raises."""
    if send.kind == "drop" or send.message is None:
        return Result(Outcome.permanent, send.detail or "not sent")
    try:
        if send.kind == "webhook":
            return post_webhook(client, send.message, send.secret, now)
        if isinstance(email, Result):
            return email
        return email.send(send.message)
    except Exception as exc:  # a sender bug must not take the engine down; retry it
        log.exception("status page delivery %s failed", send.id)
        return Result(Outcome.retryable, f"{type(exc).__name__}: {exc}"[:500])


class Subscribers(Outbox[SubscriberDelivery, Send]):
    """The `status_deliveries` outbox: confirmation requests and updates, by email and webhook."""

    name = "status subscribers"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def due(self, s: Session, now: datetime) -> list[SubscriberDelivery]:
        return _due(s, now)

    def row_id(self, row: SubscriberDelivery) -> uuid.UUID:
        return row.id

    def attempts(self, row: SubscriberDelivery) -> int:
        return row.attempts

    def claimed(self, row: SubscriberDelivery) -> bool:
        return row.sent_at is None and row.failed_at is None

    def lease_row(self, row: SubscriberDelivery, until: datetime) -> None:
        row.attempts, row.next_attempt_at = row.attempts + 1, until

    def shape(self, s: Session, rows: list[SubscriberDelivery],
              now: datetime) -> list[tuple[SubscriberDelivery, Send]]:
        settings = self._settings
        sends = _shape(s, rows, base=settings.resolved_public_url(), secret=settings.resolved_secret_key())
        return list(zip(rows, sends, strict=True))

    def sender(self, ec: JobContext) -> Callable[[Send], Result]:
        email = ec.shared.get("statuspage_email")
        if not isinstance(email, (EmailProvider, Result)):
            email = ec.shared["statuspage_email"] = ListEmail(ec.settings.smtp_url, ec.settings.smtp_from) \
                if ec.settings.smtp_url else \
                Result(Outcome.permanent, "no email server configured (set TOCSIN_SMTP_URL)")
        client = dispatcher(ec).client()
        clock = ec.clock
        return lambda item: send(item, email=email, client=client, now=clock.now())

    def lock(self, s: Session, claims: Sequence[Claim[Send]]) -> dict[uuid.UUID, SubscriberDelivery]:
        return {r.id: r for r in s.execute(sa.select(SubscriberDelivery).where(
            SubscriberDelivery.id.in_([c.id for c in claims])).order_by(SubscriberDelivery.id)
            .with_for_update()).scalars()}

    def sent(self, s: Session, row: SubscriberDelivery, claim: Claim[Send], result: Result, now: datetime) -> None:
        row.sent_at, row.last_error = now, None
        _spent(row)

    def retry(self, s: Session, row: SubscriberDelivery, claim: Claim[Send], detail: str, at: datetime) -> None:
        row.next_attempt_at, row.last_error = at, detail

    def failed(self, s: Session, row: SubscriberDelivery, why: str, now: datetime) -> None:
        row.failed_at, row.last_error = now, why
        _spent(row)

    def next_due(self, s: Session) -> datetime | None:
        return s.execute(sa.select(sa.func.min(SubscriberDelivery.next_attempt_at)).where(
            SubscriberDelivery.sent_at.is_(None), SubscriberDelivery.failed_at.is_(None))).scalar()


def _spent(row: SubscriberDelivery) -> None:
    if row.kind == "confirm":  # the plain token has done its job
        row.payload = {"type": "confirm"}


def run(ec: JobContext) -> int:
    """The engine job: send due subscriber messages (confirmations, updates; email and webhooks) through
    the engine's one guarded HTTP client and sending pool; return how many were handled."""
    return _run(ec, Subscribers(ec.settings)).claimed

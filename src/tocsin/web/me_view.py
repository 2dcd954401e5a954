"""What /me shows about being paged: contact methods with their verification state, the
notification rules and the sentence they add up to, the "you cannot be paged" warning, the pages
sent to the person (incidents named only when they may see them) and their open action items."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.actions import service as actions
from tocsin.actions.types import ActionStatus
from tocsin.contacts import service as contacts
from tocsin.contacts.models import ContactMethod, NotificationRule
from tocsin.escalation.service import notifications_to
from tocsin.http.present import visible_refs
from tocsin.notify import push_subscription
from tocsin.users.models import User
from tocsin.web.auth import WebCtx
from tocsin.web.reachable import paging_gap

CHANNEL_WORDS = {"email": "email", "sms": "SMS", "voice": "call", "webhook": "webhook", "slack": "Slack",
                 "mattermost": "Mattermost", "teams": "Teams", "apprise": "Apprise"}
PAGES_SHOWN = 20
ITEMS_SHOWN = 10


def when_words(delay: int) -> str:
    return "at once" if delay == 0 else f"after {delay} min"


def rule_sentence(rules: list[NotificationRule], methods: dict[uuid.UUID, ContactMethod], urgency: str) -> str:
    """'SMS at once, call after 5 min' for the rules that page at this urgency (verified methods only)."""
    parts = []
    for rule in rules:
        method = methods.get(rule.contact_method_id)
        if method is None or method.verified_at is None or rule.urgency not in ("any", urgency):
            continue
        parts.append(f"{CHANNEL_WORDS.get(method.type, method.type)} {when_words(rule.delay_minutes)}")
    return ", ".join(parts)


def shown_address(m: ContactMethod) -> str:
    """The address as /me lists it: a push subscription by its push service (its address carries its keys)."""
    return push_subscription.shown(m.address) if m.type == "push" else m.address


def _method_row(m: ContactMethod, now: datetime) -> dict[str, Any]:
    pending = bool(m.verified_at is None and m.verify_hash and m.verify_expires_at and m.verify_expires_at > now
                   and m.verify_attempts < contacts.CODE_ATTEMPTS)
    return {"id": m.id, "type": m.type, "channel": CHANNEL_WORDS.get(m.type, m.type), "address": shown_address(m),
            "label": m.label, "verified": m.verified_at is not None, "pending": pending,
            "expires_at": m.verify_expires_at if pending else None}


def _pages(s: Session, ctx: WebCtx, user: User) -> list[dict[str, Any]]:
    rows = notifications_to(s, user.id, limit=PAGES_SHOWN)
    refs = visible_refs(s, ctx.principal, (n.incident_id for n in rows))
    out = []
    for n in rows:
        hidden = n.incident_id is not None and n.incident_id not in refs
        out.append({"created_at": n.created_at, "kind": n.kind, "channel": CHANNEL_WORDS.get(n.channel, n.channel),
                    "subject": "(about a restricted incident)" if hidden else n.subject, "status": n.status,
                    "alert_id": n.alert_id if not hidden else None,
                    "incident": refs.get(n.incident_id) if n.incident_id else None})
    return out


def paging_view(s: Session, ctx: WebCtx, user: User) -> dict[str, Any]:
    """The template values of /me's paging sections."""
    methods = contacts.list_methods(s, user.id)
    by_id = {m.id: m for m in methods}
    rules = contacts.list_rules(s, user.id)
    items = actions.list_items(s, principal=ctx.principal, now=ctx.now, limit=ITEMS_SHOWN, flt=actions.ActionFilter(
        status=[ActionStatus.open, ActionStatus.in_progress], owner_id=user.id))
    return {
        "methods": [_method_row(m, ctx.now) for m in methods],
        "verified_methods": [m for m in methods if m.verified_at is not None],
        "rules": [{"id": r.id, "urgency": r.urgency, "when": when_words(r.delay_minutes),
                   "channel": CHANNEL_WORDS.get(by_id[r.contact_method_id].type, "") if r.contact_method_id in by_id
                   else "", "address": shown_address(by_id[r.contact_method_id]) if r.contact_method_id in by_id else "",
                   "verified": r.contact_method_id in by_id and by_id[r.contact_method_id].verified_at is not None}
                  for r in rules],
        "rule_sentences": {u: rule_sentence(rules, by_id, u) for u in ("high", "low")},
        "paging_gap": paging_gap(s, user, ctx.settings),
        "my_pages": _pages(s, ctx, user),
        "my_items": [{"ref": actions.ref(a), "title": a.title, "status": a.status, "due_at": a.due_at,
                      "overdue": bool(a.due_at and a.due_at < ctx.now)} for a in items],
    }

"""The words of a notification, per channel, written when it is sent (not when it is queued), so
signed links and reply codes exist only in the message itself.

One outbox row, or a bundle of rows for one throttled destination, becomes one `Message`:

- email, webhook, Slack, Apprise: the row's subject and body, plus "acknowledge" and "resolve"
  links (signed, one-time; for an incident page, "acknowledge" takes the Incident Commander role,
  and "view" opens the incident in the console, which needs a login and answers only to those
  who may see it);
- Web Push: the row's subject and body; the links travel in `data` and become the notification's
  buttons (`push_subscription.payload`);
- Mattermost: the row's subject and body; the links travel in `data` with the row's
  `notification_id`, and become interactive buttons with a signed context (`notify/mattermost.py`);
- SMS: one short line with a reply code ("Reply 4821 ack / 4821 close");
- voice: the subject, read out.

A page about a drill (an exercise's alert or incident, issue 19) starts with "[DRILL]" on every
channel: the subject, the SMS line, the spoken words.

A single page names the runbooks that apply to it, a line each ("Runbook: <title> <url>"), except
by SMS and voice.

A bundle names how many pages it carries and the first few summaries.

A page for a whole alert group (a service paging per group) leads with how the group stands now,
counted when the message is sent: "checkout: 37 alerts firing, 12 new since the first page".
Its "acknowledge" and "resolve" act on every alert of the group, and "view" lists the group. While
the group holds one alert, its page reads like that alert's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tocsin.notify import links
from tocsin.notify.types import Message

SMS_MAX = 320
DRILL = "[DRILL]"
BUNDLE_LINES = 5


@dataclass(frozen=True)
class GroupPage:
    """How a paged alert group stands when its message is sent."""

    id: Any
    service: str  # the service's slug
    firing: int  # alerts of the group still triggered
    new_since_first_page: int | None  # None: no page for the group has gone out yet (this is the first)
    alerts: int = 2  # every alert the group has held; with one, the page reads as that alert's own

    @property
    def many(self) -> bool:
        return self.alerts > 1


def group_words(g: GroupPage) -> str:
    """"checkout: 37 alerts firing, 12 new since the first page"."""
    words = f"{g.service}: {g.firing} alert{'s' if g.firing != 1 else ''} firing"
    if g.new_since_first_page is not None:
        words += f", {g.new_since_first_page} new since the first page"
    return words


@dataclass(frozen=True)
class Row:
    """What compose needs of one outbox row."""

    id: Any
    idempotency_key: str
    kind: str  # page | incident | responder | verify | test
    subject: str
    body: str
    created_at: datetime
    alert_id: Any = None
    incident_id: Any = None
    reply_code: str | None = None
    group: GroupPage | None = None
    drill: bool = False  # about a drill alert or incident: the message starts with "[DRILL]"
    runbooks: tuple[tuple[str, str], ...] = ()  # (title, console path) of the runbooks that apply


def drilled(text: str) -> str:
    """`text` marked as a drill's (once)."""
    return text if text.startswith(DRILL) else f"{DRILL} {text}"


def _links(rows: Sequence[Row], public_url: str, secret: str, now: datetime) -> dict[str, str]:
    head = rows[0]
    if len(rows) > 1 or head.kind not in ("page", "incident", "responder"):
        return {}
    if head.kind == "responder":  # asked to join an incident: acknowledge (join) or decline; view the room
        return {"ack": f"{public_url}/n/{links.make_token(secret, head.id, 'ack', now)}",
                "decline": f"{public_url}/n/{links.make_token(secret, head.id, 'decline', now)}",
                "view": f"{public_url}/incidents/{head.incident_id}"}
    out = {"ack": f"{public_url}/n/{links.make_token(secret, head.id, 'ack', now)}"}
    if head.kind == "page":
        out["resolve"] = f"{public_url}/n/{links.make_token(secret, head.id, 'resolve', now)}"
        out["view"] = f"{public_url}/api/v1/alerts?group={head.group.id}" if head.group is not None else \
            f"{public_url}/api/v1/alerts/{head.alert_id}"
    elif head.incident_id:  # the console's incident room, behind its login (by id: not even the ref)
        out["view"] = f"{public_url}/incidents/{head.incident_id}"
    return out


def _titled(row: Row) -> str:
    title = f"{group_words(row.group)}: {row.subject}" if row.group is not None and row.group.many else row.subject
    return drilled(title) if row.drill else title


def compose(rows: Sequence[Row], channel: str, *, to: str, public_url: str, secret: str, now: datetime) -> Message:
    """The message carrying these rows (one, or a bundle for one destination) through `channel`."""
    head = rows[0]
    link = _links(rows, public_url, secret, now)
    if len(rows) == 1:
        subject, body = head.subject, head.body
        if head.group is not None and head.group.many:
            subject, body = _titled(head), f"{group_words(head.group)}\n\n{body}"
        elif head.drill:
            subject = drilled(subject)
        if head.runbooks:
            body += "\n\n" + "\n".join(f"Runbook: {title} {public_url}{path}" for title, path in head.runbooks)
    else:
        subject = f"{len(rows)} pages: {_titled(head)}"
        if any(r.drill for r in rows):
            subject = drilled(subject)
        lines = [f"- {_titled(r)}" for r in rows[:BUNDLE_LINES]]
        if len(rows) > BUNDLE_LINES:
            lines.append(f"- ... and {len(rows) - BUNDLE_LINES} more")
        body = (f"{len(rows)} pages for you were held back because this destination reached its rate limit:\n"
                + "\n".join(lines))
    if channel == "sms":
        code = head.reply_code
        reply = ""
        if code and head.kind == "page":
            reply = f" Reply '{code} ack' or '{code} close'" + (
                " (all of them)." if len(rows) > 1 else " (the whole group)." if head.group and head.group.many else ".")
        elif code and head.kind == "incident":
            reply = f" Reply '{code} ack' to take Incident Commander."
        elif code and head.kind == "responder":
            reply = f" Reply '{code} ack' to join."
        drill = subject.startswith(DRILL)
        plain = subject.removeprefix(DRILL).lstrip() if drill else subject
        lead = f"{DRILL} tocsin: " if drill else "tocsin: "
        body = lead + plain[: SMS_MAX - len(reply) - len(lead)] + reply
    elif channel == "voice":
        body = ("This is a drill. " if subject.startswith(DRILL) else "") + f"This is tocsin. {subject}. " + \
               ("Several pages are waiting. " if len(rows) > 1 else "") + "Acknowledge it from your email, SMS or the web."
    elif link and channel not in ("push", "mattermost"):
        shown = ("ack", "resolve", "view") if head.kind == "incident" else \
            ("ack", "decline", "view") if head.kind == "responder" else ("ack", "resolve")
        body += "\n\n" + "\n".join(f"{name.capitalize()}: {url}" for name, url in link.items() if name in shown)
    data: dict[str, Any] = {"kind": head.kind, "subject": subject, "links": link,
                            "alert_ids": [str(r.alert_id) for r in rows if r.alert_id],
                            "incident_id": str(head.incident_id) if head.incident_id else None}
    if len(rows) == 1:  # what a reply in the channel acts on (Mattermost's buttons)
        data["notification_id"] = str(head.id)
    if subject.startswith(DRILL):
        data["drill"] = True
    if head.reply_code:
        data["reply_code"] = head.reply_code
    if head.group is not None:
        data["group"] = {"id": str(head.group.id), "service": head.group.service, "firing": head.group.firing,
                         "new_since_first_page": head.group.new_since_first_page}
    return Message(idempotency_key=head.idempotency_key, to=to, subject=subject, body=body, data=data,
                   created_at=head.created_at)

"""Who may see a contact destination, and the masked form everyone else sees.

A destination (a phone number, an email address, a webhook, Slack, Teams or Apprise URL, a Slack id) is
shown in full only to the person it belongs to and to admins. Everyone else sees a form that still
helps a responder tell the routes apart and no more: the last four digits of a phone number, the
first letter and the domain of an email address, the scheme and host of a webhook, Slack or Teams URL
(never its user, password, path or query, which often carry the credential), only the scheme of an
Apprise URL (whose "host" is often a bot token), the first letter of a Slack id, only whether a Mattermost destination is a person (@…) or a channel.

`scrub` takes a destination's secret-looking parts out of a text (a provider's error, a paging
trail reason) so that text can be shown to anyone. Pure: no database, no network.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qsl, unquote, urlsplit

from tocsin.principal import Principal

HIDDEN = "…"
_MIN_SECRET = 4  # parts of a URL at least this long are taken out of texts shown to others


def may_see(viewer: Principal, owner_id: uuid.UUID | None) -> bool:
    """True if `viewer` may see the destinations of `owner_id`'s contact methods in full."""
    return viewer.is_admin or (viewer.user_id is not None and viewer.user_id == owner_id)


def mask(channel: str, destination: str) -> str:
    """The destination as someone other than its owner or an admin sees it."""
    if not destination:
        return ""
    if channel in ("sms", "voice"):
        digits = re.sub(r"\D", "", destination)
        return f"+{HIDDEN}{digits[-4:]}" if len(digits) > 4 else HIDDEN
    if channel == "email":
        local, at, domain = destination.rpartition("@")
        return f"{local[:1]}{HIDDEN}@{domain}" if at and local else HIDDEN
    if "://" in destination:
        scheme = destination.split("://", 1)[0].lower()
        bare = f"{scheme}://{HIDDEN}" if scheme.isalnum() and len(scheme) <= 20 else HIDDEN
        try:
            parts = urlsplit(destination)
            host, port = parts.hostname or "", parts.port
        except ValueError:
            return bare
        if channel == "apprise" or not host:
            return bare
        return f"{scheme}://{host}{f':{port}' if port else ''}/{HIDDEN}"
    if channel == "slack":
        return f"{destination[:1]}{HIDDEN}"
    if channel == "mattermost":  # "@" says it is a person; the id or name stays hidden
        return f"@{HIDDEN}" if destination.startswith("@") else HIDDEN
    return HIDDEN


def shown(viewer: Principal, owner_id: uuid.UUID | None, channel: str, destination: str) -> str:
    """The destination in full for its owner and admins, masked for everyone else."""
    return destination if may_see(viewer, owner_id) else mask(channel, destination)


# The outbox's idempotency keys end in a short SHA-256 of "channel:destination[:delay]" (after ":"
# or "|fb:"); a phone number is found again from it by trying them all, so others see it masked.
_KEY_TAG = re.compile(r"(?:(?<=:)|(?<=\|fb:))[0-9a-f]{12,16}(?=$|\|)")


def shown_key(viewer: Principal, owner_id: uuid.UUID | None, key: str) -> str:
    """A notification's idempotency key, its destination hash masked unless `viewer` may see the destination."""
    return key if may_see(viewer, owner_id) else _KEY_TAG.sub(HIDDEN, key)


def secrets_of(channel: str, destination: str) -> list[str]:
    """The parts of a destination that must not appear in a text shown to others, longest first."""
    if not destination:
        return []
    found = {destination}
    if channel in ("sms", "voice"):
        digits = re.sub(r"\D", "", destination)
        found |= {digits, destination.lstrip("+")}
    elif channel == "email":
        found.add(destination.rpartition("@")[0])
    elif "://" in destination:
        try:
            parts = urlsplit(destination)
            host = parts.hostname or ""
        except ValueError:
            parts, host = None, ""
        candidates: list[str] = [destination.split("://", 1)[1]]
        if parts is not None:
            userinfo = parts.netloc.rpartition("@")[0]
            candidates += [userinfo, *userinfo.split(":", 1), parts.path, parts.query, parts.fragment,
                           *parts.path.split("/"), *(v for _, v in parse_qsl(parts.query, keep_blank_values=True))]
            if channel == "apprise":
                candidates.append(parts.netloc)
                candidates += re.split(r"[:@]", parts.netloc)
        found |= {c for raw in candidates for c in (raw, unquote(raw)) if len(c) >= _MIN_SECRET and c != host}
    else:
        found.add(destination)
    return sorted((f for f in found if f), key=len, reverse=True)


def scrub(text: str | None, channel: str, destination: str) -> str | None:
    """`text` with the destination, and each of its secret-looking parts, replaced by its masked form."""
    if not text:
        return text
    masked = mask(channel, destination)
    if destination in text:
        text = text.replace(destination, masked)
    for secret in secrets_of(channel, destination):
        text = text.replace(secret, HIDDEN)
    return text


def shown_text(viewer: Principal, owner_id: uuid.UUID | None, text: str | None, channel: str,
               destination: str) -> str | None:
    """A text about a send (its error) as `viewer` may see it: scrubbed unless they may see the destination."""
    return text if may_see(viewer, owner_id) else scrub(text, channel, destination)

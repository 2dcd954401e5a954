"""What chat-ops says, as pure functions: an incident channel's name, its topic, the line each timeline
entry becomes, a burst of lines merged into one message, and the update-cadence reminder.

Which timeline entries reach a channel (`POSTED`): the declaration, status, severity and role changes,
notes marked as updates (`key_event`), public status page updates, paging and responders. Plain notes
stay on the timeline only: most are typed in the channel in the first place (a captured message), and
the rest are the scribe's working notes. A note captured from a chat platform (its `data` names the
platform: `{"captured": {"platform": ...}}` as `timeline.capture_note` writes, `{"chat": {"platform": ...}}`
or `{"platform": ...}`) is never posted back to that platform.
Field changes (impact, services, visibility...) are left out: the topic and the room carry them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

SLACK_NAME = 80  # Slack's channel name limit
MATTERMOST_NAME = 64  # Mattermost's
NAME_LIMITS = {"slack": SLACK_NAME, "mattermost": MATTERMOST_NAME}
TOPIC_CHARS = 250  # Slack's topic limit
MESSAGE_CHARS = 3_900  # one chat message: Slack truncates `text` past 40k, but a screenful reads better
ICONS = {"declared": "🚨", "status_changed": "🔄", "severity_changed": "📶", "role_assigned": "👤",
         "role_unassigned": "👤", "note": "📣", "status_page": "🌐", "paging": "📟", "responders": "🙋"}
POSTED = frozenset(ICONS)
STATUS_WORDS = {"triage": "Triage", "investigating": "Investigating", "identified": "Identified",
                "mitigated": "Mitigated", "monitoring": "Monitoring", "resolved": "Resolved",
                "postmortem": "Postmortem", "closed": "Closed", "declined": "Declined"}

_MARKDOWN = re.compile(r"([\\`*_\[\]<>#~|])")  # Mattermost's markdown
_MENTION = re.compile(r"(^|[^\w])([@~])(?=\w)")  # @channel, @someone, ~channel
_NOT_NAME = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")


def escape(text: str, platform: str) -> str:
    """Words people wrote, safe in a message of `platform`: Slack's mrkdwn control characters escaped
    (so a note cannot forge a link or a <!channel>); Mattermost's markdown escaped and its @-mentions
    and ~channel links defused (a zero-width space after the sign). Teams cards escape their own."""
    if platform == "slack":
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if platform == "mattermost":
        return _MENTION.sub(lambda m: f"{m.group(1)}{m.group(2)}\u200b", _MARKDOWN.sub(r"\\\1", text))
    return text


def slugify(text: str) -> str:
    """Lowercase a-z, 0-9 and single dashes: "Checkout 5xx errors!" -> "checkout-5xx-errors"."""
    return _DASHES.sub("-", _NOT_NAME.sub("-", text.lower())).strip("-")


def channel_name(pattern: str, *, number: int, title: str, severity: str, date: datetime, restricted: bool,
                 limit: int = SLACK_NAME, drill: bool = False) -> str:
    """The channel name from `pattern` ({number}, {slug}, {severity}, {date}), at most `limit` characters,
    the slug cut to fit. A restricted incident's name never carries its title ({slug} is dropped). A
    drill's (an exercise's incident) starts with "drill-"."""
    if drill:
        pattern = "drill-" + pattern
    values = {"number": str(number), "severity": severity.lower(), "date": date.strftime("%Y%m%d"), "slug": ""}
    fixed = slugify(_fill(pattern, values))
    room = max(limit - len(fixed), 0)
    slug = "" if restricted else slugify(title)[:room].strip("-")
    values["slug"] = slug
    name = slugify(_fill(pattern, values))[:limit].strip("-")
    return name or f"{'drill-' if drill else ''}inc-{number}"


def _fill(pattern: str, values: Mapping[str, str]) -> str:
    return re.sub(r"\{(number|slug|severity|date)\}", lambda m: values[m.group(1)], pattern)


def with_suffix(name: str, n: int, limit: int) -> str:
    """`name` with "-n" (a taken name's next try), still within `limit`."""
    tail = f"-{n}"
    return name[:limit - len(tail)].rstrip("-") + tail


def topic(*, severity: str, status: str, commander: str | None, url: str, platform: str = "slack") -> str:
    """"SEV2 · Investigating · IC: Alice · <room url>" (never the title), at most TOPIC_CHARS."""
    ic = escape(commander, platform) if commander else "none yet"
    parts = [severity, STATUS_WORDS.get(status, status.capitalize()), f"IC: {ic}", url]
    text = " · ".join(parts)
    return text if len(text) <= TOPIC_CHARS else " · ".join(parts[:3])[:TOPIC_CHARS]


def _chat_platform(data: Mapping[str, Any]) -> str | None:
    for key in ("captured", "chat"):  # a captured message (timeline.capture_note), a note from a command
        chat = data.get(key)
        if isinstance(chat, Mapping) and isinstance(chat.get("platform"), str):
            return str(chat["platform"])
    platform = data.get("platform")
    return platform if isinstance(platform, str) else None


def entry_line(*, kind: str, text: str, data: Mapping[str, Any], key_event: bool, platform: str,
               when: datetime) -> str | None:
    """The line a timeline entry becomes in a channel of `platform`, or None when it is not posted."""
    if kind not in POSTED:
        return None
    if kind == "note" and (not key_event or _chat_platform(data) == platform):
        return None
    words = " ".join(text.split())
    if len(words) > 600:
        words = words[:599] + "…"
    words = escape(words, platform)
    prefix = "Update: " if kind == "note" else ""
    return f"{ICONS[kind]} {when:%H:%M} {prefix}{words}"


def merge(lines: list[str], *, limit: int = MESSAGE_CHARS) -> str:
    """A burst of lines as one message; past `limit`, the last lines are counted instead of shown."""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        rest = len(lines) - i - 1
        room_for_tail = len(f"… and {rest} more on the timeline") + 1 if rest else 0
        if used + len(line) + 1 + room_for_tail > limit:
            out.append(f"… and {rest + 1} more on the timeline")
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


def summary(*, ref: str, title: str | None, severity: str, status: str, commander: str | None, url: str,
            platform: str = "slack") -> str:
    """The first message in a new channel (the declaration). `title` is None where it must not be said."""
    head = f"🚨 {ref} · {severity}" + (f": {escape(title, platform)}" if title else "")
    ic = escape(commander, platform) if commander else "none yet"
    return "\n".join([head, f"Status: {STATUS_WORDS.get(status, status)} · IC: {ic}",
                      f"Incident room: {url}", "Everything posted here as an update lands on the tocsin timeline."])


def reminder(*, ref: str, severity: str, target: str, last_update: datetime, now: datetime) -> str:
    """The update-cadence reminder: an update is due (`target` says how often, e.g. "every 1 h")."""
    minutes = max(int((now - last_update).total_seconds() // 60), 0)
    ago = f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"
    return (f"⏰ An update on {ref} is due: {severity} incidents are updated {target}, the last update was "
            f"{ago} ago. Post one with the update command (or mark a note as an update in the room).")

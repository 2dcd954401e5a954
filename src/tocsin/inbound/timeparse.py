"""Parse the timestamps monitoring tools put in alert payloads into aware UTC datetimes.

Senders disagree on the details of ISO 8601 / RFC 3339: Go emits up to nine fractional
digits (`2024-05-01T12:00:00.123456789Z`), PagerDuty's own docs use an offset without a
colon (`2015-07-17T08:42:58.315+0000`), and Alertmanager marks "no end time" with Go's zero
time `0001-01-01T00:00:00Z`. One explicit grammar here, rather than `fromisoformat`, keeps
what we accept the same on every Python version and free of ISO forms nobody sends
(week dates, ordinal dates, basic format without dashes).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_ISO_RE = re.compile(
    r"""
    (?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})
    (?:
        [Tt\ ]
        (?P<hour>\d{2}):(?P<minute>\d{2})
        (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?
    )?
    (?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)?
    """,
    re.VERBOSE | re.ASCII,
)

_GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
_MAX_TEXT = 64  # longest legitimate form is ~35 characters; refuse anything absurd early


def parse_timestamp(text: str) -> datetime | None:
    """Return `text` as an aware UTC datetime, or None for Go's zero time.

    Accepts `YYYY-MM-DD`, optionally followed by `THH:MM[:SS[.fraction]]` (a space or a
    lowercase `t` also separates), with zone `Z`, `+HH:MM`, `+HHMM` or `+HH`. A timestamp
    without a zone is taken as UTC. Fractions longer than microseconds are truncated, not
    rounded, so a value never moves into the next second. Raises ValueError for anything
    else, including non-strings and impossible dates.
    """
    if not isinstance(text, str):
        # ValueError, not TypeError: callers treat any unusable timestamp the same way.
        raise ValueError(f"timestamp must be a string, not {type(text).__name__}")  # noqa: TRY004
    stripped = text.strip()
    if len(stripped) > _MAX_TEXT:
        raise ValueError("timestamp is too long")
    match = _ISO_RE.fullmatch(stripped)
    if match is None:
        raise ValueError(f"not an ISO 8601 timestamp: {stripped[:40]!r}")
    parts = match.groupdict()
    fraction = (parts["fraction"] or "").ljust(6, "0")[:6]
    second = int(parts["second"] or 0)
    # A leap second (":60") is legal RFC 3339 but not a Python datetime; keep it in its minute.
    second = min(second, 59)
    try:
        parsed = datetime(
            int(parts["year"]), int(parts["month"]), int(parts["day"]),
            int(parts["hour"] or 0), int(parts["minute"] or 0), second, int(fraction),
            tzinfo=_zone(parts["zone"]),
        )
        result = parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        # OverflowError: year 1 or 9999 pushed out of range by its offset.
        raise ValueError(f"not a valid timestamp: {stripped[:40]!r} ({exc})") from None
    return None if result == _GO_ZERO_TIME else result


def _zone(text: str | None) -> timezone:
    """Return the fixed offset a zone suffix names; raise ValueError if out of range."""
    if text is None or text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"time zone offset out of range: {text}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))

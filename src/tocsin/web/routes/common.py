"""Small helpers the console pages share: redirects with a flash message, form value parsing.

Form values arrive as untrusted text; these turn them into typed values or raise
InvalidInput, which the console's error handler shows as a readable page (never a 500).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from fastapi.responses import RedirectResponse

from tocsin.errors import InvalidInput, NotFound
from tocsin.localtime import resolve_wall, zone
from tocsin.web.render import FLASH_COOKIE, secure


def redirect(path: str, flash: str | None = None) -> RedirectResponse:
    """303 to a local path (POST-redirect-GET), optionally with a one-time message for the next page."""
    response = secure(RedirectResponse(path, status_code=303))
    if flash:
        response.set_cookie(FLASH_COOKIE, quote(flash[:300]), max_age=120, path="/", httponly=True, samesite="lax")
    return response


def parse_uuid(value: str | None, what: str) -> uuid.UUID:
    """A path or form id; NotFound for anything that is not one (an id nobody has is the same answer)."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise NotFound(f"no {what} {str(value)[:80]!r}") from None


def field(form: dict[str, str], name: str, *, required: bool = True, max_len: int = 2000) -> str:
    value = form.get(name, "").strip()
    if required and not value:
        raise InvalidInput(f"{name.replace('_', ' ')} is required", details={"field": name})
    if len(value) > max_len:
        raise InvalidInput(f"{name.replace('_', ' ')} must have at most {max_len} characters", details={"field": name})
    return value


def parse_local(value: str, time_zone: str, name: str) -> datetime:
    """A `datetime-local` value (2026-01-05T09:30) in the viewer's time zone -> aware UTC."""
    text = value.strip()
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name.replace('_', ' ')}: {text[:40]!r} is not a date and time such as "
                           "2026-01-05T09:30", details={"field": name}) from None
    if not 1970 <= naive.year <= 2200:
        raise InvalidInput(f"{name.replace('_', ' ')}: the year must be between 1970 and 2200",
                           details={"field": name})
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    try:
        tz = zone(time_zone or "UTC")
    except ValueError:
        tz = zone("UTC")
    return resolve_wall(naive.replace(microsecond=0), tz)


def parse_minutes(value: str, name: str, *, low: int = 1, high: int = 525_600) -> timedelta:
    """A duration in minutes, or with a unit: 90, 90m, 2h, 1d."""
    text = value.strip().lower()
    units = {"m": 1, "h": 60, "d": 1440}
    mult = 1
    if text and text[-1] in units:
        mult, text = units[text[-1]], text[:-1].strip()
    try:
        minutes = int(text) * mult
    except ValueError:
        raise InvalidInput(f"{name}: give minutes (90) or a duration such as 2h or 1d",
                           details={"field": name}) from None
    if not low <= minutes <= high:
        raise InvalidInput(f"{name}: must be between {low} and {high} minutes", details={"field": name})
    return timedelta(minutes=minutes)


def local_input(value: datetime | None, time_zone: str) -> str:
    """An aware instant as a `datetime-local` input value in the viewer's zone."""
    if value is None:
        return ""
    try:
        tz = zone(time_zone or "UTC")
    except ValueError:
        tz = zone("UTC")
    return value.astimezone(tz).strftime("%Y-%m-%dT%H:%M")

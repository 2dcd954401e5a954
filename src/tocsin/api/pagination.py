"""Opaque cursors: url-safe base64 of the sort key of the last item on a page."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from tocsin.errors import InvalidInput

T = TypeVar("T")


def encode(*parts: str) -> str:
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def decode(cursor: str, count: int) -> list[str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        parts = raw.split("|")
        if len(parts) != count:
            raise ValueError
        return parts
    except ValueError:
        raise InvalidInput("invalid cursor: pass the next_cursor of a previous page", details={"field": "cursor"}) from None


def decode_id(cursor: str | None) -> uuid.UUID | None:
    if cursor is None:
        return None
    (text,) = decode(cursor, 1)
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidInput("invalid cursor", details={"field": "cursor"}) from None


def decode_time_id(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    at, text = decode(cursor, 2)
    try:
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError
        return when, uuid.UUID(text)
    except ValueError:
        raise InvalidInput("invalid cursor", details={"field": "cursor"}) from None


def split_page(rows: Sequence[T], limit: int) -> tuple[list[T], bool]:
    """Given up to limit+1 rows, return the page and whether more follow."""
    return list(rows[:limit]), len(rows) > limit

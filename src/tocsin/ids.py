"""Identifiers: UUIDv7 primary keys and human references such as INC-42.

Human references are for display and lookup only; rows are joined by UUID.
"""

from __future__ import annotations

import re
import uuid

import uuid6

INCIDENT_PREFIX = "INC"
_REF_RE = re.compile(r"^INC-(\d{1,18})$", re.IGNORECASE | re.ASCII)  # ASCII: "INC-１" is no ref


def new_id() -> uuid.UUID:
    """Return a new time-ordered UUIDv7 (as a stdlib `uuid.UUID`)."""
    return uuid.UUID(bytes=uuid6.uuid7().bytes)


def incident_ref(number: int) -> str:
    return f"{INCIDENT_PREFIX}-{number}"


def parse_incident_ref(text: str) -> int | None:
    """Return the number in a reference like `INC-42` (case-insensitive), else None."""
    match = _REF_RE.match(text.strip())
    return int(match.group(1)) if match else None


def parse_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return None

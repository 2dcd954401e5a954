"""Identifiers: UUIDv7 primary keys and human references such as INC-42.

Human references are for display and lookup only; rows are joined by UUID.
"""

from __future__ import annotations

import random
import re
import secrets
import threading
import time
import uuid

INCIDENT_PREFIX = "INC"
ACTION_ITEM_PREFIX = "ACT"
PROBLEM_PREFIX = "PRB"
_REF_RE = {p: re.compile(rf"^{p}-(\d{{1,18}})$", re.IGNORECASE | re.ASCII)  # ASCII: "INC-１" is no ref
           for p in (INCIDENT_PREFIX, ACTION_ITEM_PREFIX, PROBLEM_PREFIX)}


_lock = threading.Lock()
_last_ms = 0
_seq = 0
_random = random.Random(secrets.randbits(128))  # ids are not secrets: a fast generator, seeded from the OS


def new_id() -> uuid.UUID:
    """Return a new time-ordered UUIDv7 (RFC 9562) as a stdlib `uuid.UUID`.

    48 bits of Unix milliseconds, then a 12-bit counter that keeps ids made in the same
    millisecond by this process in order (method 1 of RFC 9562 6.2), then 62 random bits.
    Written out because the generic library took 3 us an id, a noticeable share of ingesting
    an alert (each writes several rows).
    """
    global _last_ms, _seq
    ms = time.time_ns() // 1_000_000
    with _lock:
        if ms > _last_ms:
            _last_ms, _seq = ms, _random.getrandbits(10)  # leave room to count up within the ms
        else:
            _seq += 1
            if _seq > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms, _seq = _last_ms + 1, 0
            ms = _last_ms
        seq = _seq
    return uuid_from_int((ms << 80) | (0x7 << 76) | (seq << 64) | (0b10 << 62) | _random.getrandbits(62))


_new = object.__new__
_set = object.__setattr__
_UNKNOWN = uuid.SafeUUID.unknown


def uuid_from_int(value: int) -> uuid.UUID:
    """`uuid.UUID(int=value)` without its argument checks (a third of its cost): for values known
    to be 128-bit, such as those `new_id` makes or `uuid_from_hex` parses."""
    u = _new(uuid.UUID)
    _set(u, "int", value)
    _set(u, "is_safe", _UNKNOWN)
    return u


def uuid_from_hex(text: str) -> uuid.UUID:
    """The UUID stored as 32 hex digits (as tocsin writes them), parsed without `uuid.UUID`'s
    general-purpose cleaning of braces, dashes and `urn:` prefixes."""
    if len(text) != 32:
        raise ValueError(f"not a 32-hex-digit UUID: {text!r}")
    return uuid_from_int(int(text, 16))


def make_ref(prefix: str, number: int) -> str:
    """`INC-42`, `ACT-12`, `PRB-3`: the human reference of row `number` of a kind."""
    return f"{prefix}-{number}"


def parse_ref(prefix: str, text: str) -> int | None:
    """Return the number in a reference like `{prefix}-42` (case-insensitive), else None."""
    match = _REF_RE[prefix].match(text.strip())
    return int(match.group(1)) if match else None


def incident_ref(number: int) -> str:
    return make_ref(INCIDENT_PREFIX, number)


def parse_incident_ref(text: str) -> int | None:
    """Return the number in a reference like `INC-42` (case-insensitive), else None."""
    return parse_ref(INCIDENT_PREFIX, text)


def parse_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return None

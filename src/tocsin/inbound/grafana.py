"""Grafana unified alerting webhooks: check the optional HMAC signature, then parse the body.

Grafana's body is Alertmanager's (`version` "1" instead of "4") plus per-alert extras:
`values`, `silenceURL`, `dashboardURL`, `panelURL`, `imageURL`. Parsing reuses the
Alertmanager module; only the key prefix and the extras differ.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tocsin.inbound.alertmanager import parse_alert_group
from tocsin.inbound.types import Event, Rejected

KEY_PREFIX = "grafana:1:"
DEFAULT_SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"
# Grafana sends no timestamp unless its `hmacConfig.timestampHeader` names a header; tocsin requires one,
# because a signature over the body alone can be replayed forever. This is the name tocsin suggests.
DEFAULT_TIMESTAMP_HEADER = "X-Grafana-Alerting-Timestamp"
# grafana/alerting http/hmac.go falls back to this name when the configured header is empty.
_LEGACY_SIGNATURE_HEADER = "X-Grafana-Alert-Signature"

_LINK_FIELDS = (
    ("generatorURL", "Source"),
    ("dashboardURL", "Dashboard"),
    ("panelURL", "Panel"),
    ("silenceURL", "Silence"),
    ("imageURL", "Image"),
)
_DETAIL_FIELDS = ("values", "valueString")


def parse_webhook(obj: Any, *, nul_free: bool = False) -> list[Event]:
    """Return one Event per alert of a Grafana webhook body, keyed `grafana:1:<fingerprint>`.

    Non-empty dashboard, panel, silence and image URLs become links; `values` and
    `valueString` join the annotations in the details. Raises Rejected (400) listing
    every problem found.
    """
    return parse_alert_group(
        obj,
        key_prefix=KEY_PREFIX,
        default_source="grafana",
        link_fields=_LINK_FIELDS,
        detail_fields=_DETAIL_FIELDS,
        nul_free=nul_free,
    )


def verify_signature(
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str,
    header: str = DEFAULT_SIGNATURE_HEADER,
    timestamp_header: str = DEFAULT_TIMESTAMP_HEADER,
    now: datetime,
    max_skew_seconds: int = 300,
) -> None:
    """Return None when `body` carries a valid Grafana HMAC-SHA256 signature.

    The signature is hex(HMAC-SHA256(secret, timestamp + ":" + body)), Grafana's form when its
    `hmacConfig.timestampHeader` is set; the timestamp (Unix seconds, in `timestamp_header`) must be
    within `max_skew_seconds` of `now`, so a captured request cannot be replayed later. A request
    signed over the body alone (no timestamp) is refused: it could be replayed forever.
    Header names match case-insensitively. Raises Rejected (401) for a missing or wrong
    signature or timestamp, ValueError for an empty secret or timestamp header name (a
    configuration error: an empty key would make every signature forgeable).
    """
    if not secret:
        raise ValueError("an HMAC secret is required to verify Grafana signatures")
    if not timestamp_header:
        raise ValueError("a timestamp header is required to verify Grafana signatures (replay protection)")
    lowered = {name.lower(): value for name, value in headers.items()}
    signature = lowered.get(header.lower())
    if signature is None and header == DEFAULT_SIGNATURE_HEADER:
        signature = lowered.get(_LEGACY_SIGNATURE_HEADER.lower())
    if not signature:
        raise Rejected("missing signature", [f"header {header} is required"], status=401)

    stamp = (lowered.get(timestamp_header.lower()) or "").strip()
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise Rejected("missing timestamp", [f"header {timestamp_header} must hold Unix seconds (set "
                                             f"timestampHeader in Grafana's HMAC settings)"], status=401)
    if abs(now.timestamp() - int(stamp)) > max_skew_seconds:
        raise Rejected("stale timestamp", [f"header {timestamp_header} is more than {max_skew_seconds}s from now"],
                       status=401)
    message = stamp.encode("ascii") + b":" + body

    expected = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    # Compare bytes: compare_digest on str raises TypeError for non-ASCII input.
    given = signature.strip().lower().encode("utf-8", "replace")
    if not hmac.compare_digest(expected.encode("ascii"), given):
        raise Rejected("invalid signature", ["signature does not match the body"], status=401)

"""How a failed Slack Web API call is classified: shared by the Slack provider and the Slack app client.

`api_failure(response)` reads slack_sdk's response to a refused call (HTTP status, `error`
code, Retry-After header) and says whether trying again could help, in tocsin's own words:
only Slack's short error code is kept (never the free text of `response_metadata.messages`,
which goes to the log), with a hint for the codes an operator can act on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.error import URLError

from slack_sdk.web.slack_response import SlackResponse

from tocsin.notify.types import Outcome

log = logging.getLogger("tocsin.notify.slack")

DETAIL_CHARS = 512  # how much of Slack's reply is ever kept, in the log
RATE_LIMITED = frozenset({"ratelimited", "rate_limited"})
# Web API error codes that describe Slack's trouble, not ours: worth trying again.
TRANSIENT_ERRORS = frozenset({"fatal_error", "internal_error", "service_unavailable", "request_timeout"})
ERROR_CODE = re.compile(r"^[a-z0-9_]{1,64}$")
HINTS: Mapping[str, str] = {
    "channel_not_found": "the channel does not exist or the bot cannot see it",
    "not_in_channel": "invite the bot to the channel",
    "is_archived": "the channel is archived",
    "invalid_auth": "check TOCSIN_SLACK_BOT_TOKEN",
    "not_authed": "check TOCSIN_SLACK_BOT_TOKEN",
    "token_revoked": "check TOCSIN_SLACK_BOT_TOKEN",
    "account_inactive": "the bot's token belongs to a deleted user or workspace",
    "missing_scope": "the bot needs the chat:write scope",
}


@dataclass(frozen=True)
class ApiFailure:
    """A refused Web API call: whether to retry, why (in tocsin's words), Slack's code if it gave one."""

    outcome: Outcome
    detail: str
    error: str | None = None  # Slack's error code, only when it looks like one (ERROR_CODE)
    retry_after: float | None = None  # seconds, from a Retry-After of delay-seconds


def shorten(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"


def retry_after_seconds(value: object) -> float | None:
    """A Retry-After header's delay-seconds as a number (None for a date, garbage or nothing)."""
    text = str(value or "").strip()
    return float(int(text)) if (text.isascii() and text.isdigit()) and len(text) <= 7 else None


def network_kind(exc: BaseException) -> str:
    """The type of a network failure (urllib's wrapped socket error's, when it has one)."""
    if isinstance(exc, URLError) and isinstance(exc.reason, BaseException):
        exc = exc.reason
    return type(exc).__name__


def api_failure(response: SlackResponse, *, label: str = "Slack API",
                hints: Mapping[str, str] = HINTS) -> ApiFailure:
    """Classify a refused call: 429/ratelimited, HTTP 5xx and Slack's transient codes are retryable
    (a 200 that is not Slack's JSON too: a proxy's page, say); other refusals are permanent."""
    status = response.status_code
    data = response.data if isinstance(response.data, dict) else {}
    raw_error = str(data.get("error") or "unknown_error")
    known_code = bool(ERROR_CODE.match(raw_error))
    error = raw_error if known_code else None
    headers = {str(k).lower(): v for k, v in (response.headers or {}).items()}
    header = headers.get("retry-after")
    retry_after = retry_after_seconds(header[0] if isinstance(header, list) and header else header)

    if status == 429 or raw_error in RATE_LIMITED:
        detail = f"{label} rate limited ({error or 'ratelimited'}, HTTP {status})"
        if retry_after is not None:
            detail += f" (Retry-After: {int(retry_after)})"
        return ApiFailure(Outcome.retryable, detail, error, retry_after)
    # Only Slack's error code is kept (the operator's API, but the detail is shown to users, so no
    # free text from the far end); the explanatory messages go to the log.
    detail = f"{label} error: {error or 'an unexpected reply'} (HTTP {status})"
    if error is not None and error in hints:
        detail += f": {hints[error]}"
    metadata = data.get("response_metadata")
    messages = metadata.get("messages") if isinstance(metadata, dict) else None
    if messages or not known_code:  # e.g. invalid_blocks says which block and why
        log.info("%s error %s (HTTP %s): %s", label, shorten(raw_error), status,
                 shorten("; ".join(map(str, messages or []))))
    if status >= 500 or raw_error in TRANSIENT_ERRORS:
        return ApiFailure(Outcome.retryable, detail, error)
    if status == 200 and not known_code:
        # Not Slack's JSON at all (a proxy's error page, say): nothing says a retry would fail too.
        return ApiFailure(Outcome.retryable, detail, error)
    return ApiFailure(Outcome.permanent, detail, error)

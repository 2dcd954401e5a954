"""Deliver a message as an SMS or a voice call through Twilio's REST API (or one speaking its wire format).

The official `twilio` library builds and sends the requests; we only point it at `base_url`:

    POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json   To, From, Body[, StatusCallback]
    POST {base_url}/2010-04-01/Accounts/{AccountSid}/Calls.json      To, From, Twiml[, StatusCallback]
    HTTP Basic auth (account SID, auth token), form-encoded body

The library always builds `https://api.twilio.com/...` URLs (or a regional host when an
edge or region is configured); `_RebasedHttpClient` swaps the scheme and host of every URL
for `base_url` and keeps the path, so the library still does the HTTP (auth, encoding, error
parsing) and a Twilio-compatible gateway or the test fake can stand in for Twilio. `base_url`
is the operator's configuration, not user input, so it does not pass the HTTP egress guard.

No deduplication by the provider: Twilio's Messages and Calls APIs document no idempotency
key, so a send repeated after a crash (between Twilio accepting it and the outbox recording
the result) is a second SMS or call; duplicates are bounded by the outbox claim, not removed
by Twilio. We still send the message's idempotency key as `I-Twilio-Idempotency-Token` (the
header Twilio puts on its own webhook requests): Twilio's REST API is not documented to
honour it, but it costs nothing and lets a gateway in between deduplicate.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from tocsin.notify.types import Message, Outcome, Result

TWILIO_API = "https://api.twilio.com"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
KINDS = ("sms", "voice")
SMS_MAX_CHARS = 1600  # Twilio refuses longer bodies (error 21617)
TWIML_MAX_CHARS = 4000  # Twilio refuses a longer Twiml parameter
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
# XML 1.0 cannot carry C0 control characters other than tab, newline and carriage return.
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CREDENTIALS_HINT = "check TOCSIN_TWILIO_ACCOUNT_SID and TOCSIN_TWILIO_AUTH_TOKEN"


class _RebasedHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio is untyped: its client is Any
    """The library's requests-based client, sending to `base_url` with extra headers."""

    def __init__(self, base_url: str, *, timeout: float, headers: Mapping[str, str]) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")
        self.extra_headers = dict(headers)

    def rebase(self, url: str) -> str:
        """Return `url` with its scheme and host replaced by `base_url` (path and query kept)."""
        parts = urlsplit(url)
        return self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        return super().request(
            method,
            self.rebase(url),
            params=params,
            data=data,
            headers={**(headers or {}), **self.extra_headers},
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"bad Twilio base URL {base_url!r}: needs http(s)://host")
    if parts.query or parts.fragment:
        raise ValueError(f"bad Twilio base URL {base_url!r}: no query or fragment")
    return base_url.strip().rstrip("/")


def _header_safe(key: str) -> str:
    # A header value must be one line of visible ASCII; any other key is sent as its digest,
    # which is just as stable across retries.
    if key.isascii() and key.isprintable() and 0 < len(key) <= 200:
        return key
    return hashlib.sha256(key.encode()).hexdigest()


def sms_body(text: str) -> str:
    """Return `text` cut to Twilio's 1600-character limit, ending in "…" when cut."""
    return text if len(text) <= SMS_MAX_CHARS else text[: SMS_MAX_CHARS - 1] + "…"


def voice_twiml(text: str) -> str:
    """Return TwiML that says `text`, pauses, and says it again, within Twilio's 4000 characters.

    The text is XML-escaped by the TwiML builder; characters XML cannot carry become spaces.
    Text too long for the limit once escaped is cut (with "…"): a page read aloud should be
    short anyway.
    """
    text = _XML_INVALID.sub(" ", text)
    limit = len(text)
    while True:
        spoken = text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
        response = VoiceResponse()
        response.say(spoken)
        response.pause()
        response.say(spoken)
        twiml: str = response.to_xml(xml_declaration=False)
        if len(twiml) <= TWIML_MAX_CHARS:
            return twiml
        limit = limit * 3 // 4


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def classify_rest_error(exc: TwilioRestException | TwilioServiceException) -> Result:
    """Return the Result for an error reply from the API (the HTTP status decides, the code explains)."""
    status = exc.status
    if isinstance(exc, TwilioServiceException):
        message = exc.detail or exc.title
    else:
        message = exc.msg.removeprefix("Unable to create record: ")
    detail = f"Twilio error {exc.code}: {message} (HTTP {status})"
    if status in (401, 403):
        return Result(Outcome.permanent, f"{detail}; {_CREDENTIALS_HINT}")
    if status in (408, 429) or status >= 500:
        return Result(Outcome.retryable, detail)
    # 400 (21211 invalid To, 21610 unsubscribed, 21614 not a mobile number ...), 404 and
    # the other 4xx: the same request will be refused the same way.
    return Result(Outcome.permanent, detail)


class TwilioProvider:
    """Sends each message to the phone number in `message.to` as an SMS or a voice call."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        base_url: str = TWILIO_API,
        *,
        kind: str = "sms",
        status_callback: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        """Raise ValueError for an empty credential or sender, an unknown `kind`, a bad `base_url`
        or a timeout that is not positive.

        `kind` is "sms" or "voice" and is also the provider's `name`. `status_callback` is the
        URL Twilio POSTs delivery status changes to. `timeout` bounds connecting and each read.
        """
        if not account_sid or not auth_token:
            # the library would fall back to TWILIO_* environment variables: never do that
            raise ValueError(f"a Twilio account SID and auth token are required ({_CREDENTIALS_HINT})")
        if not from_number:
            raise ValueError("a Twilio sender number is required")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.name = kind
        self.kind = kind
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.from_number = from_number
        self.base_url = _check_base_url(base_url)
        self.status_callback = status_callback
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"TwilioProvider(kind={self.kind!r}, account_sid={self.account_sid!r}, base_url={self.base_url!r})"

    def send(self, message: Message) -> Result:
        """Return delivered (detail: Twilio's status, provider_id: the SID) once Twilio accepted
        the message or call; permanent for a number that is not E.164, a refused number or bad
        credentials; retryable for 408/429/5xx, timeouts and network errors."""
        to = message.to.strip()
        if not _E164.fullmatch(to):
            return Result(Outcome.permanent, f"not an E.164 phone number: {message.to!r}")
        # One HTTP client per send: the idempotency header differs per message, and the
        # engine may call send from several threads.
        http = _RebasedHttpClient(
            self.base_url, timeout=self.timeout, headers={IDEMPOTENCY_HEADER: _header_safe(message.idempotency_key)}
        )
        try:
            return self._send(Client(self.account_sid, self._auth_token, http_client=http), to, message)
        except (TwilioRestException, TwilioServiceException) as exc:
            result = classify_rest_error(exc)
            return Result(result.outcome, _scrub(result.detail, self._auth_token))
        except requests.Timeout as exc:
            return Result(Outcome.retryable, _scrub(f"timed out: {type(exc).__name__}: {exc}", self._auth_token))
        except requests.ConnectionError as exc:
            return Result(Outcome.retryable, _scrub(f"connection failed: {exc}", self._auth_token))
        except requests.RequestException as exc:
            return Result(Outcome.retryable, _scrub(f"{type(exc).__name__}: {exc}", self._auth_token))
        except json.JSONDecodeError as exc:
            # A 2xx reply that is not JSON: something other than Twilio answered. Retrying
            # risks a duplicate page; not retrying risks a missed one, which is worse.
            return Result(Outcome.retryable, _scrub(f"unreadable reply from {self.base_url}: {exc}", self._auth_token))
        finally:
            http.close()

    def _send(self, client: Client, to: str, message: Message) -> Result:
        options: dict[str, Any] = {}
        if self.status_callback:
            options["status_callback"] = self.status_callback
        if self.kind == "sms":
            created = client.messages.create(to=to, from_=self.from_number, body=sms_body(message.body), **options)
        else:
            created = client.calls.create(to=to, from_=self.from_number, twiml=voice_twiml(message.body), **options)
        return Result(Outcome.delivered, str(created.status or "accepted"), provider_id=created.sid)


def verify_twilio_signature(auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    """Return True when `signature` (the X-Twilio-Signature header) is Twilio's for this request.

    `url` is the full URL Twilio requested (as Twilio saw it, including the query string),
    `params` the POSTed form fields. A missing or malformed signature is False, not an error.
    """
    if not auth_token or not signature:
        return False
    try:
        return bool(RequestValidator(auth_token).validate(url, dict(params), signature))
    except (TypeError, ValueError, UnicodeError):
        return False


def parse_status_callback(params: Mapping[str, str]) -> tuple[str, str, str | None]:
    """Return (SID, status, error code or None) from a Twilio status callback's form fields.

    Works for messages (MessageSid, MessageStatus) and calls (CallSid, CallStatus); the
    legacy SmsSid / SmsStatus names are accepted too. Raises ValueError when the SID or
    the status is missing.
    """
    sid = params.get("MessageSid") or params.get("SmsSid") or params.get("CallSid")
    status = params.get("MessageStatus") or params.get("SmsStatus") or params.get("CallStatus")
    if not sid or not status:
        raise ValueError("not a Twilio status callback: no MessageSid/CallSid or MessageStatus/CallStatus")
    return sid, status, params.get("ErrorCode") or None

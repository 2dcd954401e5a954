"""A fake Twilio REST API on 127.0.0.1, speaking Twilio's wire format, for the SMS/voice provider.

    POST /2010-04-01/Accounts/{AccountSid}/Messages.json   form: To, From, Body[, StatusCallback]
    POST /2010-04-01/Accounts/{AccountSid}/Calls.json      form: To, From, Twiml or Url[, StatusCallback]

HTTP Basic auth with the account SID and auth token. Success is 201 with the resource as
Twilio returns it (sid SM…/CA… + 32 hex, status "queued", RFC 2822 dates, uri ...); errors
are Twilio's JSON shape `{"code", "message", "more_info", "status"}`.

Knobs: `down` (answer 503), `fail_next(n, status, code, message)`, `invalid_numbers`
(answered 400 / 21211; Twilio's magic test number +15005550001 is in it by default) and
`delay` (seconds to wait before answering). Every request that reaches a resource is
recorded in `received`, with the status it was answered.
"""

from __future__ import annotations

import base64
import http.server
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Self
from urllib.parse import parse_qsl

API_VERSION = "2010-04-01"
_PATH = re.compile(rf"/{API_VERSION}/Accounts/(?P<account>[^/]+)/(?P<resource>Messages|Calls)\.json")
_PREFIX = {"Messages": "SM", "Calls": "CA"}


@dataclass
class Received:
    """One POST that reached a resource (after authentication)."""

    resource: str  # "Messages" or "Calls"
    form: dict[str, str]
    headers: dict[str, str]
    status: int  # what the fake answered
    sid: str | None = None  # the created resource's SID, when it was created

    @property
    def to(self) -> str | None:
        return self.form.get("To")

    @property
    def from_(self) -> str | None:
        return self.form.get("From")

    @property
    def body(self) -> str | None:
        return self.form.get("Body")

    @property
    def twiml(self) -> str | None:
        return self.form.get("Twiml")


@dataclass
class _Failure:
    remaining: int
    status: int
    code: int
    message: str


def error(status: int, code: int, message: str) -> dict[str, Any]:
    """Return Twilio's JSON error body."""
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    return {"code": code, "message": message, "more_info": more_info, "status": status}


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeTwilio

    def do_POST(self) -> None:
        fake = self.server
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if fake.delay:
            time.sleep(fake.delay)
        if fake.down:
            self._reply(503, error(503, 20503, "Service Unavailable"))
            return
        if self._credentials() != (fake.account_sid, fake.auth_token):
            fake.unauthorized += 1
            self._reply(401, error(401, 20003, "Authenticate"))
            return
        match = _PATH.fullmatch(self.path.split("?", 1)[0])
        if match is None or match["account"] != fake.account_sid:
            self._reply(404, error(404, 20404, f"The requested resource {self.path} was not found"))
            return
        form = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        status, payload = fake.answer(match["resource"], form)
        fake.received.append(
            Received(match["resource"], form, dict(self.headers), status, payload.get("sid") if status == 201 else None)
        )
        self._reply(status, payload)

    def _credentials(self) -> tuple[str, str] | None:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except ValueError:
            return None
        return user, password

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Twilio-Request-Id", "RQ" + secrets.token_hex(16))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


class FakeTwilio(http.server.ThreadingHTTPServer):
    """Twilio's Messages and Calls resources on 127.0.0.1 (port 0); use as a context manager."""

    daemon_threads = True

    def __init__(self, account_sid: str = "AC" + "0123456789abcdef" * 2, auth_token: str = "fake-auth-token") -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.received: list[Received] = []
        self.unauthorized = 0  # requests refused with 401 (not recorded in `received`)
        self.down = False
        self.delay = 0.0
        self.invalid_numbers: set[str] = {"+15005550001"}
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        """The base URL to give the provider in place of https://api.twilio.com."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def fail_next(self, n: int, status: int, code: int, message: str) -> None:
        """Answer the next `n` authenticated requests with this Twilio error."""
        with self._lock:
            self._failures.append(_Failure(n, status, code, message))

    def answer(self, resource: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Return (status, JSON body) for a POST to `resource` with these form fields."""
        with self._lock:
            if self._failures:
                failure = self._failures[0]
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.pop(0)
                return failure.status, error(failure.status, failure.code, failure.message)
        to, from_ = form.get("To"), form.get("From")
        if not to:
            return 400, error(400, 21604, "A 'To' phone number is required.")
        if not from_:
            return 400, error(400, 21603, "A 'From' phone number is required.")
        if to in self.invalid_numbers:
            return 400, error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if resource == "Messages" and not form.get("Body"):
            return 400, error(400, 21602, "Message body is required.")
        if resource == "Messages" and len(form["Body"]) > 1600:
            return 400, error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if resource == "Calls" and not (form.get("Twiml") or form.get("Url")):
            return 400, error(400, 21205, "Url parameter is required.")
        return 201, self._resource(resource, form)

    def _resource(self, resource: str, form: dict[str, str]) -> dict[str, Any]:
        sid = _PREFIX[resource] + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC).replace(microsecond=0))
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/{resource}/{sid}"
        common = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "from": form["From"],
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "to": form["To"],
            "uri": uri + ".json",
        }
        if resource == "Messages":
            body = form["Body"]
            return common | {
                "body": body,
                "date_sent": None,
                "error_code": None,
                "error_message": None,
                "messaging_service_sid": None,
                "num_media": "0",
                "num_segments": str(1 if len(body) <= 160 else -(-len(body) // 153)),
                "subresource_uris": {"media": f"{uri}/Media.json"},
            }
        return common | {
            "annotation": None,
            "answered_by": None,
            "caller_name": None,
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from_formatted": form["From"],
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "queue_time": "0",
            "start_time": None,
            "to_formatted": form["To"],
            "trunk_sid": None,
            "subresource_uris": {
                "notifications": f"{uri}/Notifications.json",
                "recordings": f"{uri}/Recordings.json",
            },
        }

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and close the listening socket (later connections are refused)."""
        if self._thread.is_alive():  # shutdown() blocks forever if serve_forever never ran
            self.shutdown()
            self._thread.join()
        self.server_close()

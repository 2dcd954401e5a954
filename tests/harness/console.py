"""The console (HTML) as a browser-less client sees it: logging in, CSRF tokens, posting forms, and
a live viewer of an incident room's event stream.

- `login(client, email, password)`: posts the login form; returns the 303 response (cookie set).
- `csrf(client, path="/")`: GETs `path` and returns the `csrf_token` value from its forms.
- `post_form(client, path, data, token=..., page="/")`: posts url-encoded `data` plus the csrf
  token (read from `page` unless given) without following redirects.
- `new_incident(web_client, **form)`: a responder declares through the declare dialog's form;
  `room_of(client, ref)` is the room page, `timeline(html)` its timeline list.
- `WebUser`: a user with an API token and the password `PASSWORD` (tests/web/conftest.py makes them).
- `served(app)`: the app served by uvicorn on a loopback port, in a thread (for streams a
  TestClient cannot read); `Viewer(base, email)`: a logged-in reader of `/incidents/{ref}/events`.

Forms are url-encoded (the console does not parse multipart); fetch() posts send
`X-CSRF-Token` and `X-Requested-With: fetch` (see static/app.js `tocsin.postForm`).
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.harness.ports import free_port

PASSWORD = "correct horse battery"
WAIT = 5.0  # how long a viewer waits for an event: well under the stream's 15 s heartbeat re-read
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


@dataclass
class WebUser:
    id: Any
    email: str
    name: str
    role: str
    token: str
    password: str = PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def web_user_factory(db: Any, clock: Any, system: Any, make_person: Any) -> Any:
    """make_web_user(role="responder", name=None, teams=None) -> WebUser: a person made by `make_person`
    (tests/harness/people.py) with an API token and the console password `PASSWORD` (the
    `make_web_user` fixture; also for a world seeded once per module)."""
    from tocsin.users.service import require_user, update_user

    def make(role: str = "responder", name: str | None = None, teams: list[str] | None = None) -> WebUser:
        person = make_person(role, teams=teams, name=name)
        with db.unit_of_work() as s:
            update_user(s, actor=system, now=clock.now(), user=require_user(s, person.id), password=PASSWORD)
        return WebUser(person.id, person.email, person.name, person.role, person.token)

    return make


def login(client: TestClient, email: str, password: str, next_path: str | None = None):
    data = {"email": email, "password": password}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/login", data=data, follow_redirects=False)


def csrf(client: TestClient, path: str = "/") -> str:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    match = _CSRF.search(page.text)
    assert match, f"no csrf_token on {path}"
    return match.group(1)


def post_form(client: TestClient, path: str, data: dict[str, str] | None = None, *, token: str | None = None,
              page: str = "/"):
    body = dict(data or {})
    body["csrf_token"] = token if token is not None else csrf(client, page)
    return client.post(path, data=body, follow_redirects=False)


def room_of(client: Any, ref: str) -> str:
    """The incident room page's HTML, as `client` sees it."""
    page = client.get(f"/incidents/{ref}")
    assert page.status_code == 200, page.text
    return page.text


def timeline(html: str) -> str:
    """The timeline list (`<ol id="timeline">`) of a room page."""
    return html[html.index('<ol id="timeline"'):html.index("</ol>", html.index('<ol id="timeline"'))]


def new_incident(web_client: Any, **form: str) -> tuple[Any, str]:
    """A responder declares through the declare dialog's form; returns (their client, the ref)."""
    c = web_client("responder")
    body = {"title": "Checkout errors", "severity": "SEV2", **form}
    r = post_form(c, "/incidents", body)
    assert r.status_code == 303, r.text
    ref = r.headers["location"].rsplit("/", 1)[1]
    assert re.fullmatch(r"INC-\d+", ref)
    return c, ref


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn on a loopback port in a thread; yield its base URL."""
    import uvicorn

    port = free_port()
    # At teardown the only requests in flight are the test's own event streams, which a graceful
    # shutdown would wait for in vain (tocsin serve waits 5 s): cancel them almost at once.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=0.2)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=15)


class Viewer:
    """A logged-in browser stand-in reading one incident's event stream in a background thread."""

    def __init__(self, base: str, email: str, password: str = PASSWORD) -> None:
        self.http = httpx.Client(base_url=base, trust_env=False, timeout=httpx.Timeout(10, read=60))
        r = self.http.post("/login", data={"email": email, "password": password})
        assert r.status_code == 303, r.text
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.status: int | None = None
        self.opened = threading.Event()
        self._response: httpx.Response | None = None

    def open(self, ref: str, headers: dict[str, str] | None = None, query: str = "") -> Viewer:
        self._thread = threading.Thread(target=self._read, args=(f"/incidents/{ref}/events{query}", headers or {}),
                                        daemon=True)
        self._thread.start()
        assert self.opened.wait(10), "the event stream did not answer"
        return self

    def _read(self, path: str, headers: dict[str, str]) -> None:
        try:
            with self.http.stream("GET", path, headers={"Accept": "text/event-stream", **headers}) as r:
                self._response, self.status, self.headers = r, r.status_code, r.headers
                self.opened.set()
                if r.status_code != 200:
                    return
                event: dict[str, Any] = {}
                for line in r.iter_lines():
                    if not line:
                        if event:
                            self.events.put(event)
                        event = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(":")
                        event[name] = value.removeprefix(" ")
        except httpx.HTTPError:
            pass
        finally:
            self.opened.set()
            self.events.put(None)  # the stream ended

    def next_timeline(self, timeout: float = WAIT) -> dict[str, Any] | None:
        """The next `timeline` event's data (with its SSE id), or None when the stream ended."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "no timeline event arrived"
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                pytest.fail(f"no timeline event within {timeout} s")
            if event is None:
                return None
            if event.get("event") == "timeline":
                return {**json.loads(event["data"]), "id": event.get("id")}

    def wait_for(self, text: str, timeout: float = WAIT) -> dict[str, Any]:
        """Skip timeline events until one whose entries contain `text`."""
        deadline = time.monotonic() + timeout
        while True:
            data = self.next_timeline(max(0.01, deadline - time.monotonic()))
            assert data is not None, f"the stream ended before {text!r} arrived"
            if text in data["html"]:
                return data

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
        self.http.close()

"""The public status pages as served: Statuspage v2 JSON, caching and security headers, served from
memory (no database per request), safe against hostile text, never showing internal names."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from tests.harness.statuspage import NOW, SECRET, seed
from tocsin.principal import Principal
from tocsin.statuspage import service
from tocsin.statuspage.incidents import post_incident_update
from tocsin.statuspage.models import StatusIncident, StatusPage

CSP = ("default-src 'none'; img-src https: data:; style-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
JSON_PATHS = ["api/v2/summary.json", "api/v2/status.json", "api/v2/components.json", "api/v2/incidents.json",
              "api/v2/incidents/unresolved.json", "api/v2/scheduled-maintenances.json",
              "api/v2/scheduled-maintenances/upcoming.json", "api/v2/scheduled-maintenances/active.json"]

# --- a small schema of the Statuspage v2 shapes ---------------------------------------------------

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")
COMPONENT_STATUS = {"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}
INCIDENT_STATUS = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
MAINTENANCE_STATUS = {"scheduled", "in_progress", "verifying", "completed"}
IMPACT = {"none", "minor", "major", "critical", "maintenance"}
STR, BOOL, INT, TIME = "str", "bool", "int", "time"
OPT = "?"  # suffix: may be null

PAGE = {"id": STR, "name": STR, "url": STR, "time_zone": STR, "updated_at": TIME}
COMPONENT = {"id": STR, "name": STR, "status": COMPONENT_STATUS, "created_at": TIME, "updated_at": TIME,
             "position": INT, "description": STR + OPT, "showcase": BOOL, "start_date": STR + OPT,
             "group_id": STR + OPT, "page_id": STR, "group": BOOL, "only_show_if_degraded": BOOL}
AFFECTED = {"code": STR, "name": STR, "old_status": COMPONENT_STATUS, "new_status": COMPONENT_STATUS}
UPDATE = {"id": STR, "status": INCIDENT_STATUS | MAINTENANCE_STATUS, "body": STR, "incident_id": STR,
          "created_at": TIME, "updated_at": TIME, "display_at": TIME, "affected_components": [AFFECTED, None],
          "deliver_notifications": BOOL, "custom_tweet": STR + OPT, "tweet_id": STR + OPT}
INCIDENT = {"id": STR, "name": STR, "status": INCIDENT_STATUS, "created_at": TIME, "updated_at": TIME,
            "monitoring_at": TIME + OPT, "resolved_at": TIME + OPT, "impact": IMPACT, "shortlink": STR,
            "started_at": TIME, "page_id": STR, "incident_updates": [UPDATE], "components": [COMPONENT]}
MAINTENANCE = {**INCIDENT, "status": MAINTENANCE_STATUS, "scheduled_for": TIME, "scheduled_until": TIME}
STATUS = {"indicator": {"none", "minor", "major", "critical", "maintenance"}, "description": {
    "All Systems Operational", "Major System Outage", "Partial System Outage", "Minor Service Outage",
    "Degraded System Service", "Partially Degraded Service", "Service Under Maintenance"}}
ENDPOINTS = {
    "api/v2/summary.json": {"page": PAGE, "components": [COMPONENT], "incidents": [INCIDENT],
                            "scheduled_maintenances": [MAINTENANCE], "status": STATUS},
    "api/v2/status.json": {"page": PAGE, "status": STATUS},
    "api/v2/components.json": {"page": PAGE, "components": [COMPONENT]},
    "api/v2/incidents.json": {"page": PAGE, "incidents": [INCIDENT]},
    "api/v2/incidents/unresolved.json": {"page": PAGE, "incidents": [INCIDENT]},
    "api/v2/scheduled-maintenances.json": {"page": PAGE, "scheduled_maintenances": [MAINTENANCE]},
    "api/v2/scheduled-maintenances/upcoming.json": {"page": PAGE, "scheduled_maintenances": [MAINTENANCE]},
    "api/v2/scheduled-maintenances/active.json": {"page": PAGE, "scheduled_maintenances": [MAINTENANCE]},
}


def check(value: Any, schema: Any, where: str = "$") -> None:
    """Fail with the path of the first value that does not fit `schema`."""
    if isinstance(schema, dict):
        assert isinstance(value, dict), where
        for key in schema:
            assert key in value, f"{where}: missing {key}"
        if "group" in value and value.get("group") is True:
            assert isinstance(value.get("components"), list), f"{where}: a group lists its components"
        for key, sub in schema.items():
            check(value[key], sub, f"{where}.{key}")
    elif isinstance(schema, list):
        if None in schema and value is None:
            return
        assert isinstance(value, list), where
        for n, item in enumerate(value):
            check(item, schema[0], f"{where}[{n}]")
    elif isinstance(schema, set):
        assert value in schema, f"{where}: {value!r} not one of {sorted(schema)}"
    else:
        kind, optional = schema.rstrip(OPT), schema.endswith(OPT)
        if value is None:
            assert optional, f"{where}: null"
            return
        ok = {STR: isinstance(value, str), BOOL: isinstance(value, bool),
              INT: isinstance(value, int) and not isinstance(value, bool),
              TIME: isinstance(value, str) and bool(TS.match(value))}[kind]
        assert ok, f"{where}: {value!r} is not {kind}"


# --- helpers ---------------------------------------------------------------------------------------

def served(client: TestClient, slug: str) -> dict[str, bytes]:
    """Every cached file of the page, fetched over HTTP: {path: body}."""
    cache = client.app.state.status_cache
    out = {}
    for path in cache.sites[slug]:
        r = client.get(f"/status/{slug}/{path}")
        assert r.status_code == 200, (path, r.status_code)
        out[path] = r.content
    return out


@pytest.fixture(autouse=True)
def _at_seed_time(clock) -> None:  # noqa: ANN001
    clock.set(NOW + timedelta(minutes=1))


def start(app) -> TestClient:  # noqa: ANN001
    """Start the app (its startup renders every page seeded so far)."""
    return TestClient(app, raise_server_exceptions=False)


# --- tests -----------------------------------------------------------------------------------------

def test_every_endpoint_fits_the_statuspage_shapes(app, db, make_service) -> None:  # noqa: ANN001
    seeded = seed(db, service_id=make_service("cdn"))
    with start(app) as client:
        for path, schema in ENDPOINTS.items():
            r = client.get(f"/status/acme/{path}")
            assert r.status_code == 200 and r.headers["content-type"] == "application/json", path
            check(r.json(), schema, path)
        summary = client.get("/status/acme/api/v2/summary.json").json()
    assert list(summary) == ["page", "components", "incidents", "scheduled_maintenances", "status"]
    # API in partial outage (Minor Service Outage) but the incident's impact is major, which wins
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    assert [i["name"] for i in summary["incidents"]] == ["Elevated API errors"]
    assert summary["incidents"][0]["id"] == str(seeded.public_id)
    assert summary["page"]["url"].endswith("/status/acme") and summary["page"]["time_zone"] == "Europe/Berlin"
    assert summary["page"]["updated_at"].endswith(("+01:00", "+02:00"))


def test_cache_and_security_headers(app, db) -> None:  # noqa: ANN001
    seed(db)
    with start(app) as client:
        for path in ("", "api/v2/summary.json", "history.atom", "history.rss", "status.css"):
            r = client.get(f"/status/acme/{path}")
            assert r.status_code == 200, path
            h = r.headers
            assert h["cache-control"] == "public, max-age=10"
            assert h["content-security-policy"] == CSP and "frame-ancestors 'none'" in h["content-security-policy"]
            assert h["x-content-type-options"] == "nosniff" and h["referrer-policy"] == "no-referrer"
            assert re.fullmatch(r'"[0-9a-f]{32}"', h["etag"]), "a strong ETag"
            assert int(h["content-length"]) == len(r.content)
            cors = h.get("access-control-allow-origin")
            assert cors == ("*" if path.endswith((".json", ".atom", ".rss")) else None), path
        assert client.get("/status/acme/").headers["content-type"] == "text/html; charset=utf-8"
        assert client.get("/status/acme/status.css").headers["content-type"].startswith("text/css")


def test_etag_304_head_and_trailing_slash(app, db) -> None:  # noqa: ANN001
    seed(db)
    with start(app) as client:
        first = client.get("/status/acme")
        assert first.status_code == 200 and first.content == client.get("/status/acme/").content
        etag = first.headers["etag"]
        again = client.get("/status/acme", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        assert again.headers["cache-control"] == "public, max-age=10"
        assert client.get("/status/acme", headers={"If-None-Match": '"other"'}).status_code == 200
        assert client.get("/status/acme", headers={"If-None-Match": f'"x", {etag}'}).status_code == 304
        head = client.head("/status/acme/api/v2/summary.json")
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["content-length"]) == len(client.get("/status/acme/api/v2/summary.json").content)


def test_unknown_slug_is_a_small_404_page_and_other_paths_reach_the_app(app, db) -> None:  # noqa: ANN001
    seed(db)
    with start(app) as client:
        r = client.get("/status/nope/")
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        assert b"Not found" in r.content and r.headers["cache-control"] == "no-store"
        # paths the cache does not hold, and every POST, are the app's (subscribe, confirm, unsubscribe)
        r = client.get("/status/acme/confirm/some-token")
        assert "etag" not in r.headers
        r = client.post("/status/acme/subscribe", data={"email": "x@example.com"})
        assert "etag" not in r.headers and r.headers.get("cache-control") != "public, max-age=10"


def test_changes_are_served_after_the_live_notice(app, db, clock) -> None:  # noqa: ANN001
    seeded = seed(db)
    with start(app) as client:
        cache = app.state.status_cache
        etag = client.get("/status/acme/api/v2/summary.json").headers["etag"]
        with db.unit_of_work() as s:
            page = s.get(StatusPage, seeded.page_id)
            post_incident_update(s, actor=Principal.system("tests"), now=clock.now(), page=page,
                                 status_incident=s.get(StatusIncident, seeded.public_id), status="monitoring",
                                 body="A fix is out.")
        assert cache.wait_idle()
        r = client.get("/status/acme/api/v2/summary.json", headers={"If-None-Match": etag})
        assert r.status_code == 200 and r.headers["etag"] != etag
        assert r.json()["incidents"][0]["incident_updates"][0]["body"] == "A fix is out."
        # a page created after startup appears after its own notice
        with db.unit_of_work() as s:
            service.create_page(s, actor=Principal.system("tests"), now=clock.now(), slug="later", name="Later")
        assert cache.wait_idle()
        assert client.get("/status/later").status_code == 200
        with db.unit_of_work() as s:
            service.delete_page(s, actor=Principal.system("tests"), now=clock.now(),
                                page=service.require_page(s, "later"))
        assert cache.wait_idle()
        assert client.get("/status/later").status_code == 404


def test_served_from_memory_without_the_database(app, db) -> None:  # noqa: ANN001
    seed(db)
    with start(app) as client:
        statements: list[str] = []

        def count(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001, ANN002
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            for _ in range(5):
                for path in ("", "api/v2/summary.json", "history.atom"):
                    assert client.get(f"/status/acme/{path}").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert statements == []
        # The database goes away entirely: the pages are still served, the API is not.
        db.dispose()

        class Gone:
            dialect = db.dialect

            def unit_of_work(self):  # noqa: ANN202
                raise RuntimeError("the database is down")

        app.state.db = Gone()
        app.state.status_cache.refresh_all()  # a refresh fails and keeps the last good version
        r = client.get("/status/acme/")
        assert r.status_code == 200 and b"Elevated API errors" in r.content
        assert client.get("/status/acme/api/v2/summary.json").json()["incidents"][0]["name"] == "Elevated API errors"


def test_a_failing_render_keeps_the_last_good_version(app, db, clock, monkeypatch) -> None:  # noqa: ANN001
    seeded = seed(db)
    with start(app) as client:
        before = client.get("/status/acme/").content
        from tocsin.statuspage import cache as cache_module

        def broken(_snap):  # noqa: ANN001, ANN202
            raise ValueError("template bug")

        monkeypatch.setattr(cache_module.render, "site", broken)
        with db.unit_of_work() as s:
            service.update_page(s, actor=Principal.system("tests"), now=clock.now(),
                                page=s.get(StatusPage, seeded.page_id), changes={"name": "Renamed"})
        assert app.state.status_cache.wait_idle()
        assert client.get("/status/acme/").content == before


XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\"><svg onload=alert(1)>",
    "</title><script>alert(1)</script>",
    "'><iframe src=javascript:alert(1)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "[click me](javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<<SCRIPT>alert(1);//<</SCRIPT>",
    "<body onload=alert(1)>",
    "<style>*{display:none}</style>",
    "<base href=//evil.example/>",
    "<meta http-equiv=refresh content=0;url=//evil.example>",
    "\u202e<script>\u202dalert(1)",
    "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
    "\ufeff<scr\u200bipt>alert(1)</script>",
    "{{7*7}}{% raw %}${7*7}",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "]]><!-- --><![CDATA[<script>alert(1)</script>]]>",
    "\x0b\x1b<svg/onload=alert(1)>",
]
BAD_TAGS = {"script", "svg", "iframe", "object", "embed", "base", "meta", "style", "math", "body", "frame"}


class TagAudit(HTMLParser):
    """Collects every tag and attribute the browser would see."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def audit_html(body: bytes, where: str) -> None:
    parser = TagAudit()
    parser.feed(body.decode())
    head = True
    for tag, attrs in parser.tags:
        if tag == "body":
            assert head, f"{where}: a second <body>"
            head = False
            continue
        assert tag not in BAD_TAGS or (tag == "meta" and not any(k == "http-equiv" for k, _ in attrs)), \
            f"{where}: <{tag}>"
        for name, value in attrs:
            assert not name.startswith("on"), f"{where}: <{tag} {name}>"
            assert name != "style", f"{where}: inline style"
            if name in ("href", "src", "action") and value:
                assert value.startswith(("/status/", "https://", "http://", "mailto:", "data:image/")), \
                    f"{where}: <{tag} {name}={value!r}>"


def test_hostile_text_everywhere_stays_text(app, db, clock) -> None:  # noqa: ANN001
    actor = Principal.system("tests")
    now = clock.now()
    with db.unit_of_work() as s:
        for n, payload in enumerate(XSS):
            page = service.create_page(s, actor=actor, now=now, slug=f"x{n}", name=payload, description=payload)
            group = service.create_component(s, actor=actor, now=now, page=page, name=payload, is_group=True,
                                             description=payload)
            comp = service.create_component(s, actor=actor, now=now, page=page, name=payload, group=group,
                                            description=payload)
            inc = post_incident_update(s, actor=actor, now=now - timedelta(minutes=5), page=page, name=payload,
                                       status="investigating", body=payload,
                                       component_statuses={comp.id: "major_outage"})
            post_incident_update(s, actor=actor, now=now, page=page, status_incident=inc, status="identified",
                                 body=f"**{payload}** {payload} [x]({payload})")
    with start(app) as client:
        for n, payload in enumerate(XSS):
            files = served(client, f"x{n}")
            for path, body in files.items():
                where = f"x{n}/{path or 'index'} ({payload!r})"
                if path == "" or path.startswith("incidents/"):
                    audit_html(body, where)
                elif path.endswith(".json"):
                    json.loads(body)
                elif path.endswith((".atom", ".rss")):
                    feed = feedparser.parse(body)
                    assert feed.bozo == 0, (where, feed.get("bozo_exception"))
            summary = json.loads(files["api/v2/summary.json"])
            # JSON keeps the text exactly (as stored: the service trims surrounding white space)
            assert summary["page"]["name"] == payload.strip()
            assert summary["incidents"][0]["incident_updates"][1]["body"] == payload.strip()


def test_internal_names_never_appear(app, db) -> None:  # noqa: ANN001
    seeded = seed(db)
    with start(app) as client:
        files = served(client, "acme")
        assert len(files) >= 14
        for path, body in files.items():
            assert SECRET.encode() not in body, path
            assert str(seeded.internal_id).encode() not in body, path
        index = files[""].decode()
        assert "Elevated API errors" in index and "Cause found." in index


@pytest.mark.parametrize("order", ["first-then-second", "second-then-first"])
def test_two_pages_swapping_slugs_in_one_batch_both_stay_served(app, db, clock, order) -> None:  # noqa: ANN001
    import sqlalchemy as sa

    actor = Principal.system("tests")
    with db.unit_of_work() as s:
        first = service.create_page(s, actor=actor, now=clock.now(), slug="first", name="First").id
        second = service.create_page(s, actor=actor, now=clock.now(), slug="second", name="Second").id
    with start(app) as client:
        cache = app.state.status_cache
        assert client.get("/status/first/api/v2/status.json").json()["page"]["name"] == "First"
        # both renamed before the cache hears of either: the renders run as one batch
        with db.unit_of_work() as s:
            for pid, slug in ((first, "swap-tmp"), (second, "first"), (first, "second")):
                s.execute(sa.update(StatusPage).where(StatusPage.id == pid).values(slug=slug))
        ids = [str(first), str(second)]
        cache.refresh(ids if order == "first-then-second" else ids[::-1])
        assert client.get("/status/first/api/v2/status.json").json()["page"]["name"] == "Second"
        assert client.get("/status/second/api/v2/status.json").json()["page"]["name"] == "First"
        assert client.get("/status/swap-tmp").status_code == 404
        # deleting one of them later takes only its own site away
        with db.unit_of_work() as s:
            service.delete_page(s, actor=actor, now=clock.now(), page=service.require_page(s, "second"))
        assert cache.wait_idle()
        assert client.get("/status/second").status_code == 404
        assert client.get("/status/first/api/v2/status.json").json()["page"]["name"] == "Second"


def test_subscriber_endpoints_never_use_the_database_on_the_event_loop(app, db) -> None:  # noqa: ANN001
    """The event loop serves the in-memory pages: a subscribe, confirm or unsubscribe request
    waiting on the database there would stall every page view in the meantime."""
    import asyncio

    seed(db)
    with start(app) as client:
        on_loop: list[str] = []
        statements: list[str] = []

        def where(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001, ANN002
            statements.append(statement)
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return  # a worker thread: fine
            on_loop.append(statement)

        event.listen(db.engine, "before_cursor_execute", where)
        try:
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            assert client.post("/status/acme/subscribe", content="email=a@example.com", headers=form).status_code == 200
            assert client.post("/status/acme/subscribe", content="email=bad", headers=form).status_code == 400
            assert client.get("/status/acme/confirm/unknown").status_code == 404
            assert client.post("/status/acme/confirm/unknown").status_code == 404
            assert client.get("/status/acme/unsubscribe/unknown").status_code == 404
            assert client.post("/status/acme/unsubscribe/unknown").status_code == 404
        finally:
            event.remove(db.engine, "before_cursor_execute", where)
        assert statements, "the requests did reach the database"
        assert on_loop == []

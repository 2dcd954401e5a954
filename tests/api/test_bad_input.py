"""Bad input gets a clear 4xx JSON error and changes nothing.

Every case below sends one bad request as an admin (so that authorization never masks an
input error) to a database holding a team, a service, an incident with a note, and asserts:

- the status and error code are the expected 4xx ones (so never a 500);
- the body is exactly `{"error": {"code", "message", "details"}}` with a non-empty message;
- nothing was written, not even in part: every row of every table reads back as it was,
  and, through the API, the incident counts, the timeline length and the number of audit
  log entries are what they were before the request.

The tables are grouped by kind of mistake; each row is one request. Every case gets a
fresh database on each backend, so the database is seeded in one transaction.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

API = "/api/v1"
INC = f"{API}/incidents"
LIMIT = 64 * 1024  # the app fixture's max_body_bytes
NOBODY = "nobody@example.test"
RANDOM_ID = str(uuid.UUID(int=0x0123456789ABCDEF0123456789ABCDEF))  # well-formed, matches no row
JSON = {"Content-Type": "application/json"}


@dataclass
class Scene:
    db: Any
    admin: Any  # a conftest Person: the one who sends every request below
    bob_email: str
    ref: str
    incident_id: str
    entry_id: str

    @property
    def fill(self) -> dict[str, str]:
        return {"ref": self.ref, "id": self.incident_id, "entry": self.entry_id, "me": str(self.admin.id),
                "bob": self.bob_email}


@pytest.fixture
def scene(db, clock, system, make_person) -> Scene:
    """An admin to send requests, and (in one transaction, as this runs for every case) a
    responder, a team, a service and an incident the responder declared and noted on."""
    from tocsin.incidents.service import Declaration, declare
    from tocsin.incidents.timeline import add_note
    from tocsin.principal import OrgRole
    from tocsin.services.service import create_service
    from tocsin.severities import Severity
    from tocsin.teams.service import create_team
    from tocsin.users.service import create_user, principal_for

    admin = make_person("admin", name="Ada")
    now = clock.now()
    with db.unit_of_work() as s:
        bob = create_user(s, actor=system, now=now, email="bob@example.test", name="Bob", org_role=OrgRole.responder)
        create_team(s, actor=system, now=now, name="Platform", slug="platform")
        create_service(s, actor=system, now=now, name="Checkout", slug="checkout", owner_team="platform")
        as_bob = principal_for(s, bob)
        incident = declare(s, actor=as_bob, now=now,
                           spec=Declaration(title="Checkout errors", severity=Severity.SEV2, services=["checkout"]))
        entry = add_note(s, incident=incident, actor=as_bob, now=now, text="rolled back the deploy")
        return Scene(db=db, admin=admin, bob_email=bob.email, ref=f"INC-{incident.number}",
                     incident_id=str(incident.id), entry_id=str(entry.id))


def db_rows(db) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    from tocsin.models import Base

    # Plain SQL as the driver returns it: a select() per table would be compiled anew for every test's
    # engine (SQLAlchemy's statement cache is per engine), which cost most of this module's time.
    with db.engine.connect() as conn:
        return {table.name: sorted((tuple(row) for row in conn.exec_driver_sql(f'SELECT * FROM "{table.name}"')),
                                   key=repr)
                for table in Base.metadata.sorted_tables}


def refused(client, scene: Scene, method: str, path: str, status: int, code: str | None,
            **kwargs: Any) -> dict[str, Any]:
    """Send one request as the admin; assert it is refused with a clean error and wrote nothing.

    Nothing written means: every row of every table is as it was, and (read back through the
    API) the incident counts, the timeline length and the audit log length are as they were.
    Returns the error."""
    path = path.format_map(scene.fill)
    headers = {**scene.admin.headers, **kwargs.pop("headers", {})}
    before = db_rows(scene.db)
    r = client.request(method, path, headers=headers, **kwargs)
    err = assert_error(r, status, code)
    what = f"{method} {path} was refused but"
    assert db_rows(scene.db) == before, f"{what} changed the database"
    counts = _get(client, scene, f"{INC}/counts")
    assert counts["total"] == len(before["incidents"]), f"{what} changed the incident counts: {counts}"
    timeline = _get(client, scene, f"{INC}/{scene.ref}/timeline?limit=500")["items"]
    assert len(timeline) == len(before["timeline_entries"]), f"{what} changed the timeline"
    audit = _get(client, scene, f"{API}/audit?limit=500")["items"]
    assert len(audit) == len(before["audit_log"]), f"{what} wrote to the audit log"
    return err


def _get(client, scene: Scene, path: str) -> Any:
    r = client.get(path, headers=scene.admin.headers)
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
    return r.json()


def assert_error(r, status: int, code: str | None) -> dict[str, Any]:
    """Assert a JSON error envelope with this status (and code); return the inner error."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text[:500]}"
    assert r.headers["content-type"].startswith("application/json"), r.headers["content-type"]
    body = r.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == {"code", "message", "details"}, err
    assert isinstance(err["message"], str) and err["message"].strip(), err
    assert isinstance(err["details"], dict), err
    if code is not None:
        assert err["code"] == code, err
    return err


def error_types(err: dict[str, Any]) -> list[str]:
    return [e["type"] for e in err["details"].get("errors", [])]


def error_locs(err: dict[str, Any]) -> list[str]:
    return [".".join(e["loc"]) for e in err["details"].get("errors", [])]


def cursor(*parts: str | bytes) -> str:
    raw = b"|".join(p if isinstance(p, bytes) else p.encode() for p in parts)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def declaration(**extra: Any) -> dict[str, Any]:
    return {"title": "Payments down", "severity": "SEV2", **extra}


# --- malformed JSON ------------------------------------------------------------------------------

MALFORMED_JSON = [
    pytest.param("POST", INC, b'{"title": "Payments down", "severity": "SEV2"', id="truncated"),
    pytest.param("POST", INC, b"{'title': 'Payments down', 'severity': 'SEV2'}", id="single-quotes"),
    pytest.param("POST", INC, b'{"title": "Payments down", "severity": "SEV2",}', id="trailing-comma"),
    pytest.param("POST", INC, b'{"title": "Payments down"} {"severity": "SEV2"}', id="two-documents"),
    pytest.param("PATCH", INC + "/{ref}", b'{"status": "resolved"', id="patch-truncated"),
    pytest.param("PATCH", INC + "/{ref}/notes/{entry}", b'{"text": "a"]', id="note-edit-bracket"),
    pytest.param("POST", API + "/users", b"not json at all", id="users-prose"),
]


@pytest.mark.parametrize("method,path,body", MALFORMED_JSON)
def test_malformed_json_is_a_400(client, scene, method, path, body):
    err = refused(client, scene, method, path, 400, "malformed_json", content=body, headers=JSON)
    assert "json_invalid" in error_types(err)


# --- well-formed JSON of the wrong shape or type -------------------------------------------------

WRONG_TYPES = [
    # the body is not an object
    pytest.param("POST", INC, [], "body", id="empty-array"),
    pytest.param("POST", INC, [declaration()], "body", id="array-of-the-object"),
    pytest.param("POST", INC, "Payments down", "body", id="string"),
    pytest.param("POST", INC, None, "body", id="null"),
    pytest.param("PATCH", INC + "/{ref}", [{"status": "resolved"}], "body", id="patch-array"),
    pytest.param("PUT", API + "/teams/platform/members", ["{bob}"], "body", id="members-bare-array"),
    # a field of the wrong type
    pytest.param("POST", INC, declaration(title=42), "body.title", id="title-number"),
    pytest.param("POST", INC, declaration(services="checkout"), "body.services", id="services-string"),
    pytest.param("POST", INC, declaration(services=[1, 2]), "body.services.0", id="services-numbers"),
    pytest.param("POST", INC, declaration(impact={"customers_affected": "lots"}),
                 "body.impact.customers_affected", id="customers-string"),
    pytest.param("POST", INC, declaration(restricted="maybe"), "body.restricted", id="restricted-string"),
    pytest.param("POST", API + "/services", {"name": "Payments", "tier": "two"}, "body.tier", id="tier-string"),
    # values of the right type that the schema refuses
    pytest.param("POST", INC, declaration(severity="SEV5"), "body.severity", id="severity-unknown"),
    pytest.param("POST", INC, declaration(title=""), "body.title", id="title-empty"),
    pytest.param("POST", INC, declaration(impact={"customers_affected": -1}), "body.impact.customers_affected",
                 id="customers-negative"),
    pytest.param("POST", INC, declaration(impact={"customers_affected": 2**31}), "body.impact.customers_affected",
                 id="customers-over-32-bit"),
    pytest.param("POST", INC, declaration(services=["checkout"] * 101), "body.services", id="too-many-services"),
    pytest.param("PATCH", INC + "/{ref}", {"status": "done"}, "body.status", id="status-unknown"),
    # null for what always holds a value (omit a field to leave it alone)
    pytest.param("PATCH", INC + "/{ref}", {"summary": None}, "body.summary", id="patch-null-summary"),
    pytest.param("PATCH", INC + "/{ref}", {"title": "Renamed", "status": None}, "body.status", id="patch-null-status"),
    pytest.param("PATCH", INC + "/{ref}", {"severity": None}, "body.severity", id="patch-null-severity"),
    pytest.param("PATCH", INC + "/{ref}", {"kind": None}, "body.kind", id="patch-null-kind"),
    pytest.param("PATCH", INC + "/{ref}", {"restricted": None}, "body.restricted", id="patch-null-restricted"),
    pytest.param("PATCH", INC + "/{ref}", {"services": None}, "body.services", id="patch-null-services"),
    pytest.param("POST", INC + "/{ref}/notes", {"text": "x" * 20_001}, "body.text", id="note-too-long"),
    pytest.param("POST", API + "/services", {"name": "Payments", "tier": 5}, "body.tier", id="tier-5"),
    pytest.param("POST", API + "/users", {"email": "x@example.test", "name": "X", "password": "short"},
                 "body.password", id="password-short"),
    # NUL is a valid JSON string character but no tocsin value may hold it (PostgreSQL cannot store it)
    pytest.param("POST", INC, declaration(title="Pay\u0000ments"), "body.title", id="nul-in-title"),
    pytest.param("POST", INC, declaration(services=["check\u0000out"]), "body.services", id="nul-in-list"),
    pytest.param("POST", INC + "/{ref}/notes", {"text": "\u0000"}, "body.text", id="nul-note"),
    pytest.param("POST", API + "/users", {"email": "x\u0000@example.test", "name": "X"}, "body.email",
                 id="nul-email"),
    # re-escalating and reassigning an alert (refused before the alert is looked up)
    pytest.param("POST", API + f"/alerts/{RANDOM_ID}/escalate", {"level": 0}, "body.level", id="escalate-level-0"),
    pytest.param("POST", API + f"/alerts/{RANDOM_ID}/escalate", {"level": "two"}, "body.level",
                 id="escalate-level-string"),
    pytest.param("POST", API + f"/alerts/{RANDOM_ID}/reassign", {"targets": []}, "body.targets",
                 id="reassign-no-targets"),
    pytest.param("POST", API + f"/alerts/{RANDOM_ID}/reassign", {"targets": [{"type": "squad", "slug": "x"}]},
                 "body.targets.0.type", id="reassign-target-type"),
]


@pytest.mark.parametrize("method,path,body,loc", WRONG_TYPES)
def test_wrong_shape_or_type_is_a_422_naming_the_field(client, scene, method, path, body, loc):
    if isinstance(body, str):
        body = body.format_map(scene.fill)
    elif isinstance(body, list):
        body = [b.format_map(scene.fill) if isinstance(b, str) else b for b in body]
    elif isinstance(body, dict):
        body = {k: v.format_map(scene.fill) if isinstance(v, str) and "{" in v else v for k, v in body.items()}
    err = refused(client, scene, method, path, 422, "invalid_input", json=body)
    assert loc in error_locs(err), err


@pytest.mark.parametrize("content", [
    pytest.param(b'{"title": "Payments down", "severity": "SEV2", "impact": {"revenue_at_risk_per_hour": NaN}}',
                 id="NaN"),
    pytest.param(b'{"title": "Payments down", "severity": "SEV2", "impact": {"revenue_at_risk_per_hour": Infinity}}',
                 id="Infinity"),
    pytest.param(b'{"title": "Payments down", "severity": "SEV2", "impact": {"revenue_at_risk_per_hour": 1e400}}',
                 id="overflowing-float"),
])
def test_non_finite_numbers_are_refused(client, scene, content):
    err = refused(client, scene, "POST", INC, 422, "invalid_input", content=content, headers=JSON)
    assert "body.impact.revenue_at_risk_per_hour" in error_locs(err)


def test_empty_body_where_one_is_required(client, scene):
    err = refused(client, scene, "POST", INC, 422, "invalid_input", content=b"", headers=JSON)
    assert error_types(err) == ["missing"]


def test_json_sent_as_text_plain_is_not_taken_as_json(client, scene):
    refused(client, scene, "POST", INC, 422, "invalid_input", content=b'{"title": "x", "severity": "SEV2"}',
            headers={"Content-Type": "text/plain"})


# --- unknown fields (extra="forbid") ------------------------------------------------------------

UNKNOWN_FIELDS = [
    pytest.param("POST", INC, declaration(titel="typo"), "body.titel", id="declare-typo"),
    pytest.param("POST", INC, declaration(impact={"customers": 5}), "body.impact.customers", id="impact-typo"),
    pytest.param("PATCH", INC + "/{ref}", {"stauts": "resolved"}, "body.stauts", id="patch-typo"),
    pytest.param("PATCH", INC + "/{ref}", {"title": "Renamed", "declared_at": "2026-01-01T00:00:00Z"},
                 "body.declared_at", id="patch-read-only-field-with-a-valid-one"),
    pytest.param("POST", INC + "/{ref}/notes", {"text": "hello", "author": "someone"}, "body.author",
                 id="note-author"),
    pytest.param("PATCH", INC + "/{ref}/notes/{entry}", {"txt": "hello"}, "body.txt", id="note-edit-typo"),
    pytest.param("POST", API + "/users", {"email": "x@example.test", "name": "X", "is_admin": True},
                 "body.is_admin", id="user-is-admin"),
    pytest.param("PATCH", API + "/users/{me}", {"role": "viewer"}, "body.role", id="user-patch-role"),
    pytest.param("POST", API + "/tokens", {"name": "ci", "expires": "never"}, "body.expires", id="token-expires"),
    pytest.param("POST", API + "/services", {"name": "Payments", "owner": "platform"}, "body.owner",
                 id="service-owner-typo"),
    pytest.param("PATCH", API + "/services/checkout", {"slug": "renamed"}, "body.slug", id="service-patch-slug"),
    pytest.param("POST", API + f"/alerts/{RANDOM_ID}/reassign", {"policy": "p", "team": "ops"}, "body.team",
                 id="reassign-typo"),
]


@pytest.mark.parametrize("method,path,body,loc", UNKNOWN_FIELDS)
def test_unknown_fields_are_refused_not_ignored(client, scene, method, path, body, loc):
    err = refused(client, scene, method, path, 422, "invalid_input", json=body)
    assert "extra_forbidden" in error_types(err), err
    assert loc in error_locs(err), err


# --- oversized bodies ----------------------------------------------------------------------------

def _big(size: int) -> bytes:
    """A valid declaration (apart from its size) of exactly `size` bytes."""
    head, tail = b'{"title": "Payments down", "severity": "SEV2", "summary": "', b'"}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


OVERSIZED = [
    pytest.param("POST", INC, LIMIT + 1, id="declare-one-byte-over"),
    pytest.param("POST", INC, 10 * LIMIT, id="declare-ten-times"),
    pytest.param("PATCH", INC + "/{ref}", LIMIT + 1, id="patch"),
    pytest.param("POST", INC + "/{ref}/notes", 2 * LIMIT, id="note"),
]


@pytest.mark.parametrize("method,path,size", OVERSIZED)
def test_oversized_body_with_content_length_is_a_413(client, scene, method, path, size):
    body = _big(size)
    assert len(body) == size
    refused(client, scene, method, path, 413, "payload_too_large", content=body, headers=JSON)


@pytest.mark.parametrize("method,path,size", OVERSIZED)
def test_oversized_chunked_body_is_a_413(client, scene, method, path, size):
    body = _big(size)

    def chunks():  # a generator body: httpx sends it chunked, with no Content-Length
        for i in range(0, len(body), 4096):
            yield body[i:i + 4096]

    refused(client, scene, method, path, 413, "payload_too_large", content=chunks(), headers=JSON)


def test_a_body_at_the_limit_is_read_and_judged_on_its_content(client, scene):
    """The limit is inclusive: exactly 64 KiB is read, then refused for its 65,000-character summary."""
    err = refused(client, scene, "POST", INC, 422, "invalid_input", content=_big(LIMIT), headers=JSON)
    assert error_locs(err) == ["body.summary"] and error_types(err) == ["string_too_long"]


def test_content_length_that_is_not_a_number_is_a_400(client, scene):
    refused(client, scene, "POST", INC, 400, "bad_request", content=_big(100),
            headers={**JSON, "Content-Length": "lots"})


def _asgi_post(app, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[int, bytes, int]:
    """POST straight into the ASGI app, one http.request message per chunk; return
    (status, body, number of chunks the app read)."""
    pending = list(chunks)
    read = 0
    out: dict[str, Any] = {"status": None, "body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal read
        if not pending:
            return {"type": "http.disconnect"}
        read += 1
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": headers,
             "client": ("127.0.0.1", 1234), "server": ("testserver", 80)}
    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=30))
    return out["status"], out["body"], read


def test_a_streamed_body_is_cut_off_as_soon_as_it_passes_the_limit(app, scene):
    """Many small ASGI messages and no Content-Length: refused with 413 before the rest is read."""
    before = db_rows(scene.db)
    body = _big(4 * LIMIT)
    chunks = [body[i:i + 1024] for i in range(0, len(body), 1024)]
    headers = [(b"authorization", f"Bearer {scene.admin.token}".encode()), (b"content-type", b"application/json")]
    status, raw, read = _asgi_post(app, INC, headers, chunks)
    assert status == 413, raw
    assert json.loads(raw)["error"]["code"] == "payload_too_large"
    assert read == LIMIT // 1024 + 1 < len(chunks)  # it stopped reading one chunk past the limit
    assert db_rows(scene.db) == before


# --- bodies that are not UTF-8 ------------------------------------------------------------------

INVALID_UTF8 = [
    pytest.param(b'{"title": "Payments \xff\xfe down", "severity": "SEV2"}', id="ff-fe"),
    pytest.param(b'{"title": "caf\xe9", "severity": "SEV2"}', id="latin-1"),
    pytest.param(b'{"title": "\xc0\xaf", "severity": "SEV2"}', id="overlong-slash"),
    pytest.param(b"\x80\x81\x82", id="only-continuation-bytes"),
]


@pytest.mark.parametrize("body", INVALID_UTF8)
def test_invalid_utf8_body_is_a_400(client, scene, body):
    refused(client, scene, "POST", INC, 400, "malformed_body", content=body, headers=JSON)


@pytest.mark.parametrize("method,path,body,loc", [
    pytest.param("POST", INC, b'{"title": "\\ud800", "severity": "SEV2"}', "body.title", id="declare-title"),
    pytest.param("POST", INC, b'{"title": "x", "severity": "SEV2", "services": ["\\udfff"]}', "body.services",
                 id="declare-service"),
    pytest.param("POST", INC, b'{"title": "x", "severity": "SEV2", "\\ud800": 1}', "body", id="declare-key"),
    pytest.param("POST", INC + "/{ref}/notes", b'{"text": "a\\ud83d"}', "body.text", id="note-half-emoji"),
    # Python's JSON decoder lets UTF-8-encoded surrogates through as such: the same refusal
    pytest.param("POST", INC, b'{"title": "\xed\xa0\x80", "severity": "SEV2"}', "body.title",
                 id="utf8-encoded-surrogate"),
])
def test_lone_surrogates_are_a_422(client, scene, method, path, body, loc):
    """`"\\ud800"` is valid JSON but no Unicode string: refused, not stored or crashed on."""
    err = refused(client, scene, method, path, 422, "invalid_input", content=body, headers=JSON)
    assert loc in error_locs(err)


# --- odd characters and bytes in path segments --------------------------------------------------

WEIRD_PATHS = [
    pytest.param("GET", INC + "/%FF", 404, "not_found", id="incident-invalid-utf8"),
    pytest.param("GET", INC + "/%ED%A0%80", 404, "not_found", id="incident-encoded-surrogate"),
    pytest.param("GET", INC + "/%F0%9F%94%A5", 404, "not_found", id="incident-emoji"),
    pytest.param("GET", INC + "/%E2%80%AEINC-1", 404, "not_found", id="incident-rtl-override"),
    pytest.param("GET", INC + "/INC-%EF%BC%91", 404, "not_found", id="incident-fullwidth-digit"),
    pytest.param("GET", INC + "/" + "A" * 5000, 404, "not_found", id="incident-5000-chars"),
    pytest.param("GET", INC + "/..%2Fusers", 404, "not_found", id="incident-encoded-traversal"),
    pytest.param("PATCH", INC + "/%FF", 404, "not_found", id="patch-invalid-utf8"),
    pytest.param("GET", API + "/users/%FF", 404, "not_found", id="user-invalid-utf8"),
    pytest.param("GET", API + "/services/CHECKOUT", 404, "not_found", id="service-wrong-case"),
    # NUL is refused before it reaches a query (PostgreSQL cannot compare text holding it)
    pytest.param("GET", INC + "/%00", 422, "invalid_input", id="incident-nul"),
    pytest.param("GET", API + "/users/%00", 422, "invalid_input", id="user-nul"),
    pytest.param("GET", API + "/services/%00", 422, "invalid_input", id="service-nul"),
    pytest.param("GET", INC + "?q=%00", 422, "invalid_input", id="search-nul"),
    pytest.param("GET", API + "/services?team=%00", 422, "invalid_input", id="team-filter-nul"),
    # typed path segments
    pytest.param("GET", INC + "/{ref}/notes/%00/revisions", 422, "invalid_input", id="entry-nul"),
    pytest.param("DELETE", API + "/tokens/%F0%9F%94%A5", 422, "invalid_input", id="token-emoji"),
]


@pytest.mark.parametrize("method,path,status,code", WEIRD_PATHS)
def test_odd_characters_in_paths_are_a_clean_4xx(client, scene, method, path, status, code):
    kwargs = {"json": {"title": "Renamed"}} if method == "PATCH" else {}
    refused(client, scene, method, path, status, code, **kwargs)


# --- unknown ids and references -----------------------------------------------------------------

UNKNOWN = [
    # incidents by ref, id and garbage
    pytest.param("GET", INC + "/INC-999", None, 404, id="ref-999"),
    pytest.param("GET", INC + "/INC-", None, 404, id="ref-no-number"),
    pytest.param("GET", INC + "/INC-999999999999999999", None, 404, id="ref-18-digits"),
    pytest.param("GET", INC + "/" + RANDOM_ID, None, 404, id="random-uuid"),
    pytest.param("GET", INC + "/not-an-incident", None, 404, id="garbage"),
    pytest.param("PATCH", INC + "/INC-999", {"status": "resolved"}, 404, id="patch"),
    pytest.param("POST", INC + "/INC-999/notes", {"text": "hello"}, 404, id="note"),
    pytest.param("POST", INC + "/INC-999/roles", {"role": "scribe", "user": "{bob}"}, 404, id="assign-role"),
    # timeline entries
    pytest.param("PATCH", INC + "/{ref}/notes/" + RANDOM_ID, {"text": "hello"}, 404, id="note-edit-random"),
    pytest.param("PATCH", INC + "/INC-999/notes/{entry}", {"text": "hello"}, 404, id="note-edit-wrong-incident"),
    pytest.param("PATCH", INC + "/{ref}/notes/not-a-uuid", {"text": "hello"}, 422, id="note-edit-garbage"),
    # references inside bodies: nothing of a half-done declaration or change may remain
    pytest.param("POST", INC, declaration(services=["checkout", "no-such-service"]), 404, id="declare-service"),
    pytest.param("POST", INC, declaration(incident_commander=NOBODY), 404, id="declare-ic"),
    pytest.param("PATCH", INC + "/{ref}", {"title": "Renamed", "summary": "new", "services": ["nope"]}, 404,
                 id="patch-services-after-title"),
    pytest.param("POST", INC + "/{ref}/roles", {"role": "scribe", "user": NOBODY}, 404, id="role-user"),
    pytest.param("POST", INC + "/{ref}/participants", {"user": RANDOM_ID, "kind": "responder"}, 404,
                 id="participant-user"),
    # lookups by filter
    pytest.param("GET", INC + "?service=no-such-service", None, 404, id="filter-service"),
    pytest.param("GET", API + "/services?team=no-such-team", None, 404, id="services-team"),
    # the directory
    pytest.param("GET", API + "/users/" + NOBODY, None, 404, id="user-email"),
    pytest.param("PUT", API + "/teams/platform/members", {"users": ["{bob}", NOBODY]}, 404, id="members-user"),
    pytest.param("POST", API + "/services", {"name": "Payments", "owner_team": "no-such-team"}, 404,
                 id="service-owner"),
    pytest.param("POST", API + "/services", {"name": "Payments", "depends_on": ["checkout", "nope"]}, 404,
                 id="service-dependency"),
    pytest.param("PATCH", API + "/services/checkout", {"name": "Renamed", "depends_on": ["nope"]}, 404,
                 id="service-patch-dependency-after-name"),
    pytest.param("POST", API + "/tokens", {"name": "ci", "user": NOBODY}, 404, id="token-for-nobody"),
    pytest.param("DELETE", API + "/tokens/" + RANDOM_ID, None, 404, id="token-revoke"),
    pytest.param("DELETE", API + "/tokens/not-a-uuid", None, 422, id="token-revoke-garbage"),
    # alerts
    pytest.param("POST", API + f"/alerts/{RANDOM_ID}/escalate", {"level": None}, 404, id="escalate-random"),
    pytest.param("POST", API + f"/alerts/{RANDOM_ID}/reassign", {"policy": "p"}, 404, id="reassign-random"),
    pytest.param("POST", API + "/alerts/not-a-uuid/escalate", {"level": None}, 422, id="escalate-garbage"),
    # no such route or method
    pytest.param("GET", API + "/incident/INC-1", None, 404, id="no-such-route"),
    pytest.param("DELETE", INC + "/{ref}", None, 405, id="no-such-method"),
]


@pytest.mark.parametrize("method,path,body,status", UNKNOWN)
def test_unknown_ids_and_refs(client, scene, method, path, body, status):
    if isinstance(body, dict):
        body = {k: ([x.format_map(scene.fill) for x in v] if isinstance(v, list) else
                    v.format_map(scene.fill) if isinstance(v, str) else v) for k, v in body.items()}
    code = {404: "not_found", 405: "method_not_allowed", 422: "invalid_input"}[status]
    kwargs = {} if body is None else {"json": body}
    refused(client, scene, method, path, status, code, **kwargs)


# --- cursors and limits -------------------------------------------------------------------------

BAD_CURSORS = [
    pytest.param(INC, "garbage", id="incidents-garbage"),
    pytest.param(INC, "%C3%A9t%C3%A9", id="incidents-non-ascii"),
    pytest.param(INC, cursor(b"\xff\xfe\xfd"), id="incidents-not-utf8"),
    pytest.param(INC, cursor(RANDOM_ID, "extra"), id="incidents-two-parts"),
    pytest.param(INC, cursor("2026-01-01T00:00:00+00:00", RANDOM_ID), id="incidents-timeline-cursor"),
    pytest.param(INC + "/{ref}/timeline", cursor(RANDOM_ID), id="timeline-one-part"),
    pytest.param(INC + "/{ref}/timeline", cursor("2026-01-01T00:00:00", RANDOM_ID), id="timeline-naive-time"),
    pytest.param(INC + "/{ref}/timeline", cursor("yesterday", RANDOM_ID), id="timeline-not-a-time"),
    pytest.param(API + "/services", cursor(RANDOM_ID, RANDOM_ID), id="services-two-parts"),
]


@pytest.mark.parametrize("path,value", BAD_CURSORS)
def test_invalid_cursor_is_a_422_naming_the_cursor(client, scene, path, value):
    err = refused(client, scene, "GET", f"{path}?cursor={value}", 422, "invalid_input")
    assert err["details"] == {"field": "cursor"}


@pytest.mark.parametrize("path", [INC, INC + "/{ref}/timeline", API + "/services"])
def test_overlong_cursor_is_a_422(client, scene, path):
    err = refused(client, scene, "GET", f"{path}?cursor={'A' * 301}", 422, "invalid_input")
    assert "query.cursor" in error_locs(err)


BAD_LIMITS = [
    pytest.param(INC, "limit=0", id="incidents-0"),
    pytest.param(INC, "limit=501", id="incidents-501"),
    pytest.param(INC, "limit=ten", id="incidents-word"),
    pytest.param(INC, "limit=99999999999999999999999999", id="incidents-huge"),
    pytest.param(INC + "/{ref}/timeline", "limit=501", id="timeline-501"),
    pytest.param(API + "/services", "limit=-5", id="services-negative"),
    pytest.param(API + "/audit", "limit=501", id="audit-501"),
    pytest.param(API + "/audit", "after=-1", id="audit-after-negative"),
    pytest.param(API + "/audit", f"after={2**62 + 1}", id="audit-after-huge"),
    # other query parameters of the wrong type or shape
    pytest.param(INC, "status=done", id="filter-status-unknown"),
    pytest.param(INC, "severity=SEV9", id="filter-severity-unknown"),
    pytest.param(INC + "/counts", "severity=P7", id="counts-severity-unknown"),
    pytest.param(INC, "q=" + "x" * 201, id="filter-q-too-long"),
]


@pytest.mark.parametrize("path,query", BAD_LIMITS)
def test_out_of_range_or_mistyped_query_parameters_are_a_422(client, scene, path, query):
    err = refused(client, scene, "GET", f"{path}?{query}", 422, "invalid_input")
    name = query.split("=", 1)[0]
    named = any(loc.startswith(f"query.{name}") for loc in error_locs(err)) or err["details"].get("field") == name
    assert named, err


# --- times: naive, malformed, in the future -----------------------------------------------------

NAIVE = "2026-01-01T10:00:00"

BAD_TIMES = [
    # no time zone where an aware time is required
    pytest.param("POST", INC, declaration(detected_at=NAIVE), "body.detected_at", "timezone_aware",
                 id="declare-naive"),
    pytest.param("POST", INC, declaration(detected_at="2026-01-01"), "body.detected_at", "timezone_aware",
                 id="declare-date-only"),
    pytest.param("PATCH", INC + "/{ref}", {"detected_at": NAIVE}, "body.detected_at", "timezone_aware",
                 id="patch-naive"),
    pytest.param("PATCH", INC + "/{ref}", {"title": "Renamed", "impact_started_at": NAIVE},
                 "body.impact_started_at", "timezone_aware", id="patch-naive-with-title"),
    pytest.param("POST", INC + "/{ref}/notes", {"text": "hello", "occurred_at": NAIVE}, "body.occurred_at",
                 "timezone_aware", id="note-naive"),
    # not a time at all, or no such date
    pytest.param("POST", INC, declaration(detected_at="yesterday"), "body.detected_at", None, id="declare-word"),
    pytest.param("POST", INC, declaration(detected_at="2026-02-30T10:00:00Z"), "body.detected_at", None,
                 id="declare-feb-30"),
    pytest.param("POST", INC, declaration(detected_at="2026-01-01T10:00:00+25:00"), "body.detected_at", None,
                 id="declare-offset-25h"),
    # out of range once converted to UTC
    pytest.param("POST", INC, declaration(detected_at="9999-12-31T23:59:59-14:00"), "body.detected_at", None,
                 id="declare-after-max-in-utc"),
    pytest.param("POST", INC + "/{ref}/notes", {"text": "hello", "occurred_at": "0001-01-01T00:00:00+14:00"},
                 "body.occurred_at", None, id="note-before-min-in-utc"),
]


@pytest.mark.parametrize("method,path,body,loc,error_type", BAD_TIMES)
def test_naive_or_malformed_times_are_a_422(client, scene, method, path, body, loc, error_type):
    err = refused(client, scene, method, path, 422, "invalid_input", json=body)
    assert loc in error_locs(err), err
    if error_type:
        assert error_type in error_types(err), err


# The test clock stands at 2026-01-01T12:00:00Z.
FUTURE = [
    pytest.param("POST", INC + "/{ref}/notes", {"text": "hello", "occurred_at": "2026-01-01T12:00:01Z"},
                 "occurred_at", id="note-one-second-ahead"),
    pytest.param("POST", INC + "/{ref}/notes", {"text": "hello", "occurred_at": "9999-12-31T23:59:59Z"},
                 "occurred_at", id="note-year-9999"),
    pytest.param("POST", INC, declaration(detected_at="2026-01-02T00:00:00Z"), "detected_at", id="declare-detected"),
    pytest.param("POST", INC, declaration(impact_started_at="2027-01-01T00:00:00Z"), "impact_started_at",
                 id="declare-impact-started"),
    pytest.param("PATCH", INC + "/{ref}", {"detected_at": "2026-01-01T12:00:01Z"}, "detected_at",
                 id="patch-detected"),
    pytest.param("PATCH", INC + "/{ref}",
                 {"title": "Renamed", "summary": "s", "impact_started_at": "2030-01-01T00:00:00Z"},
                 "impact_started_at", id="patch-impact-started-after-title"),
]


@pytest.mark.parametrize("method,path,body,field", FUTURE)
def test_times_in_the_future_are_a_422(client, scene, method, path, body, field):
    err = refused(client, scene, method, path, 422, "invalid_input", json=body)
    assert err["details"] == {"field": field}, err


def test_detected_at_cannot_be_cleared(client, scene):
    err = refused(client, scene, "PATCH", INC + "/{ref}", 422, "invalid_input",
                  json={"title": "Renamed", "detected_at": None})
    assert err["details"] == {"field": "detected_at"}


# --- illegal status transitions -----------------------------------------------------------------

ILLEGAL = [
    # from investigating (where the scene's incident is)
    pytest.param([], {"status": "closed"}, "investigating", id="investigating-closed"),
    pytest.param([], {"status": "declined"}, "investigating", id="investigating-declined"),
    pytest.param([], {"status": "postmortem"}, "investigating", id="investigating-postmortem"),
    pytest.param([], {"status": "triage"}, "investigating", id="investigating-triage"),
    # other changes in the same request are not applied either
    pytest.param([], {"title": "Renamed", "summary": "s", "severity": "SEV1", "restricted": True,
                      "impact": {"customers_affected": 5000}, "status": "closed"},
                 "investigating", id="with-other-changes"),
    pytest.param([{"status": "resolved"}], {"status": "mitigated"}, "resolved", id="resolved-mitigated"),
    pytest.param([{"status": "resolved"}, {"status": "postmortem"}], {"status": "resolved"}, "postmortem",
                 id="postmortem-resolved"),
    pytest.param([{"status": "resolved"}, {"status": "closed", "postmortem_waived_reason": "test"}],
                 {"status": "investigating"}, "closed",
                 id="closed-is-final"),
]


@pytest.mark.parametrize("steps,change,current", ILLEGAL)
def test_illegal_transition_is_a_409_naming_the_allowed_ones(client, scene, steps, change, current):
    from tocsin.incidents.lifecycle import TRANSITIONS
    from tocsin.incidents.types import Status

    for step in steps:
        r = client.patch(f"{INC}/{scene.ref}", json=step, headers=scene.admin.headers)
        assert r.status_code == 200, r.text
    err = refused(client, scene, "PATCH", INC + "/{ref}", 409, "illegal_transition", json=change)
    allowed = sorted(s.value for s in TRANSITIONS[Status(current)].allowed)
    assert err["details"] == {"from": current, "to": change["status"], "allowed": allowed}, err
    assert change["status"] not in allowed
    for name in allowed:
        assert name in err["message"]


# --- other refusals that must leave nothing behind ----------------------------------------------

CONFLICTS = [
    pytest.param("POST", API + "/users", {"email": "{bob}", "name": "Bob again"}, 409, "conflict",
                 id="user-email-taken"),
    pytest.param("POST", API + "/teams", {"name": "Platform"}, 409, "conflict", id="team-slug-taken"),
    pytest.param("POST", API + "/services", {"name": "Checkout"}, 409, "conflict", id="service-slug-taken"),
    pytest.param("PATCH", API + "/services/checkout", {"depends_on": ["checkout"]}, 422, "invalid_input",
                 id="service-depends-on-itself"),
    pytest.param("POST", INC + "/{ref}/roles", {"role": "forensics_lead", "user": "{bob}"}, 422, "invalid_input",
                 id="security-role-on-operational"),
    pytest.param("POST", INC + "/{ref}/participants", {"user": "{bob}", "kind": "observer"}, 409, "conflict",
                 id="ic-cannot-just-observe"),
    pytest.param("POST", INC, declaration(severity="SEV4", impact={"customers_affected": 5000}), 422,
                 "invalid_input", id="severity-below-suggestion-without-reason"),
    pytest.param("POST", INC, declaration(status="resolved"), 422, "invalid_input", id="declare-resolved"),
    pytest.param("POST", INC, declaration(title="   "), 422, "invalid_input", id="declare-blank-title"),
    pytest.param("POST", INC + "/{ref}/notes", {"text": "   "}, 422, "invalid_input", id="blank-note"),
    pytest.param("POST", API + "/users", {"email": "not-an-email", "name": "X"}, 422, "invalid_input",
                 id="user-bad-email"),
    pytest.param("POST", API + "/users", {"email": "x@example.test", "name": "X", "time_zone": "Mars/Olympus"}, 422,
                 "invalid_input", id="user-bad-time-zone"),
    pytest.param("PATCH", API + "/users/{me}", {"name": "Renamed", "time_zone": "../../etc/passwd"}, 422,
                 "invalid_input", id="user-patch-traversal-time-zone"),
]


@pytest.mark.parametrize("method,path,body,status,code", CONFLICTS)
def test_refused_changes_leave_nothing_behind(client, scene, method, path, body, status, code):
    body = {k: v.format_map(scene.fill) if isinstance(v, str) else v for k, v in body.items()}
    refused(client, scene, method, path, status, code, json=body)

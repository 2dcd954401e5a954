"""The monitors API: bad input is refused with a 4xx and changes nothing; only admins change
monitors; anyone authenticated reads them; nobody unauthenticated does anything."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

API = "/api/v1"
HB, CHECKS = f"{API}/heartbeats", f"{API}/checks"
RANDOM_ID = str(uuid.UUID(int=0x0123456789ABCDEF0123456789ABCDEF))
GOOD_CHECK = {"service": "web", "name": "homepage", "kind": "http", "target": "https://example.test/health",
              "interval_seconds": 60, "timeout_seconds": 5}
GOOD_HB = {"service": "web", "name": "backup", "interval_seconds": 3600}


def db_rows(db) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    from tocsin.models import Base

    with db.engine.connect() as conn:
        return {table.name: sorted((tuple(row) for row in conn.execute(sa.select(table))), key=repr)
                for table in Base.metadata.sorted_tables}


@pytest.fixture
def scene(client, make_person, make_service):
    make_service("web")
    admin = make_person("admin")
    r = client.post(CHECKS, json={**GOOD_CHECK, "headers": {"Authorization": "Bearer s3cret", "Accept": "*/*"}},
                    headers=admin.headers)
    assert r.status_code == 201, r.text
    h = client.post(HB, json=GOOD_HB, headers=admin.headers)
    assert h.status_code == 201, h.text
    return {"admin": admin, "check": r.json()["id"], "heartbeat": h.json()["id"]}


def refused(client, db, method: str, path: str, person, status: int, **kwargs: Any) -> dict[str, Any]:
    before = db_rows(db)
    r = client.request(method, path, headers=person.headers if person else {}, **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"} and body["error"]["message"]
    assert db_rows(db) == before, f"{method} {path} was refused but wrote to the database"
    return body["error"]


def check(**changes: Any) -> dict[str, Any]:
    body = {**GOOD_CHECK, **changes}
    return {k: v for k, v in body.items() if v is not ...}


BAD_CHECKS = [
    pytest.param(check(target="ftp://example.test/"), "target", id="ftp-url"),
    pytest.param(check(target="example.test/health"), "target", id="no-scheme"),
    pytest.param(check(target="http://"), "target", id="no-host"),
    pytest.param(check(target="http://exa mple.test/"), "target", id="space-in-host"),
    pytest.param(check(kind="tcp", target="db.example.test"), "target", id="tcp-no-port"),
    pytest.param(check(kind="tcp", target="db.example.test:99999"), "target", id="tcp-port-range"),
    pytest.param(check(kind="tcp", target="db:5432", keyword="x"), "keyword", id="tcp-keyword"),
    pytest.param(check(kind="smtp"), "kind", id="kind"),
    pytest.param(check(method="DELETE"), "method", id="method"),
    pytest.param(check(interval_seconds=10, timeout_seconds=10), "timeout_seconds", id="timeout-equals-interval"),
    pytest.param(check(interval_seconds=30, timeout_seconds=45), "timeout_seconds", id="timeout-over-interval"),
    pytest.param(check(timeout_seconds=0.1), "timeout_seconds", id="timeout-too-small"),
    pytest.param(check(timeout_seconds=61), "timeout_seconds", id="timeout-too-big"),
    pytest.param(check(interval_seconds=5), "interval_seconds", id="interval-too-small"),
    pytest.param(check(interval_seconds=86401), "interval_seconds", id="interval-too-big"),
    pytest.param(check(expected_statuses="abc"), "expected_statuses", id="statuses-not-numbers"),
    pytest.param(check(expected_statuses="200-99"), "expected_statuses", id="statuses-out-of-range"),
    pytest.param(check(expected_statuses="300-200"), "expected_statuses", id="statuses-backwards"),
    pytest.param(check(expected_statuses="200,,300"), "expected_statuses", id="statuses-empty-item"),
    pytest.param(check(expected_statuses="600"), "expected_statuses", id="statuses-600"),
    pytest.param(check(failures_to_alert=0), "failures_to_alert", id="failures-zero"),
    pytest.param(check(successes_to_resolve=21), "successes_to_resolve", id="successes-too-many"),
    pytest.param(check(latency_threshold_ms=0), "latency_threshold_ms", id="latency-zero"),
    pytest.param(check(tls_expiry_warn_days=0), "tls_expiry_warn_days", id="tls-days-zero"),
    pytest.param(check(headers={f"X-H{i}": "v" for i in range(21)}), "headers", id="headers-too-many"),
    pytest.param(check(headers={"Bad Name": "v"}), "headers", id="header-name"),
    pytest.param(check(headers={"X-A": "v\r\nX-Injected: 1"}), "headers", id="header-newline"),
    pytest.param(check(headers={"X-A": "v\x00"}), "headers", id="header-nul"),
    pytest.param(check(headers={"X-A": 1}), "headers", id="header-not-string"),
    pytest.param(check(name=""), "name", id="empty-name"),
    pytest.param(check(name="   "), "name", id="blank-name"),
    pytest.param(check(target="http://a\x00b/"), "target", id="nul-in-target"),
    pytest.param(check(frequency=60), "frequency", id="unknown-field"),
    pytest.param(check(kind=...), "kind", id="missing-kind"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CHECKS)
def test_bad_check_is_refused_and_changes_nothing(client, db, scene, body, field):
    err = refused(client, db, "POST", CHECKS, scene["admin"], 422, json=body)
    assert err["code"] == "invalid_input"
    assert field in err["message"], err


BAD_HEARTBEATS = [
    pytest.param({**GOOD_HB, "interval_seconds": 9}, id="interval-too-small"),
    pytest.param({**GOOD_HB, "interval_seconds": 604801}, id="interval-too-big"),
    pytest.param({**GOOD_HB, "grace_seconds": -1}, id="grace-negative"),
    pytest.param({**GOOD_HB, "grace_seconds": 86401}, id="grace-too-big"),
    pytest.param({**GOOD_HB, "name": "  "}, id="blank-name"),
    pytest.param({**GOOD_HB, "key": "0" * 32}, id="choosing-the-key"),
    pytest.param({"service": "web", "name": "x"}, id="missing-interval"),
]


@pytest.mark.parametrize("body", BAD_HEARTBEATS)
def test_bad_heartbeat_is_refused_and_changes_nothing(client, db, scene, body):
    assert refused(client, db, "POST", HB, scene["admin"], 422, json=body)["code"] == "invalid_input"


@pytest.mark.parametrize("path", [HB, CHECKS])
def test_unknown_service_is_a_404(client, db, scene, path):
    body = {**(GOOD_HB if path == HB else GOOD_CHECK), "service": "nope"}
    assert refused(client, db, "POST", path, scene["admin"], 404, json=body)["code"] == "not_found"


BAD_PATCHES = [
    pytest.param({"timeout_seconds": 60}, id="timeout-over-current-interval"),
    pytest.param({"interval_seconds": 10, "timeout_seconds": 10}, id="timeout-equals-new-interval"),
    pytest.param({"interval_seconds": 5}, id="interval-too-small"),
    pytest.param({"kind": "tcp"}, id="kind-without-tcp-target"),
    pytest.param({"expected_statuses": "2xx"}, id="statuses"),
    pytest.param({"target": "gopher://example.test/"}, id="target"),
    pytest.param({"name": None}, id="null-name"),
    pytest.param({"enabled": None}, id="null-enabled"),
    pytest.param({"interval_seconds": None}, id="null-interval"),
    pytest.param({"service": "web"}, id="unknown-field"),
]


@pytest.mark.parametrize("body", BAD_PATCHES)
def test_bad_patch_is_refused_and_changes_nothing(client, db, scene, body):
    err = refused(client, db, "PATCH", f"{CHECKS}/{scene['check']}", scene["admin"], 422, json=body)
    assert err["code"] == "invalid_input"


def test_patch_changes_only_what_is_sent_and_null_clears_optional_fields(client, db, scene):
    admin, path = scene["admin"], f"{CHECKS}/{scene['check']}"
    r = client.patch(path, json={"keyword": "ok", "latency_threshold_ms": 500, "expected_statuses": "200-299, 301"},
                     headers=admin.headers)
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["keyword"], got["latency_threshold_ms"], got["expected_statuses"]) == ("ok", 500, "200-299,301")
    assert got["interval_seconds"] == 60 and got["name"] == "homepage"
    r = client.patch(path, json={"keyword": None, "kind": "tcp", "target": "db.example.test:5432"},
                     headers=admin.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["keyword"], r.json()["kind"], r.json()["latency_threshold_ms"]) == (None, "tcp", 500)
    actions = [e["action"] for e in client.get(f"{API}/audit", headers=admin.headers).json()["items"]]
    assert actions.count("check.create") == 1 and actions.count("check.update") == 2


ROUTES = [
    ("POST", HB), ("GET", HB), ("GET", HB + "/{heartbeat}"), ("DELETE", HB + "/{heartbeat}"),
    ("POST", CHECKS), ("GET", CHECKS), ("GET", CHECKS + "/{check}"), ("PATCH", CHECKS + "/{check}"),
    ("DELETE", CHECKS + "/{check}"), ("GET", CHECKS + "/{check}/results"), ("GET", CHECKS + "/{check}/uptime"),
]
WRITES = {("POST", HB), ("DELETE", HB + "/{heartbeat}"), ("POST", CHECKS), ("PATCH", CHECKS + "/{check}"),
          ("DELETE", CHECKS + "/{check}")}


def _body(method: str, path: str) -> dict[str, Any] | None:
    if method == "POST":
        return GOOD_HB if path == HB else GOOD_CHECK
    if method == "PATCH":
        return {"name": "renamed"}
    return None


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_unauthenticated_is_a_401(client, db, scene, method, path):
    path = path.format(**scene)
    err = refused(client, db, method, path, None, 401, json=_body(method, path))
    assert err["code"] == "unauthenticated"
    r = client.request(method, path, headers={"Authorization": "Bearer tcs_not-a-token"}, json=_body(method, path))
    assert r.status_code == 401


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_only_admins_change_monitors_and_everyone_reads(client, db, scene, make_person, role):
    person = make_person(role)
    for method, path in ROUTES:
        path = path.format(**scene)
        if (method, path.replace(scene["check"], "{check}").replace(scene["heartbeat"], "{heartbeat}")) in WRITES:
            err = refused(client, db, method, path, person, 403, json=_body(method, path))
            assert err["code"] == "forbidden"
        else:
            r = client.request(method, path, headers=person.headers)
            assert r.status_code == 200, f"{method} {path}: {r.text}"


def test_header_values_are_shown_to_admins_only(client, scene, make_person):
    viewer = make_person("viewer")
    path = f"{CHECKS}/{scene['check']}"
    assert client.get(path, headers=scene["admin"].headers).json()["headers"]["Authorization"] == "Bearer s3cret"
    for r in (client.get(path, headers=viewer.headers), client.get(CHECKS, headers=viewer.headers)):
        assert r.status_code == 200 and "s3cret" not in r.text and "Authorization" in r.text
    actions = client.get(f"{API}/audit", headers=scene["admin"].headers).text
    assert "s3cret" not in actions  # the audit log keeps header names, not values


@pytest.mark.parametrize("path", [HB + "/" + RANDOM_ID, CHECKS + "/" + RANDOM_ID, CHECKS + "/" + RANDOM_ID + "/results",
                                  CHECKS + "/" + RANDOM_ID + "/uptime"])
def test_unknown_ids_are_404(client, scene, path):
    r = client.get(path, headers=scene["admin"].headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 1001}, {"since": "2026-01-01T00:00:00"}])
def test_bad_results_query(client, scene, query):
    r = client.get(f"{CHECKS}/{scene['check']}/results", params=query, headers=scene["admin"].headers)
    assert r.status_code == 422


@pytest.mark.parametrize("hours", [0, 24 * 90 + 1, "day"])
def test_bad_uptime_window(client, scene, hours):
    r = client.get(f"{CHECKS}/{scene['check']}/uptime", params={"hours": hours}, headers=scene["admin"].headers)
    assert r.status_code == 422

"""Property-based API fuzzing with schemathesis, in-process over ASGI, on SQLite and PostgreSQL.

Every operation in the app's /openapi.json gets schemathesis' generated requests (its
coverage and fuzzing phases, with valid and deliberately invalid input) sent with an
admin's bearer token. Two checks must hold for every response:

- not_a_server_error: no 5xx, whatever the input;
- response_schema_conformance: the body matches what the schema documents for its status
  code (2xx bodies, and the `{"error": {...}}` shape documented for every 4xx).

There is one test per operation, on SQLite: what is checked here (validation, status codes, response
shapes) does not depend on the backend, and every route runs on PostgreSQL in tests/api/test_routes_smoke.py.
The database is seeded once per module (worker) with users, a team, a service, an incident with a note,
a spare token and more; an operation that may write (anything but GET and HEAD) gets its own copy of
that seeded SQLite file, while the read-only operations share one. Path parameters are sometimes
swapped for the keys of those rows (see `flatmap_path_parameters`), so the GET/PATCH-by-key
operations reach real rows rather than only ever answering 404.

Bounded and reproducible: MAX_EXAMPLES generated cases per operation with derandomize=True,
so CI sends the same requests on every run. Set TOCSIN_FUZZ_EXAMPLES to fuzz harder locally.

The schema is loaded at import time with `schemathesis.openapi.from_asgi` rather than through
`schemathesis.pytest.from_fixture`: the lazy fixture loader of schemathesis 4.32 reads
`request.node._nodeid`, which pytest 9.2 no longer has. The schema does not depend on the
database, so each test just sends its requests to its own `app` fixture.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.hypothesis import builder as hypothesis_builder
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.harness.ingest import AppliedClient
from tests.harness.people import person_factory, service_factory, team_factory
from tocsin.app import create_app
from tocsin.clock import ManualClock
from tocsin.config import Settings
from tocsin.db import Database
from tocsin.principal import Principal

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("TOCSIN_FUZZ_EXAMPLES", "20"))
CHECKS = [not_a_server_error, response_schema_conformance]


def _load_schema() -> Any:
    """Load /openapi.json over ASGI from an app whose database is never touched."""
    db = Database("sqlite://")
    try:
        app = create_app(settings=Settings(max_body_bytes=64 * 1024, secret_key="schema-only"), db=db)
        return schemathesis.openapi.from_asgi("/openapi.json", app)
    finally:
        db.dispose()


schema = _load_schema()


# schemathesis plans every operation's coverage-phase cases (hypothesis @example()s) while it collects
# the tests: ~15 s of CPU for ~300 operations, in every xdist worker, although each worker runs only its
# share. The planning is deferred to each test's setup (`_coverage_cases` below): the same cases, made by
# the same code, only for the tests this process runs. hypothesis reads a test's explicit examples when
# it runs, from the function they were attached to, which `add_coverage` changes in place.
_add_coverage = hypothesis_builder.add_coverage


def _add_coverage_later(test: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
    test._tocsin_plan_coverage = lambda: _add_coverage(test, *args, **kwargs)  # type: ignore[attr-defined]
    return test


hypothesis_builder.add_coverage = _add_coverage_later


@pytest.fixture(autouse=True)
def _coverage_cases(request: pytest.FixtureRequest) -> None:
    """Attach this operation's coverage-phase cases to its test before it runs (see above)."""
    if getattr(request.node, "operation_label", None) is None:
        return  # not one of the schema's tests
    plan = getattr(request.node.obj, "_tocsin_plan_coverage", None)
    assert plan is not None, "schemathesis no longer builds its tests as tests/api/test_schemathesis.py expects"
    del request.node.obj._tocsin_plan_coverage
    assert plan() is request.node.obj

# Keys of the rows the `seeded` fixture made (the same in every copy of its database), by path parameter kind.
KNOWN: dict[str, list[str]] = {}


def _known_keys(path: str) -> dict[str, list[str]]:
    """Path parameter name -> keys of seeded rows, for the operation at `path`."""
    if path.startswith("/api/v1/incidents/{key}"):
        return {"key": KNOWN["incident"], "entry_id": KNOWN["entry"]}
    for prefix, kind in (("/api/v1/users/{key}", "user"), ("/api/v1/teams/{key}", "team"),
                         ("/api/v1/services/{key}", "service")):
        if path.startswith(prefix):
            return {"key": KNOWN[kind]}
    if path.startswith("/api/v1/tokens/{token_id}"):
        return {"token_id": KNOWN["token"]}
    if path.startswith("/api/v1/schedules/{key}"):  # (KNOWN is empty until `seeded` runs)
        return {"key": KNOWN.get("schedule", []), "layer_id": KNOWN.get("layer", [])}
    if path.startswith("/api/v1/alerts/{alert_id}"):
        return {"alert_id": KNOWN.get("alert", [])}
    for prefix, name, kind in (("/api/v1/postmortems/{postmortem_id}", "postmortem_id", "postmortem"),
                               ("/api/v1/postmortem-templates/{template_id}", "template_id", "template"),
                               ("/api/v1/action-items/{item_id}", "item_id", "action_item")):
        if path.startswith(prefix):
            return {name: KNOWN.get(kind, [])}
    if path.startswith("/api/v1/problems/{problem_id}"):
        return {"problem_id": KNOWN.get("problem", []), "key": KNOWN.get("incident", [])}
    if path.startswith("/api/v1/status-pages/{slug}"):
        return {"slug": KNOWN.get("status_page", []), "component_id": KNOWN.get("component", []),
                "status_incident_id": KNOWN.get("status_incident", []),
                "maintenance_id": KNOWN.get("maintenance", []), "subscriber_id": KNOWN.get("subscriber", [])}
    return {}


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> st.SearchStrategy:
    """Keep the generated path parameters, or (about half the time) name seeded rows instead."""
    known = {name: keys for name, keys in _known_keys(context.operation.path).items()
             if name in (path_parameters or {}) and keys}
    if not known:
        return st.just(path_parameters)
    real = st.fixed_dictionaries({name: st.sampled_from(keys) for name, keys in known.items()})
    return st.one_of(st.just(path_parameters), real.map(lambda chosen: {**path_parameters, **chosen}))


READ_ONLY = {"GET", "HEAD"}


class Served:
    """An app with its lifespan running (as the `client` fixture runs it) on a SQLite file."""

    def __init__(self, path: Path) -> None:
        self.db = Database(f"sqlite:///{path}")
        self.clock = ManualClock()
        self.app = create_app(settings=Settings(max_body_bytes=64 * 1024, secret_key="test-secret"), db=self.db,
                              clock=self.clock)
        self.client = AppliedClient(self.app, raise_server_exceptions=False).__enter__()

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.app.state.ingest.close()
        self.db.dispose()


@pytest.fixture(scope="module")
def seeded(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A seeded SQLite file (the template for every operation's database) and the admin's auth headers."""
    path = tmp_path_factory.mktemp("fuzz") / "seeded.db"
    shutil.copy(_sqlite_template, path)
    served = Served(path)
    try:
        system = Principal.system("tests")
        headers = _seed(served.client, person_factory(served.db, served.clock, system),
                        team_factory(served.db, served.clock, system),
                        service_factory(served.db, served.clock, system))
    finally:
        served.close()
    return path, headers


@pytest.fixture(scope="module")
def shared_reader(seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One app on one copy of the seeded database for every read-only operation."""
    path = tmp_path_factory.mktemp("fuzz-read") / "tocsin.db"
    shutil.copy(seeded[0], path)
    served = Served(path)
    yield served
    served.close()


@pytest.fixture
def app_for(request: pytest.FixtureRequest, seeded, tmp_path: Path) -> Iterator[Callable[[str], Any]]:
    """app_for(method) -> the app to send this operation's requests to: the shared read-only one for
    GET and HEAD, otherwise one on this test's own copy of the seeded database."""
    own: list[Served] = []

    def app(method: str) -> Any:
        if method.upper() in READ_ONLY:
            return request.getfixturevalue("shared_reader").app
        if not own:
            shutil.copy(seeded[0], tmp_path / "tocsin.db")
            own.append(Served(tmp_path / "tocsin.db"))
        return own[0].app

    yield app
    for served in own:
        served.close()


def _seed(client, make_person, make_team, make_service) -> dict[str, str]:
    """Seed rows for generated keys to hit; return the admin's auth headers."""
    admin = make_person("admin", name="Ada")
    bob = make_person("responder", name="Bob")
    make_team("platform")
    service_id = make_service("checkout", owner_team="platform")
    r = client.post("/api/v1/incidents", headers=bob.headers,
                    json={"title": "Checkout errors", "severity": "SEV2", "services": ["checkout"]})
    assert r.status_code == 201, r.text
    incident = r.json()
    r = client.post(f"/api/v1/incidents/{incident['ref']}/notes", headers=bob.headers,
                    json={"text": "rolled back the deploy"})
    assert r.status_code == 201, r.text
    entry_id = r.json()["id"]
    r = client.post("/api/v1/schedules", headers=admin.headers, json={"name": "Ops", "timezone": "Europe/Berlin"})
    assert r.status_code == 201, r.text
    r = client.post("/api/v1/schedules/ops/layers", headers=admin.headers, json={
        "name": "primary", "kind": "daily", "timezone": "Europe/Berlin", "start": "2026-01-01T08:00:00Z",
        "members": [bob.email, admin.email]})
    assert r.status_code == 201, r.text
    layer_id = r.json()["id"]
    r = client.post("/api/v1/integrations", headers=admin.headers,
                    json={"service": "checkout", "type": "events_v2", "name": "pd"})
    assert r.status_code == 201, r.text
    r = client.post("/v2/enqueue", json={"routing_key": r.json()["key"], "event_action": "trigger",
                                         "payload": {"summary": "Disk full", "source": "db1", "severity": "critical"}})
    assert r.status_code == 202, r.text
    alert_id = client.get("/api/v1/alerts", headers=admin.headers).json()["items"][0]["id"]
    learning = _seed_learning(client, admin, bob, incident)
    learning.update(_seed_status_page(client, admin, bob, incident))
    r = client.post("/api/v1/tokens", headers=bob.headers, json={"name": "spare"})
    assert r.status_code == 201, r.text
    KNOWN.clear()
    KNOWN.update(learning)
    KNOWN.update(
        incident=[incident["ref"], incident["id"]],
        entry=[entry_id],
        # Bob, not the admin who sends the requests: deactivating or demoting the sender would
        # turn the rest of the operation's requests into 401s and 403s.
        user=[bob.email, str(bob.id)],
        team=["platform"],
        service=["checkout", str(service_id)],
        token=[r.json()["id"]],
        schedule=["ops"], layer=[layer_id], alert=[alert_id],
    )
    return admin.headers


def _seed_learning(client, admin, bob, incident) -> dict[str, list[str]]:
    """A resolved incident with a postmortem, a problem and an action item."""
    r = client.post("/api/v1/incidents", headers=bob.headers, json={"title": "Queue backlog", "severity": "SEV3"})
    assert r.status_code == 201, r.text
    ref = r.json()["ref"]
    r = client.patch(f"/api/v1/incidents/{ref}", headers=bob.headers, json={"status": "resolved"})
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/incidents/{ref}/postmortem", headers=bob.headers, json={})
    assert r.status_code == 201, r.text
    postmortem = r.json()
    r = client.post("/api/v1/problems", headers=bob.headers, json={"title": "Disk fills up", "service": "checkout",
                                                                    "incidents": [incident["ref"]]})
    assert r.status_code == 201, r.text
    problem = r.json()
    r = client.post("/api/v1/action-items", headers=bob.headers,
                    json={"title": "Alert on disk growth", "type": "detect", "owner": bob.email,
                          "incident": incident["ref"], "problem": problem["ref"]})
    assert r.status_code == 201, r.text
    item = r.json()
    return {"postmortem": [postmortem["id"]], "template": [postmortem["template_id"]],
            "problem": [problem["ref"], problem["id"]], "action_item": [item["ref"], item["id"]]}


def _seed_status_page(client, admin, bob, incident) -> dict[str, list[str]]:
    """A status page with a component, a public incident posted from the incident, a maintenance and a webhook."""
    r = client.post("/api/v1/status-pages", headers=admin.headers, json={"slug": "acme", "name": "Acme Status"})
    assert r.status_code == 201, r.text
    r = client.post("/api/v1/status-pages/acme/components", headers=admin.headers,
                    json={"name": "Checkout", "service": "checkout"})
    assert r.status_code == 201, r.text
    component = r.json()["id"]
    r = client.post(f"/api/v1/incidents/{incident['ref']}/status-updates", headers=bob.headers, json={
        "page": "acme", "name": "Checkout errors", "status": "investigating", "body": "Looking into it.",
        "component_statuses": {component: "partial_outage"}})
    assert r.status_code == 201, r.text
    status_incident = r.json()["id"]
    r = client.post("/api/v1/status-pages/acme/maintenances", headers=bob.headers, json={
        "name": "Upgrade", "body": "Short pauses.", "scheduled_for": "2031-01-01T00:00:00Z",
        "scheduled_until": "2031-01-01T01:00:00Z", "components": [component]})
    assert r.status_code == 201, r.text
    maintenance = r.json()["id"]
    r = client.post("/api/v1/status-pages/acme/webhooks", headers=admin.headers,
                    json={"url": "https://hooks.example.test/status"})
    assert r.status_code == 201, r.text
    return {"status_page": ["acme"], "component": [component], "status_incident": [status_incident],
            "maintenance": [maintenance], "subscriber": [r.json()["id"]]}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case, app_for, seeded):
    case.call_and_validate(app=app_for(case.method), headers=seeded[1], checks=CHECKS)


def test_every_api_operation_documents_the_error_shape():
    """Without this, 4xx bodies would be checked against FastAPI's default `{"detail": [...]}`
    (which the app never sends, and which every object matches), i.e. not checked at all."""
    spec = schema.raw_schema
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            error = operation["responses"].get("4XX", {})
            ref = error.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
            assert ref == "#/components/schemas/ErrorOut", f"{method.upper()} {path}"
    envelope = spec["components"]["schemas"]["ErrorOut"]
    assert envelope["required"] == ["error"]
    assert set(spec["components"]["schemas"]["ErrorBody"]["required"]) == {"code", "message", "details"}

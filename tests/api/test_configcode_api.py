"""POST /api/v1/config/apply: CI applies configuration remotely (admins only); a bad document is a 422
that names the place and changes nothing."""

from __future__ import annotations

import json

import pytest


def test_apply_over_the_api_previews_applies_and_refuses_bad_documents(client, make_person) -> None:
    admin = make_person(role="admin")
    doc = {"version": 1, "services": [{"slug": "api-svc", "name": "API svc",
                                       "integrations": [{"name": "am", "type": "alertmanager"}]}]}
    dry = client.post("/api/v1/config/apply", json={"documents": [doc], "dry_run": True}, headers=admin.headers)
    assert dry.status_code == 200, dry.text
    assert dry.json() == {"changes": ["+ service api-svc", "+ integration api-svc/am (alertmanager)"],
                          "new_keys": [], "notes": []}
    assert client.get("/api/v1/services/api-svc", headers=admin.headers).status_code == 404
    done = client.post("/api/v1/config/apply", json={"documents": [doc]}, headers=admin.headers).json()
    (key,) = done["new_keys"]
    assert key["endpoint"] == f"/integrations/alertmanager/{key['key']}"
    bad = client.post("/api/v1/config/apply", json={"documents": [{"version": 1, "services": [
        {"slug": "api-svc", "name": "API svc", "tier": 9}]}], "names": ["ci/services.yaml"]}, headers=admin.headers)
    assert bad.status_code == 422
    assert "ci/services.yaml: services[0].tier: Input should be less than or equal to 4" in bad.text
    responder = make_person(role="responder")
    assert client.post("/api/v1/config/apply", json={"documents": [doc]}, headers=responder.headers).status_code == 403


@pytest.mark.both_backends
def test_strings_no_database_can_store_are_a_422_not_a_500(client, make_person) -> None:
    # The body's own check reads the top-level fields only: a NUL deep in a document reached the
    # insert (PostgreSQL: 500) until apply checked every string itself.
    admin = make_person(role="admin")
    for name in ("ops\x00team", "ops\ud800"):
        body = json.dumps({"documents": [{"version": 1, "teams": [{"slug": "ops", "name": name}]}]})  # \\u escapes
        answer = client.post("/api/v1/config/apply", content=body,
                             headers={**admin.headers, "Content-Type": "application/json"})
        assert answer.status_code == 422, answer.text
        assert "document 1: teams[0].name: must" in answer.json()["error"]["message"]
    assert client.get("/api/v1/teams/ops", headers=admin.headers).status_code == 404

"""Forensics first across issue 17's parts, through the API: a note that investigates an affected
host (indicators) warns before the host is preserved, checklist or not, and evidence collected from
the host (evidence locker) counts as its preservation for notes and investigate steps alike."""

from __future__ import annotations

from typing import Any

import pytest

INC = "/api/v1/incidents"


@pytest.fixture
def app(db, clock, tmp_path):
    from tocsin.app import create_app
    from tocsin.config import Settings

    application = create_app(settings=Settings(max_body_bytes=64 * 1024, secret_key="test-secret",
                                               evidence_dir=tmp_path / "evidence"), db=db, clock=clock)
    yield application
    application.state.ingest.close()


def ok(r, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def warnings(client, who, ref: str) -> list[str]:
    items = ok(client.get(f"{INC}/{ref}/timeline", headers=who.headers))["items"]
    return sorted(e["data"]["target"] for e in items if e["kind"] == "forensics")


def test_affected_hosts_warn_until_their_evidence_is_collected(client, make_person):
    ada = make_person("admin", name="Ada")  # an admin manages evidence
    H = {"headers": ada.headers}  # noqa: N806
    ref = ok(client.post(INC, json={"title": "Credential leak", "severity": "SEV2", "kind": "security"}, **H), 201)["ref"]
    for kind, name in (("host", "web-7"), ("host", "db-3"), ("account", "alice")):
        ok(client.post(f"{INC}/{ref}/assets", json={"kind": kind, "name": name}, **H), 201)

    # no checklist at all: the affected hosts are what the note is matched against (not accounts)
    ok(client.post(f"{INC}/{ref}/notes", json={"text": "ssh into web-7 and DB-3. Inspecting alice's mail."}, **H), 201)
    assert warnings(client, ada, ref) == ["db-3", "web-7"]

    # web-7's disk image is collected: investigating it no longer warns; db-3 still does
    ok(client.post(f"{INC}/{ref}/evidence/external", json={
        "name": "Disk image", "location": "s3://forensics/web-7/disk.dd", "sha256": "ab" * 32, "size": 10**9,
        "collected_where": "eu-west-1", "reason": "before anyone logs in"}, **H), 201)
    ok(client.post(f"{INC}/{ref}/notes", json={"text": "logged into web-7 and db-3 again"}, **H), 201)
    assert warnings(client, ada, ref) == ["db-3", "db-3", "web-7"]

    # an investigate step on web-7 with no preserve step: the collected evidence counts
    steps = {}
    for target in ("web-7", "db-3"):
        steps[target] = ok(client.post(f"{INC}/{ref}/checklist/steps", json={
            "kind": "investigate", "title": f"Read {target} auth logs", "target": target}, **H), 201)["id"]
    assert ok(client.post(f"{INC}/{ref}/checklist/steps/{steps['web-7']}/done", **H))["warnings"] == []
    assert ok(client.post(f"{INC}/{ref}/checklist/steps/{steps['db-3']}/done", **H))["warnings"] == [
        "investigating db-3 before it was preserved"]


"""An outside IR firm works from the evidence: a guest reads their incident's Indicators and Evidence
panels, an item's custody ledger, the custody report and a download (which goes on the ledger and
into the audit chain), and finds nothing of another incident's evidence and no other page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.harness.console import PASSWORD, csrf, login, post_form
from tocsin.incidents import guests
from tocsin.incidents.access import require_incident

API = "/api/v1"


@pytest.fixture
def app(db, clock, tmp_path):
    from tocsin.app import create_app
    from tocsin.config import Settings

    application = create_app(settings=Settings(max_body_bytes=64 * 1024, secret_key="test-secret",
                                               evidence_dir=tmp_path / "evidence"), db=db, clock=clock)
    yield application
    application.state.ingest.close()


def _upload(client, headers, ref: str, name: str, content: bytes) -> str:
    r = client.post(f"{API}/incidents/{ref}/evidence/files?name={name}", content=content, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_a_guest_reads_their_incidents_evidence_and_nothing_else(app, client, db, clock, system, make_web_user):
    ada = make_web_user("admin", name="Ada")
    A = ada.headers  # noqa: N806
    ref, other = (client.post(f"{API}/incidents", json={"title": title, "severity": "SEV2", "kind": "security",
                                                        "restricted": True}, headers=A).json()["ref"]
                  for title in ("Leaked key", "Other secret"))
    assert client.post(f"{API}/incidents/{ref}/assets", json={"kind": "host", "name": "web-7"},
                       headers=A).status_code == 201
    assert client.post(f"{API}/incidents/{ref}/indicators", json={"type": "ipv4", "value": "203.0.113.9"},
                       headers=A).status_code == 201
    item = _upload(client, A, ref, "auth.log", b"Accepted password for root")
    hidden = _upload(client, A, other, "payroll.csv", b"other incident's secret")
    with db.unit_of_work() as s:
        _grant, token = guests.invite(s, actor=system, now=clock.now(), incident=require_incident(s, system, ref),
                                      email="ivy@irfirm.example", name="Ivy IR", duration=timedelta(days=2),
                                      max_days=30)
        guests.accept(s, now=clock.now(), token=token, name="Ivy IR", password=PASSWORD)
    guest = TestClient(app, raise_server_exceptions=False)
    assert login(guest, "ivy@irfirm.example", PASSWORD).status_code == 303

    room = guest.get(f"/incidents/{ref}").text  # the two panels, read-only
    for shown in ("203.0.113.9", "web-7", "auth.log", "Custody report", f"/evidence/{item}/download"):
        assert shown in room, shown
    for form in ('id="indicator-form"', 'id="asset-form"', 'id="evidence-upload-form"', "ioc-exports",
                 'id="containment-section"', 'id="obligations"', "obligation-clocks"):
        assert form not in room, form

    page = guest.get(f"/incidents/{ref}/evidence/{item}")
    assert page.status_code == 200 and "collected" in page.text and 'id="custody-form"' not in page.text
    got = guest.get(f"/incidents/{ref}/evidence/E-1/download")
    assert got.status_code == 200 and got.content == b"Accepted password for root"
    assert got.headers["content-disposition"].startswith("attachment;")
    report = guest.get(f"/incidents/{ref}/evidence/report")
    assert report.status_code == 200 and "Ivy IR" in report.text  # the download is on the ledger, by name

    # another incident's evidence, and every other page of this one, are not there at all
    for path in (f"/incidents/{other}/evidence/report", f"/incidents/{other}/evidence/{hidden}",
                 f"/incidents/{other}/evidence/{hidden}/download", f"/incidents/{other}/evidence/E-1/download",
                 f"/incidents/{ref}/iocs/export/stix", f"/incidents/{ref}/iocs/export/misp",
                 f"/incidents/{ref}/obligations/report", f"/incidents/{ref}/evidence/{item}/download/x",
                 "/checklist-templates", "/obligations/report"):
        r = guest.get(path, follow_redirects=False)
        assert r.status_code == 404 and "payroll" not in r.text and "secret" not in r.text, path
    token = csrf(guest, f"/incidents/{ref}")
    for path, data in ((f"/incidents/{ref}/evidence/{item}/custody", {"action": "analysed"}),
                       (f"/incidents/{ref}/iocs/asset", {"kind": "host", "name": "db-3"})):
        assert post_form(guest, path, data, token=token).status_code == 404, path

    ledger = client.get(f"{API}/incidents/{ref}/evidence/{item}/custody", headers=A).json()["items"]
    assert [(e["action"], e["who"]) for e in ledger][-1] == ("accessed", "Ivy IR")
    audit = client.get(f"{API}/audit?limit=200", headers=A).json()["items"]
    looked = {e["details"].get("evidence") for e in audit if e["action"] == "guest.view"}
    assert {item, "E-1/download", "report"} <= looked

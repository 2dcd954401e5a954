"""The Evidence panel of the incident room: the Forensics Lead uploads (multipart, CSRF-checked) and
records a transfer, an observer downloads (logged), an outsider finds nothing."""

from __future__ import annotations

import hashlib
import html

import pytest

from tests.harness.console import csrf, post_form

API = "/api/v1"


@pytest.fixture
def app(db, clock, tmp_path):
    from tocsin.app import create_app
    from tocsin.config import Settings

    application = create_app(settings=Settings(max_body_bytes=64 * 1024, secret_key="test-secret",
                                               evidence_dir=tmp_path / "evidence"), db=db, clock=clock)
    yield application
    application.state.ingest.close()


def test_the_evidence_panel_collects_hands_over_and_logs_downloads(client, web_client, make_web_user):
    admin, fran, vic, oz = (make_web_user(role, name=name) for role, name in (
        ("admin", "Ada Admin"), ("responder", "Fran Forensics"), ("viewer", "Vic Viewer"), ("responder", "Oz Outsider")))
    A = {"headers": admin.headers}  # noqa: N806
    ref = client.post(f"{API}/incidents", json={"title": "Credential leak", "severity": "SEV2", "kind": "security"},
                      **A).json()["ref"]
    client.post(f"{API}/incidents/{ref}/participants", json={"user": vic.email, "kind": "observer"}, **A)
    client.post(f"{API}/incidents/{ref}/roles", json={"role": "forensics_lead", "user": fran.email}, **A)
    lead, observer, outsider = web_client(fran), web_client(vic), web_client(oz)

    room = lead.get(f"/incidents/{ref}").text
    assert 'id="evidence-upload-form"' in room and "routing table, ARP cache, process table" in room
    assert 'id="evidence-upload-form"' not in observer.get(f"/incidents/{ref}").text  # reads, does not manage
    token = csrf(lead, f"/incidents/{ref}")
    dump = b"<script>alert(1)</script>" * 4_000  # 100 kB: over the form body limit, and hostile if rendered
    files = {"file": ("mem.html", dump, "text/html")}
    forged = lead.post(f"/incidents/{ref}/evidence/files", files=files, data={"csrf_token": "0" * 64},
                       follow_redirects=False)
    assert forged.status_code == 403
    r = lead.post(f"/incidents/{ref}/evidence/files", files=files, follow_redirects=False,
                  data={"csrf_token": token, "collected_where": "web-7", "reason": "implant suspected"})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/incidents/{ref}#evidence-section"
    digest = hashlib.sha256(dump).hexdigest()
    assert digest in lead.get(f"/incidents/{ref}").text

    items = client.get(f"{API}/incidents/{ref}/evidence", **A).json()["items"]
    assert [(i["label"], i["sha256"], i["size"]) for i in items] == [("E-1", digest, len(dump))]
    page = f"/incidents/{ref}/evidence/{items[0]['id']}"
    assert post_form(lead, f"{page}/custody", {"action": "transferred", "who": "Outside IR firm",
                                               "location": "Berlin lab", "reason": "analysis"},
                     page=page).status_code == 303
    refused = post_form(lead, f"{page}/custody", {"action": "collected"}, page=page)
    assert refused.status_code == 422 and "collected once" in html.unescape(refused.text)

    got = observer.get(f"{page}/download")
    assert got.status_code == 200 and got.content == dump
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"].startswith("attachment;")
    ledger = observer.get(page).text
    for text in ("collected", "web-7", "transferred", "Outside IR firm", "accessed", "Vic Viewer"):
        assert text in ledger
    assert 'id="custody-form"' not in ledger
    report = observer.get(f"/incidents/{ref}/evidence/report")
    assert report.status_code == 200 and digest in report.text and "Berlin lab" in report.text

    for path in (f"/incidents/{ref}/evidence/report", page, f"{page}/download"):
        assert outsider.get(path).status_code == 404, path
    stranger = outsider.post(f"/incidents/{ref}/evidence/files", files={"file": ("x", b"x")},
                             data={"csrf_token": csrf(outsider, "/")}, follow_redirects=False)
    assert stranger.status_code == 404
    assert len(client.get(f"{API}/incidents/{ref}/evidence", **A).json()["items"]) == 1

"""The evidence locker through the API: a Forensics Lead uploads (streamed past the body limit) and
registers evidence, the ledger records every handling and download, the circle reads, and anyone
outside the restricted incident's circle finds nothing at all."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.harness.ingest import AppliedClient

API = "/api/v1"


@pytest.fixture
def evidence_dir(tmp_path):
    return tmp_path / "evidence"


@pytest.fixture
def app(db, clock, evidence_dir):
    from tocsin.app import create_app
    from tocsin.config import Settings

    application = create_app(settings=Settings(max_body_bytes=64 * 1024, secret_key="test-secret",
                                               evidence_dir=evidence_dir), db=db, clock=clock)
    yield application
    application.state.ingest.close()


@pytest.fixture
def client(app):
    with AppliedClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def breach(client, make_web_user):
    """A restricted security incident: Fran is its Forensics Lead, Rae a responder, Vic an observer."""
    people = {who: make_web_user(role, name=name) for who, role, name in (
        ("admin", "admin", "Ada Admin"), ("fran", "responder", "Fran Forensics"), ("rae", "responder", "Rae Responder"),
        ("vic", "viewer", "Vic Viewer"), ("oz", "responder", "Oz Outsider"))}
    A = {"headers": people["admin"].headers}  # noqa: N806
    inc = client.post(f"{API}/incidents", json={"title": "Credential leak", "severity": "SEV2", "kind": "security",
                                                "restricted": True}, **A).json()
    for who, kind in (("rae", "responder"), ("vic", "observer")):
        assert client.post(f"{API}/incidents/{inc['ref']}/participants",
                           json={"user": people[who].email, "kind": kind}, **A).status_code == 200
    assert client.post(f"{API}/incidents/{inc['ref']}/roles", json={"role": "forensics_lead",
                                                                   "user": people["fran"].email}, **A).status_code == 200
    return inc["ref"], people


def _stream(data: bytes, size: int = 50_000):
    for start in range(0, len(data), size):
        yield data[start:start + size]


def test_a_forensics_lead_collects_evidence_and_the_ledger_keeps_every_handling(client, breach, evidence_dir):
    ref, people = breach
    fran, vic = people["fran"].headers, people["vic"].headers
    dump = os.urandom(300_000)  # over the 64 KiB body limit of other routes: streamed, never buffered
    r = client.post(f"{API}/incidents/{ref}/evidence/files", content=_stream(dump), headers={
        **fran, "Content-Type": "text/html"}, params={"name": "C:\\dumps\\web-7 memory.raw",
                                                     "collected_where": "web-7", "reason": "suspected implant"})
    assert r.status_code == 201, r.text
    item = r.json()
    assert (item["label"], item["name"], item["size"]) == ("E-1", "web-7 memory.raw", len(dump))
    assert item["sha256"] == hashlib.sha256(dump).hexdigest()
    assert item["sha512"] == hashlib.sha512(dump).hexdigest()
    assert [(e["action"], e["who"], e["location"], e["reason"]) for e in item["custody"]] == [
        ("collected", "Fran Forensics", "web-7", "suspected implant")]
    stored = evidence_dir / "sha256" / item["sha256"][:2] / item["sha256"][2:4] / item["sha256"]
    assert stored.read_bytes() == dump

    external = client.post(f"{API}/incidents/{ref}/evidence/external", headers=fran, json={
        "name": "web-7 disk image", "location": "s3://forensics/web-7.dd", "sha256": "AB" * 32, "size": 10**11,
        "collected_where": "eu-west-1", "reason": "full disk for the timeline"})
    assert external.status_code == 201, external.text
    assert (external.json()["label"], external.json()["sha256"]) == ("E-2", "ab" * 32)

    moved = client.post(f"{API}/incidents/{ref}/evidence/E-1/custody", headers=fran, json={
        "action": "transferred", "who": "Outside IR firm", "location": "courier to Berlin lab", "reason": "analysis"})
    assert moved.status_code == 201, moved.text
    assert moved.json()["seq"] == 2

    # the observer may download: as an attachment that never renders, and the download is on the ledger
    got = client.get(f"{API}/incidents/{ref}/evidence/E-1/content", headers=vic)
    assert got.status_code == 200 and got.content == dump
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    ledger = client.get(f"{API}/incidents/{ref}/evidence/{item['id']}/custody", headers=vic).json()["items"]
    assert [(e["seq"], e["action"], e["who"]) for e in ledger] == [
        (1, "collected", "Fran Forensics"), (2, "transferred", "Outside IR firm"), (3, "accessed", "Vic Viewer")]

    report = client.get(f"{API}/incidents/{ref}/evidence/report", headers=vic)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    for text in (item["sha256"], item["sha512"], "s3://forensics/web-7.dd", "Outside IR firm", "courier to Berlin lab",
                 "Vic Viewer", "300,000 bytes"):
        assert text in report.text
    assert "default-src 'none'" in report.headers["content-security-policy"]

    timeline = client.get(f"{API}/incidents/{ref}/timeline", headers=vic).json()["items"]
    assert [e["text"] for e in timeline if e["kind"] == "evidence"] == [
        f"Evidence E-1 'web-7 memory.raw' collected ({len(dump)} bytes, SHA-256 {item['sha256']})",
        "Evidence E-2 'web-7 disk image' collected (at s3://forensics/web-7.dd)",
        "Evidence E-1 transferred by Outside IR firm at courier to Berlin lab"]
    audit = client.get(f"{API}/audit", headers=people["admin"].headers, params={"limit": 50}).json()["items"]
    assert [a["action"] for a in audit if a["action"].startswith("evidence.")].count("evidence.custody") == 4


def test_only_the_circle_sees_evidence_and_only_its_forensics_lead_and_admins_add_to_it(client, breach, evidence_dir):
    ref, people = breach
    fran, rae, oz = people["fran"].headers, people["rae"].headers, people["oz"].headers
    item = client.post(f"{API}/incidents/{ref}/evidence/files", content=b"secret log", headers=fran,
                       params={"name": "auth.log"}).json()
    base = f"{API}/incidents/{ref}/evidence"
    before = sorted(p.name for p in evidence_dir.rglob("*") if p.is_file())
    for method, path, kwargs in (("GET", base, {}), ("GET", f"{base}/report", {}), ("GET", f"{base}/E-1", {}),
                                 ("GET", f"{base}/{item['id']}/content", {}), ("GET", f"{base}/E-1/custody", {}),
                                 ("POST", f"{base}/files?name=x", {"content": b"planted"}),
                                 ("POST", f"{base}/E-1/custody", {"json": {"action": "analysed"}})):
        r = client.request(method, path, headers=oz, **kwargs)
        assert r.status_code == 404, (method, path, r.status_code)
        assert "auth.log" not in r.text and "secret" not in r.text
    assert sorted(p.name for p in evidence_dir.rglob("*") if p.is_file()) == before  # nothing planted

    # in the circle, a responder who is not the Forensics Lead reads but does not manage
    assert client.get(base, headers=rae).json()["items"][0]["name"] == "auth.log"
    for r in (client.post(f"{base}/files?name=x", content=b"x", headers=rae),
              client.post(f"{base}/E-1/custody", json={"action": "analysed"}, headers=rae),
              client.post(f"{base}/external", json={"name": "x", "location": "y", "sha256": "a" * 64}, headers=rae)):
        assert r.status_code == 403, r.text
        assert "Forensics Lead" in r.json()["error"]["message"]
    assert client.get(f"{base}/E-1/custody", headers=rae).json()["items"][-1]["action"] == "collected"
    assert client.post(f"{base}/files?name=x", content=b"x").status_code == 401


BAD = [
    ("external without a hash", "external", {"name": "img", "location": "s3://b/k"}, 422, "SHA-256 or SHA-512"),
    ("external with a short hash", "external", {"name": "img", "location": "s3://b/k", "sha256": "ab"}, 422, "64"),
    ("external with a non-hex hash", "external", {"name": "i", "location": "l", "sha512": "z" * 128}, 422,
     "hexadecimal"),
    ("external with a negative size", "external", {"name": "i", "location": "l", "sha256": "a" * 64, "size": -1}, 422,
     "size"),
    ("external too big for any disk", "external", {"name": "i", "location": "l", "sha256": "a" * 64,
                                                   "size": 2**70}, 422, "size"),
    ("a second collection", "E-1/custody", {"action": "collected"}, 422, "collected once"),
    ("an unknown action", "E-1/custody", {"action": "destroyed"}, 422, "action"),
    ("an entry in the future", "E-1/custody", {"action": "analysed", "occurred_at": "2030-01-01T00:00:00Z"}, 422,
     "future"),
    ("a naive time", "E-1/custody", {"action": "analysed", "occurred_at": "2025-12-31T10:00:00"}, 422, "timezone"),
    ("an unknown item", "E-9/custody", {"action": "analysed"}, 404, "no evidence item"),
    ("an item that is not a label", "../E-1/custody", {"action": "analysed"}, 404, ""),
]


def test_bad_evidence_input_is_a_clear_4xx(client, breach):
    """One incident for the whole table (each case refused, so nothing carries over)."""
    ref, people = breach
    fran = people["fran"].headers
    assert client.post(f"{API}/incidents/{ref}/evidence/files", content=b"x", headers=fran,
                       params={"name": "x.bin"}).status_code == 201
    for case, path, body, status, says in BAD:
        r = client.post(f"{API}/incidents/{ref}/evidence/{path}", json=body, headers=fran)
        assert (r.status_code, says in r.text) == (status, True), (case, r.text)
    assert len(client.get(f"{API}/incidents/{ref}/evidence/E-1", headers=fran).json()["custody"]) == 1


def test_an_external_artefact_cannot_be_downloaded_and_a_name_is_required(client, breach, evidence_dir):
    ref, people = breach
    fran = people["fran"].headers
    client.post(f"{API}/incidents/{ref}/evidence/external", headers=fran,
                json={"name": "img", "location": "s3://b/k", "sha512": "c" * 128})
    r = client.get(f"{API}/incidents/{ref}/evidence/E-1/content", headers=fran)
    assert r.status_code == 422 and "external artefact" in r.json()["error"]["message"]
    assert client.post(f"{API}/incidents/{ref}/evidence/files", content=b"x", headers=fran).status_code == 422
    before = sorted(p.name for p in evidence_dir.rglob("*") if p.is_file())
    assert client.post(f"{API}/incidents/{ref}/evidence/files", content=b"never stored", headers=fran,
                       params={"name": "/"}).status_code == 422
    assert sorted(p.name for p in evidence_dir.rglob("*") if p.is_file()) == before

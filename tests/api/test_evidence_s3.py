"""The evidence store in an S3-compatible bucket, against moto's S3 server (a real local HTTP server):
hashed while streaming, write-once at its content address, re-hashed by verify, served by the API."""

from __future__ import annotations

import hashlib
import os

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.harness.ingest import AppliedClient
from tocsin.evidence import s3store
from tocsin.evidence.store import Stored
from tocsin.evidence.verify import Outcome, check

BUCKET = "forensics"


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    client.delete_bucket(Bucket=BUCKET)


MIN_PART = 5 * 1024 * 1024  # S3's smallest part but the last: tocsin's 8 MiB parts, made smaller to test cheaply


@pytest.mark.parametrize("size", [300_000, MIN_PART + 200_000], ids=["one PUT", "multipart"])
def test_a_file_is_stored_once_at_its_address_and_never_overwritten(bucket, size, monkeypatch):
    monkeypatch.setattr(s3store, "PART", MIN_PART)
    store = s3store.S3Store(bucket=BUCKET, prefix="tocsin/", client=bucket)
    data = os.urandom(size)
    intake = store.intake()
    for start in range(0, size, 700_000):
        intake.write(data[start:start + 700_000])
    stored = intake.commit()
    assert stored == Stored(hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest(), size)
    key = store.key_for(stored.sha256)
    assert key == f"tocsin/sha256/{stored.sha256[:2]}/{stored.sha256[2:4]}/{stored.sha256}"
    first = bucket.head_object(Bucket=BUCKET, Key=key)
    again = store.intake()
    again.write(data)
    assert again.commit() == stored
    assert bucket.head_object(Bucket=BUCKET, Key=key)["LastModified"] == first["LastModified"]
    assert [o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]] == [key]  # no tmp/ left
    assert store.rehash(stored.sha256).found == stored

    bucket.put_object(Bucket=BUCKET, Key=key, Body=b"tampered")  # behind tocsin's back
    assert check(sha256=stored.sha256, sha512=stored.sha512, size=size, found=store.rehash(stored.sha256))[0] == \
        Outcome.mismatch
    bucket.delete_object(Bucket=BUCKET, Key=key)
    assert check(sha256=stored.sha256, sha512=stored.sha512, size=size, found=store.rehash(stored.sha256))[0] == \
        Outcome.missing


def test_the_api_stores_in_the_bucket_and_serves_from_it(bucket, s3_endpoint, db, clock, make_web_user):
    from tocsin.app import create_app
    from tocsin.config import Settings

    app = create_app(settings=Settings(secret_key="test-secret", evidence_s3_bucket=BUCKET,
                                       evidence_s3_endpoint_url=s3_endpoint, evidence_s3_region="us-east-1"),
                     db=db, clock=clock)
    admin = make_web_user("admin")
    data = b"Accepted password for root from 203.0.113.9\n" * 1000
    with AppliedClient(app, raise_server_exceptions=False) as client:
        ref = client.post("/api/v1/incidents", json={"title": "Leak", "severity": "SEV2", "kind": "security"},
                          headers=admin.headers).json()["ref"]
        item = client.post(f"/api/v1/incidents/{ref}/evidence/files", params={"name": "auth.log"}, content=data,
                           headers=admin.headers).json()
        key = f"sha256/{item['sha256'][:2]}/{item['sha256'][2:4]}/{item['sha256']}"
        assert bucket.get_object(Bucket=BUCKET, Key=key)["Body"].read() == data
        got = client.get(f"/api/v1/incidents/{ref}/evidence/E-1/content", headers=admin.headers)
        assert got.status_code == 200 and got.content == data
        assert got.headers["content-disposition"].startswith("attachment;")
        bucket.delete_object(Bucket=BUCKET, Key=key)
        gone = client.get(f"/api/v1/incidents/{ref}/evidence/E-1/content", headers=admin.headers)
        assert gone.status_code == 409 and "tocsin evidence verify" in gone.json()["error"]["message"]
    app.state.ingest.close()

"""Content-addressed, write-once storage of evidence files in an S3-compatible bucket (boto3).

The same contract as the local store (`store.py`): `intake` takes the file in chunks, hashing it
with SHA-256 and SHA-512 on the way, and stores it at `<prefix>sha256/<aa>/<bb>/<sha256>`; memory
holds at most one part (8 MiB). A file smaller than a part is written with one conditional PUT
(`If-None-Match: *`), which the service refuses when the key exists: never an overwrite. A larger
one goes up as a multipart upload under `<prefix>tmp/`, then is copied to its address unless an
object is there already (same name, same content), and the temporary object is deleted. For
write-once the bucket should also have Object Lock (or at least versioning) switched on: tocsin
never overwrites, the bucket policy makes sure nobody else does either.

Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, an
instance role); none is a tocsin setting.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from functools import cache
from typing import Any

from tocsin.evidence.store import CHUNK, Rehash, Stored, TooLarge, rehash_chunks

PART = 8 * 1024 * 1024  # S3 parts are at least 5 MiB (except the last)
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _missing(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


class S3Intake:
    def __init__(self, store: S3Store, limit: int = 0) -> None:
        self._store, self._limit = store, limit
        self._sha256, self._sha512, self.size = hashlib.sha256(), hashlib.sha512(), 0
        self._buffer = bytearray()
        self._tmp = f"{store.prefix}tmp/upload-{secrets.token_hex(12)}"
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._done = False

    def write(self, chunk: bytes) -> None:
        if self._done:
            raise RuntimeError("this upload is finished")
        self.size += len(chunk)
        if self._limit and self.size > self._limit:
            self.abort()
            raise TooLarge(f"evidence files may have at most {self._limit} bytes here (TOCSIN_EVIDENCE_MAX_BYTES)")
        self._sha256.update(chunk)
        self._sha512.update(chunk)
        self._buffer.extend(chunk)
        while len(self._buffer) >= PART:
            self._send_part(bytes(self._buffer[:PART]))
            del self._buffer[:PART]

    def _send_part(self, data: bytes) -> None:
        client, bucket = self._store.client, self._store.bucket
        if self._upload_id is None:
            self._upload_id = client.create_multipart_upload(Bucket=bucket, Key=self._tmp)["UploadId"]
        number = len(self._parts) + 1
        etag = client.upload_part(Bucket=bucket, Key=self._tmp, UploadId=self._upload_id, PartNumber=number,
                                  Body=data)["ETag"]
        self._parts.append({"ETag": etag, "PartNumber": number})

    def commit(self) -> Stored:
        if self._done:
            raise RuntimeError("this upload is finished")
        stored = Stored(sha256=self._sha256.hexdigest(), sha512=self._sha512.hexdigest(), size=self.size)
        client, bucket, final = self._store.client, self._store.bucket, self._store.key_for(stored.sha256)
        try:
            if self._upload_id is None:  # small: one conditional PUT straight to its address
                try:
                    client.put_object(Bucket=bucket, Key=final, Body=bytes(self._buffer), IfNoneMatch="*",
                                      ContentType="application/octet-stream")
                except Exception as exc:
                    if "PreconditionFailed" not in str(exc) and "412" not in str(exc):
                        raise  # PreconditionFailed: stored already (same content)
            else:
                if self._buffer:
                    self._send_part(bytes(self._buffer))
                client.complete_multipart_upload(Bucket=bucket, Key=self._tmp, UploadId=self._upload_id,
                                                 MultipartUpload={"Parts": self._parts})
                self._upload_id = None
                if not self._store.exists(stored.sha256):
                    client.copy({"Bucket": bucket, "Key": self._tmp}, bucket, final)  # managed: any size
                client.delete_object(Bucket=bucket, Key=self._tmp)
        except BaseException:
            self.abort()
            raise
        self._done = True
        self._buffer.clear()
        return stored

    def abort(self) -> None:
        self._done = True
        self._buffer.clear()
        client, bucket = self._store.client, self._store.bucket
        if self._upload_id is not None:
            client.abort_multipart_upload(Bucket=bucket, Key=self._tmp, UploadId=self._upload_id)
            self._upload_id = None
        client.delete_object(Bucket=bucket, Key=self._tmp)


class S3Store:
    def __init__(self, *, bucket: str, prefix: str = "", client: Any) -> None:
        self.bucket, self.client = bucket, client
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def intake(self, *, limit: int = 0) -> S3Intake:
        return S3Intake(self, limit)

    def key_for(self, sha256: str) -> str:
        if not _SHA256.fullmatch(sha256):
            raise ValueError("not a SHA-256 in hex")
        return f"{self.prefix}sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def exists(self, sha256: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key_for(sha256))
        except Exception as exc:
            if _missing(exc):
                return False
            raise
        return True

    def chunks(self, sha256: str) -> Iterator[bytes]:
        """The stored object's bytes in chunks (FileNotFoundError when it is missing)."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key_for(sha256))["Body"]
        except Exception as exc:
            if _missing(exc):
                raise FileNotFoundError(self.key_for(sha256)) from None
            raise
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def rehash(self, sha256: str) -> Rehash:
        return rehash_chunks(self.chunks(sha256))


@cache  # one client per configuration: boto3 clients are thread-safe and slow to make
def from_settings(*, bucket: str, prefix: str, endpoint_url: str | None, region: str | None) -> S3Store:
    import boto3  # lazy: boto3 loads only when an S3 evidence store is configured

    client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None)
    return S3Store(bucket=bucket, prefix=prefix, client=client)

"""Content-addressed, write-once storage of evidence files on a local directory.

A file is written to `<root>/tmp/` in chunks as it arrives, hashed with SHA-256 and SHA-512 on the
way (never held whole in memory), then made read-only and linked into place at
`<root>/sha256/<aa>/<bb>/<sha256>`. `os.link` refuses an existing name, so a stored file is never
overwritten: the same content uploaded twice is stored once. Directories are 0700, files 0444.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Stored:
    sha256: str
    sha512: str
    size: int


@dataclass(frozen=True)
class Rehash:
    """What re-reading a stored file found: None when the file is missing."""

    found: Stored | None


class Intaking(Protocol):
    """One upload being written to a store."""

    size: int

    def write(self, chunk: bytes) -> None: ...
    def commit(self) -> Stored: ...
    def abort(self) -> None: ...


class Store(Protocol):
    """What a content-addressed evidence store does (the local directory, or an S3 bucket)."""

    def intake(self, *, limit: int = 0) -> Intaking: ...
    def exists(self, sha256: str) -> bool: ...
    def chunks(self, sha256: str) -> Iterator[bytes]: ...
    def rehash(self, sha256: str) -> Rehash: ...


class TooLarge(Exception):
    """The upload passed the configured limit (the partial file is gone)."""


class Intake:
    """One upload being written: `write` chunks, then `commit` (or `abort`, also on any error)."""

    def __init__(self, store: LocalStore, limit: int = 0) -> None:
        self._store, self._limit = store, limit
        self._sha256, self._sha512, self.size = hashlib.sha256(), hashlib.sha512(), 0
        tmp = store.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._path = tmp / f"upload-{os.getpid()}-{secrets.token_hex(8)}"
        self._file: BinaryIO | None = open(self._path, "xb")  # noqa: SIM115 (closed by commit/abort)
        os.chmod(self._path, 0o600)

    def write(self, chunk: bytes) -> None:
        if self._file is None:
            raise RuntimeError("this upload is finished")
        self.size += len(chunk)
        if self._limit and self.size > self._limit:
            self.abort()
            raise TooLarge(f"evidence files may have at most {self._limit} bytes here (TOCSIN_EVIDENCE_MAX_BYTES)")
        self._sha256.update(chunk)
        self._sha512.update(chunk)
        self._file.write(chunk)

    def commit(self) -> Stored:
        """Make the file read-only and put it at its content address; return its hashes and size."""
        if self._file is None:
            raise RuntimeError("this upload is finished")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        stored = Stored(sha256=self._sha256.hexdigest(), sha512=self._sha512.hexdigest(), size=self.size)
        final = self._store.path_for(stored.sha256)
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self._path, 0o444)
        try:
            os.link(self._path, final)  # atomic, and never replaces an existing file
        except FileExistsError:
            pass  # the same content is stored already; it is not written again
        finally:
            self._path.unlink(missing_ok=True)
        _fsync_dir(final.parent)
        return stored

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._path.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def intake(self, *, limit: int = 0) -> Intake:
        return Intake(self, limit)

    def path_for(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError("not a SHA-256 in hex")
        return self.root / "sha256" / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def chunks(self, sha256: str) -> Iterator[bytes]:
        """The stored file's bytes in chunks (FileNotFoundError when it is missing)."""
        with open(self.path_for(sha256), "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def rehash(self, sha256: str) -> Rehash:
        """Read the stored file again and hash it; `found` is None when it is missing."""
        return rehash_chunks(self.chunks(sha256))


def rehash_chunks(chunks: Iterator[bytes]) -> Rehash:
    """Hash a stored file's chunks again (either store's); `found` is None when the file is missing
    (the iterator raises FileNotFoundError)."""
    h256, h512, size = hashlib.sha256(), hashlib.sha512(), 0
    try:
        for chunk in chunks:
            h256.update(chunk)
            h512.update(chunk)
            size += len(chunk)
    except FileNotFoundError:
        return Rehash(None)
    return Rehash(Stored(sha256=h256.hexdigest(), sha512=h512.hexdigest(), size=size))

"""The evidence store (content-addressed, write-once, hashed while streaming), the verify comparison
and the download headers: pure of the database."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from tocsin.evidence import download
from tocsin.evidence.store import LocalStore, Rehash, Stored, TooLarge
from tocsin.evidence.verify import Outcome, check


def _upload(store: LocalStore, chunks: list[bytes], limit: int = 0) -> Stored:
    intake = store.intake(limit=limit)
    for chunk in chunks:
        intake.write(chunk)
    return intake.commit()


def test_a_file_sent_in_chunks_is_stored_read_only_under_its_sha256(tmp_path):
    store = LocalStore(tmp_path)
    chunks = [os.urandom(100_000) for _ in range(5)] + [b"", b"tail"]
    whole = b"".join(chunks)
    stored = _upload(store, chunks)
    assert stored == Stored(sha256=hashlib.sha256(whole).hexdigest(), sha512=hashlib.sha512(whole).hexdigest(),
                            size=len(whole))
    path = store.path_for(stored.sha256)
    assert path == tmp_path / "sha256" / stored.sha256[:2] / stored.sha256[2:4] / stored.sha256
    assert path.read_bytes() == whole
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert list((tmp_path / "tmp").iterdir()) == []  # the temporary file was moved, not copied
    assert store.rehash(stored.sha256) == Rehash(stored)


def test_a_stored_file_is_never_overwritten(tmp_path):
    store = LocalStore(tmp_path)
    first = _upload(store, [b"memory dump"])
    path = store.path_for(first.sha256)
    before = path.stat()
    again = _upload(store, [b"memory ", b"dump"])
    assert again == first
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert len(list((tmp_path / "sha256").rglob("*"))) == 3  # two levels of directories and one file


def test_an_upload_over_the_limit_leaves_nothing_behind(tmp_path):
    store = LocalStore(tmp_path)
    intake = store.intake(limit=10)
    intake.write(b"12345")
    with pytest.raises(TooLarge, match="at most 10 bytes"):
        intake.write(b"678901")
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not (tmp_path / "sha256").exists()


def test_rehash_reports_a_missing_file(tmp_path):
    assert LocalStore(tmp_path).rehash("a" * 64) == Rehash(None)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 64, "a" * 63, ""])
def test_only_a_sha256_names_a_stored_file(tmp_path, bad):
    with pytest.raises(ValueError):
        LocalStore(tmp_path).path_for(bad)


H256, H512 = "1" * 64, "2" * 128
FOUND = Rehash(Stored(sha256=H256, sha512=H512, size=10))
CASES = [
    ("intact", dict(sha256=H256, sha512=H512, size=10, found=FOUND), Outcome.ok, "SHA-256 1111"),
    ("sha256 differs", dict(sha256="3" * 64, sha512=H512, size=10, found=FOUND), Outcome.mismatch, "SHA-256 differ"),
    ("sha512 differs", dict(sha256=H256, sha512="4" * 128, size=10, found=FOUND), Outcome.mismatch, "SHA-512"),
    ("size differs", dict(sha256=H256, sha512=H512, size=11, found=FOUND), Outcome.mismatch, "size (10 bytes"),
    ("missing", dict(sha256=H256, sha512=H512, size=10, found=Rehash(None)), Outcome.missing, "missing"),
]


@pytest.mark.parametrize(("case", "kwargs", "outcome", "says"), CASES, ids=[c[0] for c in CASES])
def test_verify_compares_what_was_recorded_with_what_is_stored(case, kwargs, outcome, says):
    got, reason = check(**kwargs)
    assert got == outcome
    assert says in reason


NAMES = [
    ("mem.raw", 'filename="mem.raw"', "filename*=UTF-8''mem.raw"),
    ('evil".html', 'filename="evil_.html"', "filename*=UTF-8''evil%22.html"),
    ("journal\r\nX-Injected: 1", 'filename="journal__X-Injected__1"', "journal%0D%0AX-Injected%3A%201"),
    ("Überweisung.pdf", 'filename="_berweisung.pdf"', "%C3%9Cberweisung.pdf"),
]


@pytest.mark.parametrize(("name", "fallback", "encoded"), NAMES, ids=[n[0][:12] for n in NAMES])
def test_downloads_are_attachments_that_never_render(name, fallback, encoded):
    headers = download.headers(name)
    disposition = headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert fallback in disposition and encoded in disposition
    assert "\r" not in disposition and "\n" not in disposition
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in headers["Content-Security-Policy"]
    assert download.MEDIA_TYPE == "application/octet-stream"

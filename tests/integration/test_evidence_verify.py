"""`tocsin evidence verify` on both backends: every stored file re-hashed, a corrupted or deleted
file reported (exit 1), external artefacts listed as not verifiable locally."""

from __future__ import annotations

import json
import os

from typer.testing import CliRunner

from tocsin.cli.main import app as cli
from tocsin.evidence import service as evidence
from tocsin.evidence.store import LocalStore
from tocsin.incidents.service import Declaration, declare
from tocsin.incidents.types import Kind
from tocsin.severities import Severity


def _collect(db, clock, system, store: LocalStore) -> dict[str, str]:
    with db.unit_of_work() as s:
        incident = declare(s, actor=system, now=clock.now(), spec=Declaration(
            title="Credential leak", severity=Severity.SEV2, kind=Kind.security))
        hashes = {}
        for name, data in (("memory.raw", os.urandom(3000)), ("auth.log", b"Accepted password for root"),
                           ("copy-of-auth.log", b"Accepted password for root")):
            intake = store.intake()
            intake.write(data)
            item = evidence.add_file(s, incident=incident, actor=system, now=clock.now(), stored=intake.commit(),
                                     name=name)
            hashes[name] = item.sha256
        evidence.register_external(s, incident=incident, actor=system, now=clock.now(), name="disk image",
                                   location="s3://forensics/web-7.dd", sha256="ab" * 32)
    return hashes


def test_verify_finds_a_corrupted_and_a_missing_file(db, clock, system, tmp_path):
    store = LocalStore(tmp_path / "evidence")
    hashes = _collect(db, clock, system, store)
    args = ["evidence", "verify", "--database-url", db.url, "--evidence-dir", str(store.root)]
    runner = CliRunner()

    intact = runner.invoke(cli, args)
    assert intact.exit_code == 0, intact.output
    assert "3 verified, 0 failed, 1 external (not verifiable locally)" in intact.output
    assert "EXTERNAL INC-1 E-4 'disk image': not verifiable locally: kept at s3://forensics/web-7.dd" in intact.output

    corrupted = store.path_for(hashes["memory.raw"])
    os.chmod(corrupted, 0o644)
    with open(corrupted, "r+b") as fh:  # one flipped byte, same size
        first = fh.read(1)
        fh.seek(0)
        fh.write(bytes([first[0] ^ 1]))
    store.path_for(hashes["auth.log"]).unlink()  # both items with this content lose their file

    broken = runner.invoke(cli, [*args, "--json"])
    assert broken.exit_code == 1, broken.output
    found = {(f["item"], f["outcome"]) for f in json.loads(broken.output)["items"]}
    assert found == {("E-1", "mismatch"), ("E-2", "missing"), ("E-3", "missing"), ("E-4", "external")}
    assert "SHA-256, SHA-512 differ" in broken.output

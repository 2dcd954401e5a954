"""`tocsin evidence verify`: re-hash every stored evidence file and report any mismatch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tocsin.cli.common import DatabaseUrl, DataDir, JsonFlag, console, database, print_json, settings, styled

evidence_app = typer.Typer(help="The evidence locker (chain of custody).", no_args_is_help=True)


@evidence_app.command("verify")
def verify(
    database_url: DatabaseUrl = None, data_dir: DataDir = None, as_json: JsonFlag = False,
    evidence_dir: Annotated[Path | None, typer.Option("--evidence-dir", envvar="TOCSIN_EVIDENCE_DIR",
                                                      help="The evidence store (default: DATA_DIR/evidence)")] = None,
) -> None:
    """Re-hash every stored evidence file (SHA-256, SHA-512, size) against what was recorded at intake;
    exit 1 if any file differs or is missing. External artefacts are listed as not verifiable here."""
    from tocsin.evidence import service  # lazy: the CLI imports only what the command runs
    from tocsin.evidence import verify as checker  # lazy: as above

    cfg = settings(database_url, data_dir, evidence_dir=evidence_dir)
    db = database(cfg)
    try:
        with db.unit_of_work() as s:
            findings = list(checker.verify(s, service.store_for(cfg)))
    finally:
        db.dispose()
    failed = [f for f in findings if f.failed]
    if as_json:
        print_json({"ok": not failed, "items": [{"incident": f.incident, "item": f.label, "name": f.name,
                                                 "outcome": f.outcome.value, "reason": f.reason} for f in findings]})
    else:
        marks = {"ok": ("OK", "green"), "mismatch": ("MISMATCH", "red"), "missing": ("MISSING", "red"),
                 "external": ("EXTERNAL", "yellow")}
        for f in findings:  # names and labels are what responders typed: text, not markup
            console.print(styled(marks[f.outcome.value], f" {f.incident} {f.label} {f.name!r}: {f.reason}"),
                          highlight=False, soft_wrap=True)
        ok = sum(1 for f in findings if f.outcome.value == "ok")
        external = sum(1 for f in findings if f.outcome.value == "external")
        console.print(f"{ok} verified, {len(failed)} failed, {external} external (not verifiable locally)",
                      highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)

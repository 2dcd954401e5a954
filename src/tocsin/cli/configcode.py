"""Configuration as code at the CLI: `tocsin apply`, `tocsin export`, `tocsin lint` and
`tocsin config schema` (docs/config-as-code.md). They use the local database, like `tocsin demo`;
changes are made as the operator (`system:cli`) and audited."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from sqlalchemy.exc import SQLAlchemyError

from tocsin.cli.admin import _open
from tocsin.cli.client import Token, call
from tocsin.cli.common import DatabaseUrl, DataDir, fail, settings
from tocsin.cli.out import plain
from tocsin.clock import SystemClock
from tocsin.configcode.apply import ApplyResult, NewKey, apply_documents
from tocsin.configcode.document import load_paths, parse
from tocsin.configcode.export import export_document, paged_people
from tocsin.configcode.lint import lint as lint_document
from tocsin.configcode.schema import SCHEMA_PATH
from tocsin.db import Database, migrate
from tocsin.errors import SchemaMismatch, TocsinError
from tocsin.principal import Principal

config_app = typer.Typer(help="Configuration as code: the document's JSON Schema.", no_args_is_help=True)


def apply(
    path: Annotated[Path, typer.Argument(help="A YAML file, or a directory of them", exists=True)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the changes and make none")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Also remove what the sections present no longer name")]
    = False,
    url: Annotated[str | None, typer.Option("--url", help=(
        "Apply on this tocsin server through its API (POST /api/v1/config/apply, an admin's token) instead of "
        "the local database"))] = None,
    token: Token = None,
    database_url: DatabaseUrl = None, data_dir: DataDir = None,
) -> None:
    """Make the database match the configuration files; print one line per change."""
    try:
        docs, names = load_paths(path)
    except TocsinError as exc:
        fail(exc.message)
    if url:
        body = {"documents": json_safe(docs), "names": names, "dry_run": dry_run, "prune": prune}
        answer = call(url, token, "POST", "/api/v1/config/apply", json=body, timeout=300)
        try:
            result = ApplyResult(changes=[str(x) for x in answer["changes"]], notes=[str(x) for x in answer["notes"]],
                                 new_keys=[NewKey(**k) for k in answer["new_keys"]])
        except (KeyError, TypeError):
            fail(f"{url} answered POST /api/v1/config/apply with something that is not tocsin's answer")
        _report(result, dry_run)
        return
    db = _open(database_url, data_dir)
    try:
        with db.unit_of_work() as s:
            result = apply_documents(s, docs, actor=Principal.system("cli"), now=SystemClock().now(),
                                     dry_run=dry_run, prune=prune, names=names)
    except TocsinError as exc:
        fail(exc.message)
    finally:
        db.dispose()
    _report(result, dry_run)


def json_safe(value: Any) -> Any:
    """YAML's timestamps (an unquoted 2026-12-12T01:00:00Z) as the ISO text JSON can carry."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _report(result: ApplyResult, dry_run: bool) -> None:
    for line in result.changes or ["no changes"]:  # names from the file (or the server): no terminal controls
        print(plain(line))
    for line in result.notes:
        print(plain(line), file=sys.stderr)
    if result.new_keys:
        print("New integration keys (shown once):")
        for k in result.new_keys:
            print(plain(f"{k.service}/{k.integration}\t{k.type}\tkey={k.key}\t{k.endpoint}"))
    if dry_run:
        print("(dry run: nothing was changed)", file=sys.stderr)


def export(
    path: Annotated[Path | None, typer.Argument(help="Write here (default: standard output)")] = None,
    database_url: DatabaseUrl = None, data_dir: DataDir = None,
) -> None:
    """Write the current configuration in the format `tocsin apply` reads (no secrets)."""
    db = _open(database_url, data_dir)
    try:
        with db.unit_of_work() as s:
            doc = export_document(s, now=SystemClock().now())
    finally:
        db.dispose()
    text = ("# tocsin configuration (docs/config-as-code.md); for editor checks: tocsin config schema > "
            "tocsin-config.schema.json\n# yaml-language-server: $schema=tocsin-config.schema.json\n") + \
        yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)
    if path is None:
        sys.stdout.write(text)
    else:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)


def lint(
    path: Annotated[Path, typer.Argument(help="A YAML file, or a directory of them", exists=True)],
    weeks: Annotated[int, typer.Option("--weeks", min=1, max=52, help="Check coverage this many weeks ahead")] = 4,
    max_hours: Annotated[float, typer.Option("--max-hours-per-week", min=1, max=168,
                                             help="Flag a person on call longer than this in a week")] = 84,
    database_url: DatabaseUrl = None, data_dir: DataDir = None,
) -> None:
    """Check configuration files for CI: one line per finding, exit status 1 when there are any."""
    try:
        docs, names = load_paths(path)
        doc = parse(docs, names)
    except TocsinError as exc:
        fail(exc.message)
    paged = _paged(database_url, data_dir)
    findings = lint_document(doc, now=SystemClock().now(), weeks=weeks, max_hours=max_hours, paged=paged)
    for line in findings:
        print(plain(line))
    if paged is None:
        print("note: no database to read verified contact methods from; escalation reach not checked",
              file=sys.stderr)
    if findings:
        raise typer.Exit(1)


def _paged(database_url: str | None, data_dir: str | None) -> set[str] | None:
    """The emails of the people whose high-urgency pages reach a verified contact method, or None
    when there is no migrated local database to ask."""


    try:  # lint only reads: no audit key is needed (or made)
        db = Database(settings(database_url, data_dir).resolved_database_url())
    except (TocsinError, SQLAlchemyError, ValueError):
        return None
    try:
        migrate.check_schema(db.engine)
        with db.unit_of_work() as s:
            return paged_people(s)
    except (SchemaMismatch, SQLAlchemyError):
        return None
    finally:
        db.dispose()


@config_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of the configuration document (for editors and CI)."""
    sys.stdout.write(json.dumps(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")), indent=2) + "\n")

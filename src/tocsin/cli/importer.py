"""`tocsin import <source>`: move users, teams, schedules, escalations, services and their
integrations from another on-call product into tocsin in one command, then check that both agree
on who is on call (docs/migrating.md).

Each source's command reads its API and builds an ImportPlan (tocsin.importers.<source>);
`_finish` applies it and prints the shared report (tocsin.importers.finish).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tocsin.cli.common import DatabaseUrl, DataDir, console, database, fail, settings
from tocsin.clock import SystemClock
from tocsin.db import migrate
from tocsin.errors import SchemaMismatch
from tocsin.importers import grafana_oncall as goc
from tocsin.importers import opsgenie as og
from tocsin.importers import pagerduty as pd
from tocsin.importers.common import source_shape
from tocsin.importers.finish import finish_import, write_report
from tocsin.importers.opsgenie_api import OpsgenieClient, fetch_account
from tocsin.net.http import make_client

if TYPE_CHECKING:
    import httpx

    from tocsin.config import Settings
    from tocsin.importers.common import ImportPlan, TimelineEntry
    from tocsin.net.guard import EgressPolicy

import_app = typer.Typer(help="Import on-call from Opsgenie, Grafana OnCall or PagerDuty; re-running updates.",
                         no_args_is_help=True)

DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would be created or changed; change nothing")]
ReportFile = Annotated[Path | None, typer.Option("--report", help="Also write the report (without keys) as JSON")]


def _policy(cfg: Settings) -> EgressPolicy:
    from tocsin.net.policy import user_policy  # lazy: only the import commands need the HTTP client

    try:
        return user_policy(cfg)
    except ValueError as exc:
        fail(f"TOCSIN_OUTBOUND_ALLOW: {exc}")


def _now() -> datetime:

    return SystemClock().now()


def _finish(cfg: Settings, plan: ImportPlan, timelines: Mapping[str, Sequence[TimelineEntry]], *, source: str,
            now: datetime, dry_run: bool, report_file: Path | None, schedule_names: Mapping[str, str]) -> None:
    """Apply the plan and print the shared report; exit 1 when on-call disagrees with the source."""

    db = database(cfg)
    try:
        try:
            migrate.check_schema(db.engine)
        except SchemaMismatch as exc:
            fail(exc.message, code=2)
        report = finish_import(db, plan, timelines, source=source, now=now, dry_run=dry_run,
                               public_url=cfg.resolved_public_url(), schedule_names=schedule_names)
    finally:
        db.dispose()
    for line in report.lines:
        console.print(line, highlight=False, soft_wrap=True, markup=False)
    if report_file is not None:
        write_report(report_file, report, plan)
    if not report.ok:
        raise typer.Exit(1)


@import_app.command("opsgenie")
def opsgenie(
    token: Annotated[str, typer.Option("--token", envvar="OPSGENIE_API_KEY",
                                       help="An Opsgenie API key that may read configuration (or OPSGENIE_API_KEY)")],
    url: Annotated[str | None, typer.Option("--url", help="us (default), eu, or the API's base URL")] = None,
    dry_run: DryRun = False, report: ReportFile = None,
    database_url: DatabaseUrl = None, data_dir: DataDir = None,
) -> None:
    """Import users, teams, schedules, escalations, services, integrations and maintenance from Opsgenie."""

    cfg = settings(database_url, data_dir)
    now = _now()
    with source_shape("Opsgenie"):
        with OpsgenieClient(token, url, _policy(cfg)) as client:
            raw = fetch_account(client, now)
        plan = og.translate(raw, now=now)
        names = {str(s.get("id")): str(s.get("name")) for s in raw.get("schedules", [])}
        timelines = og.timelines(raw)
    _finish(cfg, plan, timelines, source="opsgenie", now=now, dry_run=dry_run, report_file=report,
            schedule_names=names)


def _client(cfg: Settings) -> httpx.Client:

    return make_client(_policy(cfg), timeout=20.0)


@import_app.command("grafana-oncall")
def grafana_oncall(
    token: Annotated[str, typer.Option("--token", envvar="GRAFANA_ONCALL_TOKEN",
                                       help="An OnCall API key (OnCall > Settings > API tokens), or GRAFANA_ONCALL_TOKEN")],
    url: Annotated[str, typer.Option("--url", envvar="GRAFANA_ONCALL_URL",
                                     help="The OnCall API URL shown on OnCall's Settings page (without /api/v1)")],
    dry_run: DryRun = False, report: ReportFile = None,
    database_url: DatabaseUrl = None, data_dir: DataDir = None,
) -> None:
    """Import users, teams, schedules (shifts and overrides), escalation chains and integrations from Grafana OnCall."""

    cfg = settings(database_url, data_dir)
    now = _now()
    with source_shape("Grafana OnCall"), _client(cfg) as client:
        data, plan, timelines = goc.read(client, url, token, now=now)
        names = {goc.sid("schedule", str(s["id"])): str(s.get("name")) for s in data.schedules}
    _finish(cfg, plan, timelines, source="grafana-oncall", now=now, dry_run=dry_run, report_file=report,
            schedule_names=names)


@import_app.command("pagerduty")
def pagerduty(
    token: Annotated[str, typer.Option("--token", envvar="PAGERDUTY_TOKEN",
                                       help="A PagerDuty REST API key (read-only is enough), or PAGERDUTY_TOKEN")],
    url: Annotated[str | None, typer.Option("--url", help="The REST API base URL (default https://api.pagerduty.com)")]
    = None,
    dry_run: DryRun = False, report: ReportFile = None,
    database_url: DatabaseUrl = None, data_dir: DataDir = None,
) -> None:
    """Import users, teams, schedules, escalation policies, services, integrations and maintenance windows from
    PagerDuty."""

    cfg = settings(database_url, data_dir)
    now = _now()
    with source_shape("PagerDuty"), _client(cfg) as client:
        data, plan, timelines = pd.read(client, url, token, now=now)
        names = {pd.sid("schedule", str(s["id"])): str(s.get("name")) for s in data.schedules}
    _finish(cfg, plan, timelines, source="pagerduty", now=now, dry_run=dry_run, report_file=report,
            schedule_names=names)

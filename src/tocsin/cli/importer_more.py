"""`tocsin import grafana-oncall` and `tocsin import pagerduty`: read the source's API, apply the
resulting configcode document, print the new integration keys per sender, the unmapped report and the
50-instant on-call comparison against the source's own final schedule.

`finish_import` is the step every importer shares (apply, print, compare); it is written here until the
`import` group's shared version (cli/importer.py) is folded in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

import typer

from tocsin.cli.common import DatabaseUrl, DataDir, database, settings
from tocsin.clock import Clock, SystemClock
from tocsin.configcode.apply import apply_documents
from tocsin.db import Database
from tocsin.importers import grafana_oncall, pagerduty
from tocsin.importers.common import ImportPlan, TimelineEntry, compare_on_call, sample_instants
from tocsin.importers.remote import open_client
from tocsin.principal import Principal

import_app = typer.Typer(help="Import on-call setup from another product (re-running updates, never duplicates).",
                         no_args_is_help=True)

DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would change and write nothing")]


def finish_import(db: Database, *, source: str, plan: ImportPlan, timelines: Mapping[str, Sequence[TimelineEntry]],
                  now: datetime, dry_run: bool, public_url: str, senders: Mapping[str, str] | None = None,
                  echo: Callable[[str], None] = typer.echo) -> bool:
    """Apply `plan`, print what changed, the new keys per sender, the unmapped report and the comparison.
    Return True when the comparison agrees at every instant (or on a dry run)."""
    actor = Principal.system(f"import {source}")
    with db.unit_of_work() as session:
        result = apply_documents(session, [plan.document], actor=actor, now=now, dry_run=dry_run)
    echo(f"{'Would change' if dry_run else 'Changes'} ({source}):")
    for line in result.changes or ["no changes"]:
        echo(f"  {line}")
    for line in result.notes:
        echo(f"  {line}")
    if result.new_keys:
        echo("New integration endpoints (change each sender to post here; keys are shown once):")
        for k in result.new_keys:
            old = (senders or {}).get(f"{k.service}/{k.integration}", "")
            where = (f"{public_url}/v2/enqueue with routing_key {k.key}" if k.type == "events_v2"
                     else public_url + k.endpoint)
            echo(f"  {k.service} / {k.integration} ({k.type}){f' [was {old}]' if old else ''}: {where}")
    if plan.unmapped:
        echo(f"Not imported ({len(plan.unmapped)}):")
        for u in plan.unmapped:
            echo(f"  - {u.kind} {u.name!r}: {u.reason}")
    if plan.invites:
        echo(f"To invite ({len(plan.invites)}; the source did not give a phone number, so each adds and verifies "
             "their own): " + ", ".join(plan.invites))
    if dry_run:
        echo("Dry run: nothing was written. The on-call comparison runs after a real import.")
        return True
    instants = sample_instants(now)
    with db.unit_of_work() as session:
        made, bad = compare_on_call(session, plan=plan, timelines=timelines, instants=instants, now=now)
    per = len(instants)
    for source_id, slugs in plan.schedules.items():
        wrong = [m for m in bad if m.source_schedule == source_id]
        echo(f"On-call comparison {source_id} -> {', '.join(slugs)}: {per - len(wrong)}/{per} instants agree")
        for m in wrong[:10]:
            echo(f"  ! {m.at.isoformat()}: source {sorted(m.source) or ['nobody']}, "
                 f"tocsin {sorted(m.tocsin) or ['nobody']}")
    echo(f"Compared {made} instants over the next 30 days: {'all agree' if not bad else f'{len(bad)} disagree'}.")
    return not bad


Reader = Callable[[Any, datetime], tuple[ImportPlan, Mapping[str, Sequence[TimelineEntry]], Mapping[str, str]]]


def _run(source: str, read: Reader, db_url: str | None, data_dir: str | None, dry_run: bool,
         clock: Clock) -> None:
    cfg = settings(db_url, data_dir)
    now = clock.now()
    with open_client(cfg) as client:
        plan, timelines, senders = read(client, now)
    ok = finish_import(database(cfg), source=source, plan=plan, timelines=timelines, now=now, dry_run=dry_run,
                       public_url=cfg.resolved_public_url(), senders=senders)
    if not ok:
        raise typer.Exit(1)


def pagerduty_senders(data: pagerduty.PagerDutyData, plan: ImportPlan) -> dict[str, str]:
    """'service/integration' -> a hint of the PagerDuty routing key its senders use today (first and last 4)."""
    keys = pagerduty.integration_keys(data, plan)
    senders = {}
    for s in plan.document["services"]:
        for i in s["integrations"]:
            old = keys.get(i["source_id"], "")
            if len(old) >= 12:
                senders[f"{s['slug']}/{i['name']}"] = f"routing key {old[:4]}…{old[-4:]}"
    return senders


@import_app.command("grafana-oncall")
def import_grafana_oncall(
    token: Annotated[str, typer.Option("--token", envvar="GRAFANA_ONCALL_TOKEN", show_default=False,
                                       help="OnCall API key (Settings > API tokens), or GRAFANA_ONCALL_TOKEN")],
    url: Annotated[str, typer.Option("--url", envvar="GRAFANA_ONCALL_URL",
                                     help="OnCall API URL shown on its Settings page (without /api/v1)")],
    dry_run: DryRun = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Import users, teams, schedules, escalation chains and integrations from Grafana OnCall."""
    def read(client: Any, now: datetime) -> tuple[ImportPlan, Mapping[str, Sequence[TimelineEntry]], dict[str, str]]:
        _, plan, timelines = grafana_oncall.read(client, url, token, now=now)
        return plan, timelines, {}  # each OnCall integration is its own service: its name names the sender
    _run("grafana-oncall", read, database_url, data_dir, dry_run, SystemClock())


@import_app.command("pagerduty")
def import_pagerduty(
    token: Annotated[str, typer.Option("--token", envvar="PAGERDUTY_TOKEN", show_default=False,
                                       help="PagerDuty REST API key (read-only is enough), or PAGERDUTY_TOKEN")],
    url: Annotated[str, typer.Option("--url", envvar="PAGERDUTY_URL", help="REST API base URL")] = pagerduty.DEFAULT_URL,
    dry_run: DryRun = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Import users, teams, schedules, escalation policies, services and maintenance windows from PagerDuty."""
    def read(client: Any, now: datetime) -> tuple[ImportPlan, Mapping[str, Sequence[TimelineEntry]], dict[str, str]]:
        data, plan, timelines = pagerduty.read(client, url, token, now=now)
        return plan, timelines, pagerduty_senders(data, plan)
    _run("pagerduty", read, database_url, data_dir, dry_run, SystemClock())

"""What every `tocsin import <source>` does once its ImportPlan is built: apply it, say which senders
must change their URL and key, report what was not imported, and verify on-call against the source.

`finish_import(db, plan, timelines, ...)` returns an `ImportReport` whose `lines` the CLI prints
and whose `ok` is False when the on-call comparison found a mismatch (the command then exits 1).
The report file (`--report FILE`) gets the same facts as JSON, without the integration keys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tocsin.configcode.apply import apply_documents
from tocsin.db import Database
from tocsin.importers.common import ImportPlan, Mismatch, TimelineEntry, compare_on_call, sample_instants
from tocsin.principal import Principal

SAMPLES, DAYS = 50, 30


@dataclass
class Sender:
    service: str
    integration: str
    type: str
    url: str
    key: str


@dataclass
class ImportReport:
    source: str
    dry_run: bool
    changes: list[str] = field(default_factory=list)
    senders: list[Sender] = field(default_factory=list)
    agreed: int = 0       # instants at which every imported schedule agrees with the source
    instants: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


class _RollBack(Exception):  # noqa: N818 - control flow, never seen outside this module
    """Raised to roll a dry run's transaction back."""


def _url(public_url: str, endpoint: str) -> str:
    """The URL a sender posts to: the public URL plus the endpoint's path (its "(...)" hint dropped)."""
    path = endpoint.split(" (", 1)[0].strip()
    return public_url.rstrip("/") + path if path.startswith("/") else path


def _who(people: frozenset[str]) -> str:
    return ", ".join(sorted(people)) or "nobody"


def finish_import(db: Database, plan: ImportPlan, timelines: Mapping[str, Sequence[TimelineEntry]], *,
                  source: str, now: datetime, dry_run: bool, public_url: str,
                  schedule_names: Mapping[str, str] | None = None) -> ImportReport:
    """Apply `plan`, then compare on-call with the source's `timelines` at 50 instants over the next
    30 days. With `dry_run` both happen in a transaction that is rolled back: the report says what
    would change and whether on-call would agree, and nothing is written. Raise TocsinError if apply
    refuses the plan."""

    report = ImportReport(source=source, dry_run=dry_run)
    instants = sample_instants(now, n=SAMPLES, days=DAYS)
    actor = Principal.system(f"import {source}")
    try:
        with db.unit_of_work() as session:
            # A dry run applies in a transaction that is rolled back, so that it can also say whether
            # on-call would agree; nothing it did is committed (its keys were never stored: not shown).
            # keep_access: the source's roles apply to people it creates, never to tocsin's own
            result = apply_documents(session, [plan.document], actor=actor, now=now, dry_run=False, prune=False,
                                     keep_access=True)
            if dry_run:
                session.flush()
                report.mismatches = compare_on_call(session, plan=plan, timelines=timelines, instants=instants,
                                                    now=now)[1]
                raise _RollBack
    except _RollBack:
        result.new_keys = []
    report.changes = list(result.changes)
    report.senders = [Sender(k.service, k.integration, k.type, _url(public_url, k.endpoint), k.key)
                      for k in result.new_keys]
    out = report.lines
    out.append(f"{source} import ({'dry run: nothing was written' if dry_run else 'applied'}):")
    out += [f"  {line}" for line in report.changes] or ["  no changes"]
    out += [f"  {line}" for line in result.notes]
    if report.senders:
        out.append(f"Senders to change ({len(report.senders)}): point each at its tocsin URL with its new key "
                   "(keys are shown once):")
        out += [f"  {s.service} / {s.integration} ({s.type}): {s.url}  key {s.key}" for s in report.senders]
        if any(s.type == "opsgenie" for s in report.senders):
            out.append(f"  (opsgenie senders: API URL {public_url.rstrip('/')}/ (Alertmanager's api_url), "
                       "API key = the key above, sent as Authorization: GenieKey <key>)")
        if any(s.type == "events_v2" for s in report.senders):
            out.append(f"  (events_v2 senders, PagerDuty Events API v2: post to {public_url.rstrip('/')}/v2/enqueue "
                       "with the key above as routing_key; Alertmanager's pagerduty_configs: url and routing_key)")
    elif not dry_run:
        out.append("Senders: no new integrations (existing ones keep their URLs and keys)")
    if plan.unmapped:
        out.append(f"Not imported ({len(plan.unmapped)}):")
        out += [f"  - {u.kind} {u.name}: {u.reason}" for u in plan.unmapped]
    if plan.invites:
        out.append(f"No contact method in {source} for {len(plan.invites)} people: invite them to add one: "
                   + ", ".join(plan.invites))
    if not dry_run:
        with db.unit_of_work() as session:
            report.mismatches = compare_on_call(session, plan=plan, timelines=timelines, instants=instants,
                                                now=now)[1]
    bad_at = {m.at for m in report.mismatches}
    report.instants, report.agreed = len(instants), len(instants) - len(bad_at)
    out.append(f"on-call {'would agree' if dry_run else 'agrees'} at {report.agreed}/{report.instants} instants "
               f"over the next {DAYS} days "
               f"({len(plan.schedules)} schedules)")
    names = schedule_names or {}
    for m in report.mismatches:
        out.append(f"  mismatch {m.at.astimezone(UTC).isoformat(timespec='minutes')} "
                   f"{names.get(m.source_schedule, m.source_schedule)}: {source} {_who(m.source)}, "
                   f"tocsin {_who(m.tocsin)}")
    return report


def write_report(path: Path, report: ImportReport, plan: ImportPlan) -> None:
    """The report as JSON (no keys: the file may be shared)."""
    body: dict[str, Any] = {
        "source": report.source, "dry_run": report.dry_run, "changes": report.changes,
        "senders": [{"service": s.service, "integration": s.integration, "type": s.type,
                     "url": s.url.replace(s.key, "<key>")} for s in report.senders],  # a URL may hold the key
        "not_imported": [{"kind": u.kind, "name": u.name, "reason": u.reason} for u in plan.unmapped],
        "invites": plan.invites,
        "on_call_check": {
            "instants": report.instants, "agreed": report.agreed,
            "mismatches": [{"schedule": m.source_schedule, "at": m.at.isoformat(), "source": sorted(m.source),
                            "tocsin": sorted(m.tocsin)} for m in report.mismatches]},
    }
    path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")

"""Operator commands for detection: integrations (inbound keys) and the engine process."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from tocsin.cli.admin import _open
from tocsin.cli.common import (
    DatabaseUrl,
    DataDir,
    JsonFlag,
    console,
    fail,
    print_json,
    settings,
)
from tocsin.clock import SystemClock
from tocsin.integrations import service as integrations
from tocsin.integrations.service import IntegrationType
from tocsin.principal import Principal
from tocsin.services.service import require_service

integration_app = typer.Typer(help="Integrations: the keys alerting tools send with.", no_args_is_help=True)

@integration_app.command("create")
def integration_create(
    service: Annotated[str, typer.Option("--service", help="Service slug or id")],
    kind: Annotated[IntegrationType, typer.Option("--type", help="What will send to it")],
    name: Annotated[str | None, typer.Option(help="Name (default: the type)")] = None,
    preset: Annotated[str | None, typer.Option(help="generic: a shipped mapping (datadog, newrelic, sentry, "
                                               "honeycomb, uptime-kuma, gatus, zabbix, elastic, azure-monitor, "
                                               "aws-sns)")] = None,
    database_url: DatabaseUrl = None, data_dir: DataDir = None,
) -> None:
    """Create an integration; the key (shown once) is the last line of output."""
    db = _open(database_url, data_dir)
    try:
        with db.unit_of_work() as s:
            row, key = integrations.create_integration(s, actor=Principal.system("cli"), now=SystemClock().now(),
                                                       service=service, kind=kind, name=name or kind.value,
                                                       config={"preset": preset} if preset else None)
    finally:
        db.dispose()
    where = integrations.ENDPOINTS[kind.value]
    console.print(f"created {kind.value} integration {row.id}; send to "
                  f"{where if kind is IntegrationType.email else '<tocsin>' + where}", highlight=False, soft_wrap=True)
    print(key)


@integration_app.command("list")
def integration_list(service: Annotated[str | None, typer.Option("--service")] = None, as_json: JsonFlag = False,
                     database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """List integrations (keys are never shown again; the hint is their first characters)."""
    db = _open(database_url, data_dir)
    try:
        with db.unit_of_work() as s:
            sid = require_service(s, service).id if service else None
            rows = [{"id": str(r.id), "service_id": str(r.service_id), "type": r.type, "name": r.name,
                     "key_hint": r.key_hint, "last_event_at": r.last_event_at.isoformat() if r.last_event_at else None}
                    for r in integrations.list_integrations(s, service_id=sid)]
    finally:
        db.dispose()
    if as_json:
        print_json(rows)
        return
    for r in rows:
        console.print(f"{r['id']}  {r['type']:<12} {r['key_hint']}…  {r['name']}  last event: {r['last_event_at']}",
                      highlight=False, soft_wrap=True)


def engine(database_url: DatabaseUrl = None, data_dir: DataDir = None,
           interval: Annotated[float | None, typer.Option(help="Seconds between ticks")] = None) -> None:
    """Run only the engine (checks, heartbeats, releasing silenced alerts), e.g. beside `serve --no-engine`."""
    from tocsin.engine.runner import (
        Engine,  # lazy: the server's modules load only for the command that runs them (a fast `tocsin --help`)
    )

    cfg = settings(database_url, data_dir)
    db = _open(database_url, data_dir)
    eng = Engine(db, SystemClock(), settings=cfg, interval=interval or cfg.engine_interval)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    from tocsin.engine.lock import (
        EngineLocked,  # lazy: the server's modules load only for the command that runs them (a fast `tocsin --help`)
    )

    try:
        eng.start()
    except EngineLocked as exc:
        db.dispose()
        fail(str(exc), code=2)
    console.print(f"tocsin engine running (database: {db.dialect}); Ctrl-C stops it", highlight=False)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        eng.stop()
        db.dispose()

"""Entry point of the `tocsin` command.

The commands load lazily: `tocsin --version`, `tocsin --help` and the API client verbs must start fast
(scripts call them in loops), so this module imports only typer; a command's module (and with it
SQLAlchemy, Alembic and the services, for the commands that use the database) is imported when that
command runs. `COMMANDS` lists them with the one-line help `tocsin --help` shows (a test checks it
against each command's own help).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from tocsin import __version__
from tocsin.errors import TocsinError

# name -> (module, attribute: a typer.Typer group or a command function, the one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "serve": ("tocsin.cli.admin", "serve",
              "Serve the API and ingestion endpoints, and run the engine unless --no-engine."),
    "demo": ("tocsin.cli.admin", "demo", "Load the demo organisation into an empty database and print its credentials."),
    "engine": ("tocsin.cli.detection", "engine",
               "Run only the engine (checks, heartbeats, releasing silenced alerts), e.g. beside `serve --no-engine`."),
    "oncall": ("tocsin.cli.oncall", "oncall",
               "Show who is on call now (or at --at), for one schedule or every schedule."),
    "report": ("tocsin.cli.learning_report", "report",
               "Incident response metrics for a period: MTTA, MTTR, postmortems, action items, cost."),
    "db": ("tocsin.cli.admin", "db_app", "Database schema migrations."),
    "user": ("tocsin.cli.admin", "user_app", "Create users (operator access to the database)."),
    "token": ("tocsin.cli.admin", "token_app", "Create and revoke API tokens."),
    "audit": ("tocsin.cli.admin", "audit_app", "The hash-chained audit log."),
    "incident": ("tocsin.cli.client", "incident_app",
                 "Declare and run incidents through the API (TOCSIN_URL, TOCSIN_TOKEN)."),
    "integration": ("tocsin.cli.detection", "integration_app", "Integrations: the keys alerting tools send with."),
    "postmortem": ("tocsin.cli.learning_postmortem", "postmortem_app",
                   "Postmortems: start one from a resolved incident, export it."),
    "statuspage": ("tocsin.cli.statuspage", "statuspage_app", "Public status pages."),
    "regimes": ("tocsin.cli.obligations", "regimes_app", "Breach notification regimes (regulatory clocks)."),
    "evidence": ("tocsin.cli.evidence", "evidence_app", "The evidence locker (chain of custody)."),
    "exercise": ("tocsin.cli.exercise", "exercise_app", "Scored exercises and game days (TOCSIN_URL, TOCSIN_TOKEN)."),
    "sso": ("tocsin.cli.sso", "sso_app", "Single sign-on: SCIM provisioning tokens."),
    "apply": ("tocsin.cli.configcode", "apply",
              "Make the database match the configuration files; print one line per change."),
    "export": ("tocsin.cli.configcode", "export",
               "Write the current configuration in the format `tocsin apply` reads (no secrets)."),
    "lint": ("tocsin.cli.configcode", "lint",
             "Check configuration files for CI: one line per finding, exit status 1 when there are any."),
    "config": ("tocsin.cli.configcode", "config_app", "Configuration as code: the document's JSON Schema."),
    "agent": ("tocsin.cli.agent", "agent",
              "Run the checks assigned to this agent's location and report their results until stopped."),
    "import": ("tocsin.cli.importer", "import_app",
               "Import on-call from Opsgenie, Grafana OnCall or PagerDuty; re-running updates."),
    "alert": ("tocsin.cli.respond", "alert_app",
              "Alerts: list, acknowledge, resolve, attach, escalate, reassign (through the API)."),
    "silence": ("tocsin.cli.respond", "silence_app",
                "Silences: hold back alerts matching labels for a while (through the API)."),
    "override": ("tocsin.cli.respond", "override_app", "Schedule overrides: cover someone's shifts (through the API)."),
    "action-item": ("tocsin.cli.respond", "action_app", "Action items: list, add, update, close (through the API)."),
    "problem": ("tocsin.cli.respond", "problem_app", "Problems: recurring incidents under one record (through the API)."),
}


def load(name: str) -> Any:
    """The command `name` as click sees it (importing its module)."""
    module, attribute, _help = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command: Any = typer.main.get_group(target)  # a group even when it has one command (`user create`)
    else:
        single = typer.Typer()
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class _Listed(TyperCommand):
    """A command not imported yet: its name and help, for `tocsin --help`."""


class LazyGroup(TyperGroup):
    """The top-level group: lists every command from COMMANDS, imports one only to run it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, (_module, _attribute, short) in COMMANDS.items():
            self.commands.setdefault(name, _Listed(name=name, help=short, short_help=short))

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and isinstance(command, _Listed):
            command = self.commands[name] = load(name)
        return name, command, rest


def _version(value: bool) -> None:
    if value:
        print(__version__)
        raise typer.Exit()


app = typer.Typer(name="tocsin", help="tocsin: self-hosted incident response.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False, cls=LazyGroup)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                       help="Print the version and exit.")) -> None:
    """tocsin: self-hosted incident response."""


@app.command("version")
def version() -> None:
    """Print the version."""
    print(__version__)


def _database_error(exc: Exception) -> str | None:
    """The one-line message for a database that cannot be used (SQLAlchemy is only loaded by the
    commands that use a database, so if it is not loaded this was not such an error)."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(exc, sa_exc.OperationalError):
        return f"cannot use the database: {str(exc.orig).strip().splitlines()[0]}"
    return None


def main() -> None:
    try:
        app()
    except TocsinError as exc:
        from tocsin.cli.out import fail  # lazy: rich is loaded only to print an error

        try:
            fail(exc.message)
        except typer.Exit as e:
            sys.exit(e.exit_code)
    except Exception as exc:  # a one-line message, not a traceback, for operational errors
        message = _database_error(exc)
        if message is not None:
            print(f"error: {message}", file=sys.stderr)
            sys.exit(1)
        raise

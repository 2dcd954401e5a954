"""Entry point of the `tocsin` command."""

from __future__ import annotations

import sys

import typer
from sqlalchemy.exc import OperationalError

from tocsin import __version__
from tocsin.cli import (
    admin,
    agent,
    client,
    detection,
    evidence,
    exercise,
    learning_postmortem,
    learning_report,
    obligations,
    oncall,
    sso,
    statuspage,
)
from tocsin.cli.common import fail
from tocsin.errors import TocsinError

app = typer.Typer(name="tocsin", help="tocsin: self-hosted incident response.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
app.command("serve")(admin.serve)
app.command("demo")(admin.demo)
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.user_app, name="user")
app.add_typer(admin.token_app, name="token")
app.add_typer(admin.audit_app, name="audit")
app.add_typer(client.incident_app, name="incident")
app.add_typer(detection.integration_app, name="integration")
app.command("engine")(detection.engine)
app.command("agent")(agent.agent)
app.command("oncall")(oncall.oncall)
app.add_typer(learning_postmortem.postmortem_app, name="postmortem")
app.command("report")(learning_report.report)
app.add_typer(statuspage.statuspage_app, name="statuspage")
app.add_typer(obligations.regimes_app, name="regimes")
app.add_typer(evidence.evidence_app, name="evidence")
app.add_typer(exercise.exercise_app, name="exercise")
app.add_typer(sso.sso_app, name="sso")


@app.command("version")
def version() -> None:
    """Print the version."""
    print(__version__)


def main() -> None:
    try:
        app()
    except TocsinError as exc:
        try:
            fail(exc.message)
        except typer.Exit as e:
            sys.exit(e.exit_code)
    except Exception as exc:  # a one-line message, not a traceback, for operational errors

        if isinstance(exc, OperationalError):
            print(f"error: cannot use the database: {str(exc.orig).strip().splitlines()[0]}", file=sys.stderr)
            sys.exit(1)
        raise

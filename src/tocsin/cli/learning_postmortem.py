"""`tocsin postmortem` (being built)."""

from __future__ import annotations

import typer

postmortem_app = typer.Typer(help="Postmortems.", no_args_is_help=True)

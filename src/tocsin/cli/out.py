"""Output helpers every command shares, with nothing heavy imported: the API client verbs use these
and must start fast (no database, no services; see cli/main.py)."""

from __future__ import annotations

import sys
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table")]


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")

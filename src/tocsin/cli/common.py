"""What the CLI commands share: option types, output helpers, settings and the database."""

from __future__ import annotations

import errno
import shutil
import socket
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console

from tocsin.audit.service import configure_key
from tocsin.config import Settings, load_settings
from tocsin.db import Database
from tocsin.users.service import configure_password_hashing

console = Console()
err_console = Console(stderr=True)

DatabaseUrl = Annotated[str | None, typer.Option("--database-url", envvar="TOCSIN_DATABASE_URL",
                                                 help="SQLAlchemy URL (default: SQLite file in the data directory)")]
DataDir = Annotated[str | None, typer.Option("--data-dir", envvar="TOCSIN_DATA_DIR",
                                             help="Directory for the SQLite file and generated secret key")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table")]


def settings(database_url: str | None = None, data_dir: str | None = None, **extra: Any) -> Settings:
    cfg = load_settings(database_url=database_url, data_dir=data_dir, **extra)
    configure_password_hashing(**cfg.password_hashing())
    return cfg


def database(cfg: Settings) -> Database:
    """The database, with this process's audit key set (the commands that open it may write audit entries)."""
    configure_key(cfg.resolved_audit_key())
    return Database(cfg.resolved_database_url())


def self_command() -> str:
    """How the person who ran this command can run `tocsin` again: `tocsin` when that is on PATH and
    is this program, else this program's path (`.venv/bin/tocsin` after `make run`)."""
    here = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    found = shutil.which("tocsin")
    if here is None or not here.exists() or (found and Path(found).resolve() == here):
        return "tocsin"
    try:
        return str(here.relative_to(Path.cwd()))
    except ValueError:
        return str(here)


def port_in_use(host: str, port: int) -> bool:
    """Whether another program listens on host:port already (checked before starting anything)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")

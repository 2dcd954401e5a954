"""What the CLI commands share: option types, output helpers, settings and the database."""

from __future__ import annotations

import errno
import shutil
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tocsin.audit.service import configure_key
from tocsin.cli.out import JsonFlag, console, err_console, fail, print_json, styled
from tocsin.config import Settings, load_settings
from tocsin.db import Database
from tocsin.users.service import configure_password_hashing

__all__ = ["JsonFlag", "console", "err_console", "fail", "print_json", "styled"]  # shared with the client verbs (cli/out.py)

DatabaseUrl = Annotated[str | None, typer.Option("--database-url", envvar="TOCSIN_DATABASE_URL",
                                                 help="SQLAlchemy URL (default: SQLite file in the data directory)")]
DataDir = Annotated[str | None, typer.Option("--data-dir", envvar="TOCSIN_DATA_DIR",
                                             help="Directory for the SQLite file and generated secret key")]


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

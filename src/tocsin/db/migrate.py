"""Alembic driven from code: upgrade, downgrade, and the schema check `serve` runs at start."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from tocsin.errors import SchemaMismatch

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return heads[0]


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_schema(engine: sa.Engine) -> None:
    """Raise SchemaMismatch unless the database is exactly at this code's head revision."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    current = current_revision(engine)
    if current == head:
        return
    if current is None:
        raise SchemaMismatch(
            "the database has no tocsin schema yet: run `tocsin db upgrade` (or `tocsin serve --migrate`)",
            details={"current": None, "expected": head})
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise SchemaMismatch(
            f"the database schema ({current}) is newer than this tocsin ({head}): upgrade tocsin, "
            "or restore a backup taken before the newer version ran", details={"current": current, "expected": head})
    raise SchemaMismatch(
        f"the database schema ({current}) is older than this tocsin ({head}): run `tocsin db upgrade` "
        "(or `tocsin serve --migrate`)", details={"current": current, "expected": head})

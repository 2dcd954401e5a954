"""Alembic environment: URL from the caller, batch mode on SQLite so ALTERs work there."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from tocsin.db.session import make_engine
from tocsin.models import Base

config = context.config
url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    if url is None:
        raise RuntimeError("no database URL: pass database_url in the Alembic config attributes or set sqlalchemy.url")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection: sa.Connection) -> None:
    driver = connection.connection.driver_connection if connection.dialect.name == "sqlite" else None
    if driver is not None:
        # A batch ALTER on SQLite rebuilds the table (copy, DROP, rename). With foreign keys enforced,
        # the DROP deletes what references the old table through ON DELETE CASCADE: rebuilding
        # `services` would delete every alert. Off for the migration (SQLite ignores the pragma inside
        # a transaction, so it is set on the driver connection before Alembic begins one).
        driver.execute("PRAGMA foreign_keys=OFF")
    try:
        _migrate(connection)
    finally:
        if driver is not None:
            driver.execute("PRAGMA foreign_keys=ON")


def _migrate(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()


run_migrations_online()

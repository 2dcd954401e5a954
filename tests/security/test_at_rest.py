"""Files at rest: the SQLite database (password hashes, contact destinations), its -wal and -shm, and the
generated secrets are readable by tocsin's user only, whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from tocsin.config import Settings
from tocsin.db import Database


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    old = os.umask(0o022)  # the usual default: new files world-readable unless created otherwise
    yield
    os.umask(old)


def write_something(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (secret TEXT)"))
        conn.execute(sa.text("INSERT INTO t VALUES ('argon2-hash')"))


def test_a_new_sqlite_database_and_its_wal_are_private(tmp_path, open_umask):
    home = tmp_path / "data"
    db = Database(f"sqlite:///{home / 'tocsin.db'}")
    try:
        write_something(db)
        files = {p.name: mode(p) for p in home.iterdir()}
        assert {"tocsin.db", "tocsin.db-wal", "tocsin.db-shm"} <= set(files), files
        assert files == dict.fromkeys(files, 0o600), "nobody but tocsin's user may read the database"
        assert mode(home) == 0o700, "the data directory tocsin created is private"
    finally:
        db.dispose()


def test_an_existing_world_readable_database_is_made_private(tmp_path, open_umask):
    path = tmp_path / "tocsin.db"
    first = Database(f"sqlite:///{path}")
    write_something(first)
    first.dispose()
    path.chmod(0o644)
    db = Database(f"sqlite:///{path}")
    try:
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT secret FROM t")).scalar_one() == "argon2-hash", "nothing is lost"
        assert mode(path) == 0o600
    finally:
        db.dispose()


def test_the_generated_secret_key_and_its_directory_are_private(tmp_path, open_umask):
    home = tmp_path / "fresh"
    key = Settings(data_dir=home, secret_key=None).resolved_secret_key()
    assert len(key) >= 48
    assert mode(home / "secret_key") == 0o600
    assert mode(home) == 0o700

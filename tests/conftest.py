"""Shared fixtures: a migrated database per test on SQLite and on PostgreSQL, a manual clock,
the API app with a test client, and helpers to make users with tokens.

PostgreSQL is required, not optional: the suite creates its own database on the server
named by TOCSIN_TEST_PG_URL (default: the local server, trust auth) and drops it at the
end. TOCSIN_TEST_BACKENDS=sqlite narrows a local run to SQLite only.
"""

from __future__ import annotations

import atexit
import graphlib
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.harness.backends import (
    BACKENDS,
    CHEAP_PASSWORD_HASHING,
    PG_ADMIN_URL,
    TEST_EGRESS,
    create_test_database,
    pg_conninfo,
)
from tests.harness.ingest import AppliedClient
from tests.harness.people import Person, person_factory, service_factory, team_factory
from tocsin.clock import ManualClock
from tocsin.config import Settings
from tocsin.db import Database
from tocsin.db.migrate import head_revision, upgrade
from tocsin.db.session import _writer_lock
from tocsin.pipeline import context as pipeline_context
from tocsin.principal import Principal

pytest_plugins = ["tests.harness.plugin"]  # the harness's fixtures: smtp, twilio, slack, receiver, serve, runbook

# Cheap argon2 for every password the tests hash, in this process and in the servers and CLI runs it
# starts (the harness's tocsin_env and cli_env pass these on). Production keeps argon2-cffi's
# defaults: tests/unit/test_password_hashing.py proves it.
os.environ.update(CHEAP_PASSWORD_HASHING)
os.environ.update(TEST_EGRESS)  # the fakes on 127.0.0.1 (tests/harness/backends.py)
# Code that runs without explicit settings (an engine started bare) reads the environment; its data
# directory (where a generated secret key is kept) is this process's own temporary one, never the
# checkout's ./data or a developer's TOCSIN_DATA_DIR.
_DATA_DIR = tempfile.mkdtemp(prefix="tocsin-tests-")
os.environ["TOCSIN_DATA_DIR"] = _DATA_DIR
atexit.register(shutil.rmtree, _DATA_DIR, True)


# Database tests run on every backend in BACKENDS, except under these directories (request validation,
# HTTP shapes, rendering, schema fuzzing: behaviour the database does not decide), where they run on
# SQLite alone unless the module or test is marked `both_backends` (the need-to-know matrix, enforced
# in SQL; ingest; LISTEN/NOTIFY live updates; the every-route smoke pass). Storage semantics
# (tests/integration, scenarios, durability, cli, unit, interop) always run on both. docs/testing.md.
# tests/security: the regressions of security reviews, scenarios through the API (SQLite unless marked).
ONE_BACKEND_DIRS = ("api", "web", "security")
_TESTS = Path(__file__).parent


def _one_backend(metafunc: pytest.Metafunc) -> bool:
    path = Path(str(metafunc.definition.path))
    try:
        top = path.relative_to(_TESTS).parts[0]
    except ValueError:
        return False
    return top in ONE_BACKEND_DIRS and metafunc.definition.get_closest_marker("both_backends") is None


@pytest.hookimpl(tryfirst=True)  # the mark must be there before pytest reads the marks
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_url" in metafunc.fixturenames and _one_backend(metafunc) and len(BACKENDS) > 1:
        backend = "sqlite" if "sqlite" in BACKENDS else BACKENDS[0]
        # as a mark, so that pytest applies it instead of the fixture's own params
        metafunc.definition.add_marker(pytest.mark.parametrize("db_url", [backend], indirect=True, ids=[backend]))



@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run; yields its SQLAlchemy URL."""
    name = f"tocsin_test_{os.getpid()}_{secrets.token_hex(3)}"
    url = create_test_database(name)  # commits without waiting for fsync (tests/harness/backends.py)
    yield url
    with psycopg.connect(pg_conninfo(PG_ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _pg_migrated(pg_server_url: str) -> str:
    upgrade(pg_server_url)
    return pg_server_url


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "tocsin.db"
    upgrade(f"sqlite:///{path}")
    return path


_RESET_SQL: dict[str, str] = {}


def _reset_statement(conn: psycopg.Connection) -> str:
    """One DO block that empties every table, children before parents, and puts the counters and the
    schema version back. DELETE, not TRUNCATE: on the few rows a test leaves, DELETE costs next to
    nothing, whereas TRUNCATE makes new files for each of the ~60 tables and their indexes
    (about 0.18 s a test). Every table is emptied, including those a subprocess wrote."""
    tables = [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
        "AND c.relname NOT IN ('alembic_version', 'counters')")]
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in conn.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid <> confrelid"):
        if child in parents and parent in parents:
            parents[child].add(parent)
    children_first = list(reversed(list(graphlib.TopologicalSorter(parents).static_order())))
    head = head_revision()
    return ("DO $reset$ BEGIN\n"
            + "".join(f'DELETE FROM "{t}";\n' for t in children_first)
            + "UPDATE counters SET value = 0 WHERE value <> 0;\n"
            # a test may have moved the schema version (e.g. to one "from the future"); the tables are at head
            + f"UPDATE alembic_version SET version_num = '{head}' WHERE version_num <> '{head}';\n"
            + "END $reset$")


def _reset_pg(url: str) -> None:
    with psycopg.connect(pg_conninfo(url), autocommit=True) as conn:
        if url not in _RESET_SQL:
            _RESET_SQL[url] = _reset_statement(conn)
        conn.execute(_RESET_SQL[url])


@pytest.fixture(scope="session")
def _sqlite_worker_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where this worker's SQLite tests keep their database: one path, a fresh copy of the template
    for every test (so that the worker's `Database` for it, and its statement cache, can be reused).

    In memory (/dev/shm) where there is one: the file is thrown away after each test, and on disk
    the WAL checkpoint and fsync of every test's last connection and the unlinks cost more than the
    test's own queries on a busy machine. SQLite behaves alike on both (WAL, locks, shared memory);
    only what survives a power cut differs, which no test can see."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        directory = Path(tempfile.mkdtemp(prefix="tocsin-tests-db-", dir=shm))
        yield directory / "tocsin.db"
        shutil.rmtree(directory, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("db") / "tocsin.db"


def _fresh_sqlite(template: Path, path: Path, request: pytest.FixtureRequest) -> Path:
    """Put a fresh copy of `template` at `path` and return it; in the test's own `tmp_path` instead
    when a connection of an earlier test still holds the file's writer lock (a leaked transaction)."""
    lock = _writer_lock(str(path))
    if not lock.acquire(blocking=False):
        path = request.getfixturevalue("tmp_path") / "tocsin.db"
    else:
        lock.release()
    # The old database's WAL and shared-memory files must go with it: SQLite would replay a
    # stale -wal onto the copy. Connections still open on the old file keep its (unlinked) inode.
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        stale.unlink(missing_ok=True)
    shutil.copy(template, path)
    return path


@pytest.fixture
def sqlite_template(_sqlite_template: Path) -> Path:
    """The SQLite file each SQLite test's database is a fresh copy of: the empty migrated one. A module
    whose tests all start from the same seeded rows may override this with a file it seeded once
    (tests/security/test_principals.py does), instead of seeding them again in every test."""
    return _sqlite_template


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """The URL of an empty, migrated database: one per test on each backend (on SQLite a fresh
    copy of the migrated template, on PostgreSQL the worker's database emptied)."""
    if request.param == "sqlite":
        path = _fresh_sqlite(request.getfixturevalue("sqlite_template"),
                             request.getfixturevalue("_sqlite_worker_path"), request)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("_pg_migrated")
    _reset_pg(url)
    return url


# One `Database` per URL in this worker, reused by every test of that backend. Each test's
# database is new (db_url above), but its engine is not: SQLAlchemy keeps compiled statements
# per engine (the key holds the engine's dialect), so a new engine per test compiled every
# statement the test ran again (about a third of a console test's time in fixtures).
_DATABASES: dict[str, Database] = {}


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = _DATABASES.get(db_url)
    if database is None:
        database = _DATABASES[db_url] = Database(db_url)
    yield database
    # No connection outlives the test (the next one replaces the file or empties the tables), and
    # nothing read from this test's data is kept for the next: the alert pipeline caches its
    # configuration per engine, keyed by a version counter that restarts at 0 with each database.
    database.dispose()
    with pipeline_context._LOCK:
        pipeline_context._CACHE.pop(database.engine, None)


def pytest_configure(config: pytest.Config) -> None:
    from tocsin.audit.service import configure_key
    from tocsin.config import Settings
    from tocsin.users.service import configure_password_hashing

    configure_password_hashing(**Settings().password_hashing())  # as the app and the CLI do at start
    configure_key(Settings().resolved_audit_key())  # likewise the audit key (kept in this process's data dir)


@pytest.fixture
def production_password_hashing() -> Iterator[None]:
    """Hash passwords as production does (the default settings) for one test, e.g. one whose point is
    that argon2's real cost stays off the event loop."""
    from tocsin.config import Settings
    from tocsin.users.service import configure_password_hashing

    with pytest.MonkeyPatch.context() as env:
        for name in CHEAP_PASSWORD_HASHING:
            env.delenv(name)
        configure_password_hashing(**Settings().password_hashing())
        yield
    configure_password_hashing(**Settings().password_hashing())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def system() -> Principal:
    return Principal.system("tests")


@pytest.fixture
def make_person(db: Database, clock: ManualClock, system: Principal) -> Callable[..., Person]:
    """make_person(role="responder", teams=[slug...], name=None) -> Person."""
    return person_factory(db, clock, system)


@pytest.fixture
def make_team(db: Database, clock: ManualClock, system: Principal) -> Callable[..., uuid.UUID]:
    """make_team(slug, is_security=False) -> the team's id."""
    return team_factory(db, clock, system)


@pytest.fixture
def make_service(db: Database, clock: ManualClock, system: Principal) -> Callable[..., uuid.UUID]:
    """make_service(slug, tier=2, owner_team=None) -> the service's id."""
    return service_factory(db, clock, system)


_APP_SETTINGS: dict[tuple[tuple[str, str], ...], Settings] = {}


def _app_settings() -> Settings:
    """The `app` fixture's settings: read from the environment once per distinct set of TOCSIN_*
    variables (reading them costs ~10 ms, a tenth of a small API test), a copy for each app."""
    key = tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("TOCSIN_")))
    settings = _APP_SETTINGS.get(key)
    if settings is None:
        settings = _APP_SETTINGS[key] = Settings(max_body_bytes=64 * 1024, secret_key="test-secret")
    return settings.model_copy(deep=True)


@pytest.fixture
def app(db: Database, clock: ManualClock):
    from tocsin.app import create_app

    application = create_app(settings=_app_settings(), db=db, clock=clock)
    yield application
    application.state.ingest.close()


@pytest.fixture
def client(app) -> Iterator:

    with AppliedClient(app, raise_server_exceptions=False) as c:
        yield c

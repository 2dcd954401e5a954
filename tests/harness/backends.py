"""Which database backends this run covers, and where PostgreSQL is.

tests/conftest.py builds the `db_url` fixture from these: TOCSIN_TEST_BACKENDS (default
"sqlite,postgresql") and TOCSIN_TEST_PG_URL.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("TOCSIN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = [b for b in os.environ.get("TOCSIN_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]

# Cheap argon2 for every password the tests hash: tests/conftest.py sets these in the test process, and
# the environments built for `tocsin` subprocesses (processes.tocsin_env, cli.cli_env) carry them.
CHEAP_PASSWORD_HASHING = {"TOCSIN_PASSWORD_TIME_COST": "1", "TOCSIN_PASSWORD_MEMORY_KIB": "8",
                          "TOCSIN_PASSWORD_PARALLELISM": "1"}


# The tests' fakes (webhook receivers, Slack and Twilio stand-ins, check targets) listen on 127.0.0.1,
# which tocsin refuses by default (the SSRF guard): the test process and every `tocsin` subprocess
# open it deliberately. tests/security/test_ssrf.py builds settings without it.
TEST_EGRESS = {"TOCSIN_OUTBOUND_ALLOW": "127.0.0.1/32"}


def pg_conninfo(url: str) -> str:
    """A libpq conninfo (for psycopg.connect) from a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def only(backend: str) -> pytest.MarkDecorator:
    """Run on `backend` alone (skipped, saying why, when TOCSIN_TEST_BACKENDS leaves it out)."""
    skip = () if backend in BACKENDS else (pytest.mark.skip(reason=f"{backend} left out by TOCSIN_TEST_BACKENDS"),)
    return pytest.mark.parametrize("db_url", [pytest.param(backend, marks=skip)], indirect=True)


def create_test_database(name: str) -> str:
    """Create the PostgreSQL database `name` on the test server; return its SQLAlchemy URL.

    Its sessions (the test process's and every `tocsin` subprocess's) commit asynchronously
    (`synchronous_commit = off`): a commit returns without waiting for the server to fsync its WAL,
    about 11 ms a commit on this machine's disk against ~1.5 ms. Other sessions see a committed
    transaction at once, exactly as before; only a crash of the PostgreSQL server itself (which no
    test causes: the durability tests kill tocsin, never the database) could lose the last commits."""
    import psycopg

    with psycopg.connect(pg_conninfo(PG_ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

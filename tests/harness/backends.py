"""Which database backends this run covers, and where PostgreSQL is.

Read from the same environment variables as tests/conftest.py, which builds the `db_url`
fixture from them: TOCSIN_TEST_BACKENDS (default "sqlite,postgresql") and TOCSIN_TEST_PG_URL.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("TOCSIN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = [b for b in os.environ.get("TOCSIN_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


def pg_conninfo(url: str) -> str:
    """A libpq conninfo (for psycopg.connect) from a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def only(backend: str) -> pytest.MarkDecorator:
    """Run on `backend` alone (skipped, saying why, when TOCSIN_TEST_BACKENDS leaves it out)."""
    skip = () if backend in BACKENDS else (pytest.mark.skip(reason=f"{backend} left out by TOCSIN_TEST_BACKENDS"),)
    return pytest.mark.parametrize("db_url", [pytest.param(backend, marks=skip)], indirect=True)

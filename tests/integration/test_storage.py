"""Storage on both backends: migrations up and down, UTC-only timestamps, unique refs under concurrency."""

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tocsin.db import Database
from tocsin.db.migrate import check_schema, downgrade, upgrade
from tocsin.errors import SchemaMismatch
from tocsin.incidents.models import Incident
from tocsin.incidents.service import Declaration, declare
from tocsin.models import Base
from tocsin.severities import Severity


def test_migration_round_trip(db: Database):
    """head -> base -> head leaves exactly the tables the models declare, on SQLite and PostgreSQL."""
    expected = set(Base.metadata.tables)
    assert expected <= set(sa.inspect(db.engine).get_table_names())
    downgrade(db.url, "base")
    db.engine.dispose()
    assert set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"} == set()
    with pytest.raises(SchemaMismatch, match="tocsin db upgrade"):
        check_schema(db.engine)
    upgrade(db.url)
    db.engine.dispose()
    assert expected <= set(sa.inspect(db.engine).get_table_names())
    check_schema(db.engine)  # at head again: no exception


def test_schema_newer_than_code_is_refused(db: Database):
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(SchemaMismatch, match="newer"):
        check_schema(db.engine)


def test_timestamps_are_aware_utc_and_naive_is_refused(db, clock, make_person, system):
    berlin = timezone(timedelta(hours=2))
    with db.unit_of_work() as s:
        inc = declare(s, actor=system, now=clock.now(), spec=Declaration(
            title="t", severity=Severity.SEV3, impact_started_at=datetime(2026, 1, 1, 13, 0, tzinfo=berlin)))
        inc_id = inc.id
    with db.unit_of_work() as s:
        got = s.get(Incident, inc_id)
        assert got.impact_started_at == datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
        assert got.impact_started_at.tzinfo == UTC and got.declared_at.tzinfo == UTC
    with pytest.raises(sa.exc.StatementError, match="naive"):
        with db.unit_of_work() as s:
            s.get(Incident, inc_id).mitigated_at = datetime(2026, 1, 1, 12, 0)


def test_concurrent_declares_get_unique_gap_free_numbers(db, clock, system):
    """Eight threads declaring at once: eight different numbers 1..8 (PostgreSQL row lock, SQLite writer lock)."""
    numbers: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        try:
            barrier.wait()
            with db.unit_of_work() as s:
                numbers.append(declare(s, actor=system, now=clock.now(),
                                       spec=Declaration(title="race", severity=Severity.SEV4)).number)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(numbers) == list(range(1, 9))

"""Writers and readers of one database in one process (db/session.py): on SQLite, write
transactions queue on an in-process lock per file (SQLite's busy handler stays the fallback between
processes), and reads opened with `Database.read()` never queue behind a writer; an engine job with
nothing to do finds that out by such a read, so an idle tick does not wait for the ingest writer."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from tocsin.clock import ManualClock
from tocsin.config import Settings
from tocsin.db import Database
from tocsin.engine.modules import ORDER
from tocsin.engine.runner import Engine
from tocsin.services.models import Service

# The jobs that look for work with a read first (delivery and the outboxes claim in their own way).
AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
PROBED = ("pending_events", "unsuppress", "heartbeats", "checks", "escalations", "action_reminders",
          "obligation_reminders", "update_reminders", "workflows", "automation_runs", "chat_follow", "chat_deliver",
          "slos", "check_quorum")


def test_concurrent_writers_of_one_file_all_commit_and_none_loses_an_update(db_url):
    dbs = [Database(db_url), Database(db_url)]  # two engines on one file share its lock
    try:
        with dbs[0].unit_of_work() as s:
            s.add(Service(slug="counter", name="0", tier=1, created_at=AT, updated_at=AT))
        failures: list[BaseException] = []

        def bump(database: Database) -> None:
            try:
                for _ in range(40):
                    with database.unit_of_work() as s:  # read, then write: a lost update shows in the total
                        # FOR UPDATE: PostgreSQL's row lock; SQLite has the one writer already
                        seen = s.execute(sa.select(Service.name).where(Service.slug == "counter")
                                         .with_for_update()).scalar_one()
                        s.execute(sa.update(Service).where(Service.slug == "counter").values(name=str(int(seen) + 1)))
            except BaseException as exc:  # noqa: BLE001  (reported below)
                failures.append(exc)

        threads = [threading.Thread(target=bump, args=(dbs[n % 2],)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        with dbs[1].unit_of_work() as s:
            assert s.execute(sa.select(Service.name).where(Service.slug == "counter")).scalar_one() == "160"
    finally:
        for d in dbs:
            d.dispose()


def test_an_idle_engine_tick_does_not_wait_for_a_writer(db, db_url):
    """While another thread holds a write transaction open, an engine with nothing to do ticks
    through: every probed job reads, finds no work, and skips its unit of work. (Had a job opened
    one, it would have waited for the writer, which is released only after the tick.)"""
    engine = Engine(db, ManualClock(AT), settings=Settings(secret_key="test-secret"),
                    modules=[(name, job) for name, job in ORDER if name in PROBED])
    engine.tick()  # the first tick re-checks every hold (the configuration version is new to it)
    holding, release = threading.Event(), threading.Event()
    writer = Database(db_url)

    def hold() -> None:
        with writer.unit_of_work() as s:
            s.add(Service(slug=f"busy-{uuid.uuid4().hex[:8]}", name="Busy", tier=1, created_at=AT, updated_at=AT))
            s.flush()
            holding.set()
            release.wait(timeout=120)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(timeout=60)
        done = engine.tick()
        writer_still_open = not release.is_set()
    finally:
        release.set()
        thread.join()
        writer.dispose()
    assert done == dict.fromkeys(PROBED, 0), "every job found nothing to do (-1: it failed waiting)"
    assert writer_still_open
    with db.read() as s:  # and the writer's row is there once it committed
        assert s.execute(sa.select(sa.func.count()).select_from(Service)).scalar_one() == 1

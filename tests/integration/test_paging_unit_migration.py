"""Migration 0013 (paging unit): services that exist when it runs keep paging per alert."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from tocsin.db import Database
from tocsin.db.migrate import downgrade, upgrade
from tocsin.services.models import Service

SERVICES = sa.table("services", sa.column("id", sa.Uuid()), sa.column("slug", sa.String()),
                    sa.column("name", sa.String()), sa.column("description", sa.Text()),
                    sa.column("tier", sa.SmallInteger()), sa.column("created_at", sa.DateTime(timezone=True)),
                    sa.column("updated_at", sa.DateTime(timezone=True)))


def test_existing_services_keep_paging_per_alert_and_the_downgrade_drops_the_setting(db: Database):
    downgrade(db.url, "0009")
    db.engine.dispose()
    old = uuid.uuid4()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with db.engine.begin() as conn:
        conn.execute(SERVICES.insert().values(id=old, slug="legacy", name="Legacy", description="", tier=2,
                                              created_at=at, updated_at=at))
    upgrade(db.url)
    db.engine.dispose()
    with db.unit_of_work() as s:
        assert s.get(Service, old).paging_unit == "alert"
    downgrade(db.url, "0009")
    db.engine.dispose()
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("services")}
    assert "paging_unit" not in columns
    assert "group_id" not in {c["name"] for c in sa.inspect(db.engine).get_columns("escalations")}
    upgrade(db.url)
    db.engine.dispose()

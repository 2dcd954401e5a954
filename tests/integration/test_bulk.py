"""The hot-path bulk insert stores exactly what SQLAlchemy's types would, on both databases,
so that rows it writes read back (and compare, and sort) like any other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tocsin.alerts.models import AlertGroup
from tocsin.db.bulk import insert_rows
from tocsin.ids import new_id


@pytest.mark.parametrize("when", [
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 0, 0, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 2, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))),
])
def test_bulk_rows_match_orm_rows(db, make_service, when):
    service_id = make_service("api")
    bulk_id, orm_id = new_id(), new_id()
    row = {"service_id": service_id, "group_key": "g:1:x", "labels": {"cluster": "eu", "ünï": "\u2603"},
           "status": "closed", "created_at": when, "last_alert_at": when, "closed_at": None, "alert_count": 3,
           "incident_id": None}
    with db.unit_of_work() as s:
        insert_rows(s, AlertGroup.__table__, [{**row, "id": bulk_id}])
        s.add(AlertGroup(**{**row, "id": orm_id}))
    with db.unit_of_work() as s:
        bulk, orm = s.get(AlertGroup, bulk_id), s.get(AlertGroup, orm_id)
        for name in row:
            assert getattr(bulk, name) == getattr(orm, name), name
        assert bulk.created_at == when and bulk.created_at.tzinfo is UTC
        raw = s.execute(sa.select(sa.cast(AlertGroup.created_at, sa.String), sa.cast(AlertGroup.labels, sa.String))
                        .order_by(AlertGroup.id)).all()
        assert raw[0] == raw[1], "stored forms differ"
        # both rows are found by a time comparison, which on SQLite compares the stored text
        found = s.execute(sa.select(sa.func.count()).where(AlertGroup.created_at >= when)).scalar_one()
        assert found == 2


def test_bulk_insert_refuses_naive_times_and_missing_columns(db, make_service):
    service_id = make_service("api")
    row = {"id": new_id(), "service_id": service_id, "group_key": "g", "labels": {}, "status": "open",
           "created_at": datetime(2026, 1, 1), "last_alert_at": datetime(2026, 1, 1), "closed_at": None,
           "alert_count": 0, "incident_id": None}
    with pytest.raises(ValueError, match="naive"), db.unit_of_work() as s:
        insert_rows(s, AlertGroup.__table__, [row])
    with pytest.raises(ValueError, match="lacks"), db.unit_of_work() as s:
        insert_rows(s, AlertGroup.__table__, [{"id": new_id()}])

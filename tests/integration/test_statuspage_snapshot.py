"""Reading a status page from the database: what the public sees, and nothing internal.

Rows are written through the status page service (as the API and the incident room do), by
the harness's `seed` (tests/harness/statuspage.py)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from tests.harness.statuspage import NOW, SECRET, seed
from tocsin.db import Database
from tocsin.principal import Principal
from tocsin.statuspage import render, snapshot
from tocsin.statuspage.incidents import post_incident_update
from tocsin.statuspage.models import StatusPage


def load(db: Database, page_id: uuid.UUID, now: datetime = NOW) -> snapshot.PageSnapshot:
    with db.unit_of_work() as s:
        page = s.get(StatusPage, page_id)
        return snapshot.load(s, page, now, base_url="https://tocsin.example")


def test_snapshot_holds_the_public_page(db: Database, make_service) -> None:  # noqa: ANN001
    seeded = seed(db, service_id=make_service("cdn"))
    snap = load(db, seeded.page_id)

    assert snap.page.url == "https://tocsin.example/status/acme" and snap.page.time_zone == "Europe/Berlin"
    assert [c.name for c in snap.components] == ["Core", "API", "Web", "CDN"]
    core = snap.components[0]
    assert core.is_group and core.children == (str(seeded.api), str(seeded.web)) and core.uptime is None
    assert core.status == "partial_outage"  # the worst of its components
    assert snap.component(str(seeded.api)).group_id == str(seeded.group)

    assert [i.name for i in snap.incidents] == ["Elevated API errors", "Slow logins"]  # newest first
    current = snap.incidents[0]
    assert current.status == "identified" and [u.status for u in current.updates] == ["identified", "investigating"]
    assert current.component_ids == (str(seeded.api),)
    assert current.updates[1].affected_components[0].new_status == "partial_outage"
    assert [m.name for m in snap.maintenances] == ["Database upgrade"]
    assert snap.next_boundary() == NOW + timedelta(days=1)


def test_uptime_from_status_changes_and_failing_checks(db: Database, make_service) -> None:  # noqa: ANN001
    seeded = seed(db, service_id=make_service("cdn"))
    snap = load(db, seeded.page_id)
    web = snap.component(str(seeded.web)).uptime
    three_days_ago = web.days[-4]
    # major outage for the 2 hours between the first post and the resolution, 3 days ago
    assert three_days_ago.down_seconds == pytest.approx(2 * 3600)
    assert three_days_ago.counted_seconds == pytest.approx(24 * 3600)
    cdn = snap.component(str(seeded.cdn)).uptime
    two_days_ago = cdn.days[-3]
    assert two_days_ago.down_seconds == pytest.approx(3600)  # 60 failed one-minute results
    assert cdn.percent < 100 and all(d.down_seconds == 0 for d in cdn.days if d is not two_days_ago)
    api = snap.component(str(seeded.api)).uptime
    assert api.days[-1].down_seconds == pytest.approx(0.3 * 3600)  # partial outage for the last hour
    assert api.days[0].up == 1.0 and len(api.days) == 90


def test_nothing_internal_reaches_the_snapshot_or_the_files(db: Database) -> None:
    seeded = seed(db)
    snap = load(db, seeded.page_id)
    assert SECRET not in repr(snap) and str(seeded.internal_id) not in repr(snap)
    for path, item in render.site(snap).items():
        assert SECRET.encode() not in item.body, path
        assert str(seeded.internal_id).encode() not in item.body, path


def test_loading_takes_a_fixed_number_of_queries(db: Database) -> None:
    """No query per incident, update or component: 20 more incidents, the same statements."""
    seeded = seed(db)

    def statements() -> tuple[int, snapshot.PageSnapshot]:
        seen: list[str] = []

        def count(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001, ANN002
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            snap = load(db, seeded.page_id)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen), snap

    before, _ = statements()
    actor = Principal.system("tests")
    with db.unit_of_work() as s:
        page = s.get(StatusPage, seeded.page_id)
        for n in range(20):
            post_incident_update(s, actor=actor, now=NOW - timedelta(days=n + 4), page=page, name=f"Incident {n}",
                                 status="resolved", body="Done.")
    after, snap = statements()
    assert len(snap.incidents) == 22
    assert after == before <= 14, (before, after)


def test_fifty_most_recent_plus_every_unresolved(db: Database) -> None:
    seeded = seed(db)
    actor = Principal.system("tests")
    with db.unit_of_work() as s:
        page = s.get(StatusPage, seeded.page_id)
        for n in range(55):
            post_incident_update(s, actor=actor, now=NOW - timedelta(minutes=n + 1), page=page,
                                 name=f"Blip {n}", status="resolved", body="Done.")
    snap = load(db, seeded.page_id)
    names = [i.name for i in snap.incidents]
    assert len(names) == 51 and "Elevated API errors" in names  # still open, so kept beyond the 50
    with db.unit_of_work() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(StatusPage)).scalar_one() == 1


def test_a_check_run_from_several_places_paints_only_where_its_quorum_fails(db: Database, make_service) -> None:  # noqa: ANN001
    from tocsin.checks.models import Check, CheckResult

    seeded = seed(db, service_id=make_service("cdn"))
    start = NOW - timedelta(days=1, hours=12)
    with db.unit_of_work() as s:
        check = s.execute(sa.select(Check).where(Check.name == "cdn probe")).scalar_one()
        check.locations, check.quorum = ["server", "eu-west"], 2
        # eu-west (one agent: flaky, or a stolen key) fails for an hour; the server fails its last 20 minutes
        s.add_all([CheckResult(check_id=check.id, at=start + timedelta(minutes=m), ok=m == 60, location="eu-west")
                   for m in range(61)])  # failing 0:00-60:00
        s.add_all([CheckResult(check_id=check.id, at=start + timedelta(minutes=m, seconds=30),
                               ok=m < 40 or m == 60, location="server") for m in range(61)])  # failing 40:30-60:30
    day = load(db, seeded.page_id).component(str(seeded.cdn)).uptime.days[-2]
    assert day.down_seconds == pytest.approx(19.5 * 60)  # only where both failed (40:30-60:00), not eu-west's hour

"""Reading a status page from the database: what the public sees, and nothing internal.

Rows are written through the status page service (as the API and the incident room do);
`seed` is shared with the public endpoint tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from tocsin.checks.models import Check, CheckResult
from tocsin.db import Database
from tocsin.incidents.service import Declaration, declare
from tocsin.severities import Severity
from tocsin.principal import Principal
from tocsin.statuspage import render, service, snapshot
from tocsin.statuspage.incidents import post_incident_update
from tocsin.statuspage.models import StatusPage

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SECRET = "SECRET-internal-db-credentials-leak"


@dataclass
class Seeded:
    page_id: uuid.UUID
    slug: str
    group: uuid.UUID
    api: uuid.UUID
    web: uuid.UUID
    cdn: uuid.UUID
    internal_id: uuid.UUID
    public_id: uuid.UUID
    old_id: uuid.UUID
    maintenance_id: uuid.UUID


def seed(db: Database, *, now: datetime = NOW, slug: str = "acme", name: str = "Acme",
         service_id: uuid.UUID | None = None, time_zone: str = "Europe/Berlin") -> Seeded:
    """A page with a group (API, Web), a standalone CDN (linked to a check when `service_id` is given),
    an internal incident with a secret title and its public incident (two updates), an older
    resolved incident and a scheduled maintenance."""
    actor = Principal.system("tests")
    with db.unit_of_work() as s:
        page = service.create_page(s, actor=actor, now=now - timedelta(days=100), slug=slug, name=name,
                                   description="Acme's services", time_zone=time_zone)
        group = service.create_component(s, actor=actor, now=now - timedelta(days=100), page=page, name="Core",
                                         is_group=True)
        api = service.create_component(s, actor=actor, now=now - timedelta(days=100), page=page, name="API",
                                       group=group)
        web = service.create_component(s, actor=actor, now=now - timedelta(days=100), page=page, name="Web",
                                       group=group)
        check_id = None
        if service_id is not None:
            check = Check(service_id=service_id, name="cdn probe", kind="http", target="https://cdn.example/",
                          interval_seconds=60, timeout_seconds=5, created_at=now - timedelta(days=100),
                          next_run_at=now)
            s.add(check)
            s.flush()
            check_id = check.id
            down_from = now - timedelta(days=2)
            s.add_all([CheckResult(check_id=check.id, at=down_from + timedelta(minutes=m), ok=m >= 60)
                       for m in range(0, 90)])
        cdn = service.create_component(s, actor=actor, now=now - timedelta(days=100), page=page, name="CDN",
                                       check_id=check_id)
        old = post_incident_update(s, actor=actor, now=now - timedelta(days=3), page=page, name="Slow logins",
                                   status="investigating", body="Logins are slow.",
                                   component_statuses={web.id: "major_outage"})
        post_incident_update(s, actor=actor, now=now - timedelta(days=3) + timedelta(hours=2), page=page,
                             status_incident=old, status="resolved", body="Fixed.")
        internal = declare(s, actor=actor, now=now - timedelta(hours=1),
                           spec=Declaration(title=SECRET, severity=Severity.SEV2, summary=SECRET))
        public = post_incident_update(s, actor=actor, now=now - timedelta(hours=1), page=page, incident=internal,
                                      name="Elevated API errors", status="investigating",
                                      body="We are looking into **errors**.",
                                      component_statuses={api.id: "partial_outage"})
        post_incident_update(s, actor=actor, now=now - timedelta(minutes=10), page=page, incident=internal,
                             status="identified", body="Cause found.")
        m = service.schedule_maintenance(s, actor=actor, now=now - timedelta(hours=2), page=page,
                                         name="Database upgrade", body="Planned.",
                                         scheduled_for=now + timedelta(days=1),
                                         scheduled_until=now + timedelta(days=1, hours=2), component_ids=[api.id])
        return Seeded(page.id, page.slug, group.id, api.id, web.id, cdn.id, internal.id, public.id, old.id, m.id)


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

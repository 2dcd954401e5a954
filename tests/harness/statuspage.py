"""A status page seeded through the status page service (as the API and the incident room write
it): `seed(db)` makes page `acme` with a group (API, Web), a standalone CDN (linked to a check
when `service_id` is given), an internal incident titled SECRET and its public incident (two
updates), an older resolved incident and a scheduled maintenance, all relative to NOW."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tocsin.checks.models import Check, CheckResult
from tocsin.db import Database
from tocsin.incidents.service import Declaration, declare
from tocsin.principal import Principal
from tocsin.severities import Severity
from tocsin.statuspage import service
from tocsin.statuspage.incidents import post_incident_update

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

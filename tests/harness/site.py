"""The organisation the browser tests (tests/e2e) log into, and the `tocsin serve` processes serving it.

The database is seeded in this process through the domain services (as `processes.admin_token`
does) before any server starts: it is quicker than running the CLI once per row,
and the servers then render their status page caches from a complete database. What is seeded:
four people with known passwords, the service `checkout`, a weekly on-call schedule with an
override, a firing alert, INC-1 with a note (so the room has something to show in screenshots),
INC-2 in triage without an IC (as an auto-incident rule creates it, to be acknowledged), INC-3
(for the browser without JavaScript) and, once the status page services exist, the status page
`shop` with a group and two components, one of them linked to `checkout`.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from tests.harness.processes import TocsinProcess, tocsin_env

SECRET_KEY = "e2e-browser-tests-" + secrets.token_hex(8)
PASSWORD = "e2e pass phrase 4 tests"
SERVICE = "checkout"
PAGE_SLUG = "shop"
SCHEDULE = "Checkout primary"


@dataclass(frozen=True)
class User:
    email: str
    name: str
    role: str
    id: uuid.UUID
    password: str = PASSWORD


@dataclass
class Site:
    """A seeded database and the servers on it (one on SQLite, two sharing a PostgreSQL database)."""

    database_url: str
    users: dict[str, User]
    servers: list[TocsinProcess] = field(default_factory=list)
    seeded_incident: str = "INC-1"
    seeded_note: str = ""
    triage_incident: str = "INC-2"  # auto-created by the system from an alert: in triage, no IC yet
    nojs_incident: str = "INC-3"  # for the browser with JavaScript off (which cannot open the declare dialog)
    page_slug: str = PAGE_SLUG
    components: dict[str, uuid.UUID] = field(default_factory=dict)  # name -> id
    # Why the status page could not be seeded (the status page services are missing or failed).
    statuspage_error: str | None = None

    @property
    def url(self) -> str:
        return self.servers[0].url


PEOPLE = {  # key -> (email, name, role)
    "admin": ("ada@example.test", "Ada Admin", "admin"),
    "rui": ("rui@example.test", "Rui Responder", "responder"),
    "sam": ("sam@example.test", "Sam Second", "responder"),
    "vic": ("vic@example.test", "Vic Viewer", "viewer"),
}


def seed(database_url: str) -> Site:
    """Fill an empty, migrated database; return what the tests need to know about it."""
    from tocsin.clock import SystemClock
    from tocsin.db import Database
    from tocsin.inbound.types import Action, AlertSeverity, Event
    from tocsin.incidents.service import Declaration, declare
    from tocsin.incidents.timeline import add_note
    from tocsin.incidents.types import Status
    from tocsin.oncall.service import create_layer, create_override, create_schedule
    from tocsin.pipeline.ingest import Incoming, ingest
    from tocsin.principal import OrgRole, Principal
    from tocsin.services.service import create_service
    from tocsin.severities import Severity
    from tocsin.users.service import create_user, principal_for

    db, now, system = Database(database_url), SystemClock().now(), Principal.system("e2e")
    users: dict[str, User] = {}
    note = "Rolled back the 14:00 deploy; error rate falling."
    try:
        with db.unit_of_work() as s:
            rows = {}
            for key, (email, name, role) in PEOPLE.items():
                rows[key] = create_user(s, actor=system, now=now, email=email, name=name, org_role=OrgRole(role),
                                        password=PASSWORD)
                users[key] = User(email, name, role, rows[key].id)
            service = create_service(s, actor=system, now=now, name="Checkout", slug=SERVICE, tier=1)
            schedule = create_schedule(s, actor=system, now=now, name=SCHEDULE, slug="checkout-primary")
            monday = (now - timedelta(days=now.weekday() + 7)).replace(hour=9, minute=0, second=0, microsecond=0)
            create_layer(s, actor=system, now=now, schedule=schedule, name="weekly", kind="weekly", timezone="UTC",
                         start=monday, members=[users["rui"].email, users["sam"].email])
            cover = (now + timedelta(days=1)).replace(hour=18, minute=0, second=0, microsecond=0)
            create_override(s, actor=system, now=now, schedule=schedule, starts_at=cover,
                            ends_at=cover + timedelta(hours=6), user=users["admin"].email)
            ingest(s, [Incoming(Event(action=Action.trigger, dedup_key="checkout-5xx",
                                      summary="Checkout 5xx rate above 5%", severity=AlertSeverity.critical,
                                      source="e2e"), service.id, None, "events_v2")], now=now)
            rui = principal_for(s, rows["rui"])
            incident = declare(s, actor=rui, now=now, spec=Declaration(
                title="Checkout errors after deploy", severity=Severity.SEV2, services=[SERVICE]))
            add_note(s, incident=incident, actor=rui, now=now, text=note)
            declare(s, actor=system, now=now, spec=Declaration(  # as an auto-incident rule would
                title="Checkout 5xx rate above 5%", severity=Severity.SEV2, status=Status.triage,
                services=[SERVICE]))
            declare(s, actor=rui, now=now, spec=Declaration(title="Search results slow", severity=Severity.SEV4))
        site = Site(database_url, users, seeded_note=note)
        try:
            _seed_status_page(db, site, system, now)
        except Exception as exc:  # noqa: BLE001 (reported by the tests that need the page)
            site.statuspage_error = f"{type(exc).__name__}: {exc}"
        return site
    finally:
        db.dispose()


def _seed_status_page(db, site: Site, system, now) -> None:  # noqa: ANN001 (Database, Principal, datetime)
    """The page `shop`: group "Shop" holding "Checkout" (linked to the service) and "Catalogue",
    and "Website" outside the group. Uses the STATUSPAGE-CORE service functions."""
    from tocsin.services.service import require_service
    from tocsin.statuspage import service as pages

    with db.unit_of_work() as s:
        page = pages.create_page(s, actor=system, now=now, slug=PAGE_SLUG, name="Example Shop Status",
                                 description="Live status of the Example Shop.")
        group = pages.create_component(s, actor=system, now=now, page=page, name="Shop", is_group=True)
        checkout = pages.create_component(s, actor=system, now=now, page=page, name="Checkout", group=group,
                                          service_id=require_service(s, SERVICE).id)
        catalogue = pages.create_component(s, actor=system, now=now, page=page, name="Catalogue", group=group)
        website = pages.create_component(s, actor=system, now=now, page=page, name="Website")
        site.components = {c.name: c.id for c in (group, checkout, catalogue, website)}


def start_servers(site: Site, tmp: Path, count: int) -> Site:
    """Start `count` `tocsin serve` processes on the site's database (same secret key) and wait for them."""
    from tocsin.config import Settings

    # the seed's audit entries were chained in this process under its key (tests/conftest.py): the
    # servers must use the same one, or the audit log's chain verification reports them as forged
    audit_key = Settings().resolved_audit_key()
    for n in range(1, count + 1):
        env = {**tocsin_env(tmp / f"data-{n}", site.database_url), "TOCSIN_SECRET_KEY": SECRET_KEY,
               "TOCSIN_AUDIT_KEY": audit_key}
        site.servers.append(TocsinProcess(env, tmp / f"tocsin-{n}.log"))
    for server in site.servers:
        server.wait_ready(timeout=120)  # a busy box imports the app slowly (21 s seen under load)
    return site

"""The status page services on SQLite and PostgreSQL: a restricted incident's internal words never
reach a status page row, every write announces the page (and the incident) to live viewers, the
room's offers follow service links, resolving frees only components nothing else holds, the
engine's maintenance step, and the report's time to first update."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tocsin import live
from tocsin.errors import Forbidden
from tocsin.incidents.service import Declaration, declare
from tocsin.incidents.types import Kind
from tocsin.principal import OrgRole, Principal
from tocsin.reports import incident_metrics as m
from tocsin.severities import Severity
from tocsin.statuspage import service as sp
from tocsin.statuspage.models import (
    ComponentStatusChange,
    StatusComponent,
    StatusIncident,
    StatusPage,
    StatusSubscriber,
    StatusUpdate,
    SubscriberDelivery,
)

SECRET_TITLE = "Exfiltration via vault-3 backup bucket"
SECRET_SUMMARY = "Attacker used leaked key AKIA-SECRET"


@pytest.fixture
def heard():
    topics: list[str] = []
    stop = live.subscribe(topics.append)
    yield topics
    stop()


def responder(system: Principal, admin: bool = False) -> Principal:
    return Principal(user_id=None, label="r@example.test", org_role=OrgRole.admin if admin else OrgRole.responder)


def setup(s, now, system, services=()):
    page = sp.create_page(s, actor=system, now=now, slug="acme", name="Acme Status")
    comps = {n: sp.create_component(s, actor=system, now=now, page=page, name=n, service_id=sid)
             for n, sid in (("API", services[0] if services else None), ("Web", None))}
    return page, comps


def every_status_row_text(s) -> str:
    rows = []
    for model in (StatusPage, StatusComponent, StatusIncident, StatusUpdate, StatusSubscriber, SubscriberDelivery,
                  ComponentStatusChange):
        for row in s.execute(sa.select(model)).scalars():
            rows.append(repr({c.key: getattr(row, c.key) for c in sa.inspect(model).mapper.column_attrs}))
    return "\n".join(rows)


def test_a_restricted_incident_never_leaks_into_status_page_rows(db, clock, system, heard):
    now = clock.now()
    with db.unit_of_work() as s:
        page, comps = setup(s, now, system)
        incident = declare(s, actor=system, now=now, spec=Declaration(
            title=SECRET_TITLE, severity=Severity.SEV1, kind=Kind.security, summary=SECRET_SUMMARY))
        assert incident.restricted
        with pytest.raises(Forbidden):
            sp.post_incident_update(s, actor=responder(system), now=now, page=page, incident=incident,
                                    name="Login issues", status="investigating", body="Some logins fail.")
        notice = sp.post_incident_update(s, actor=system, now=now, page=page, incident=incident,
                                         name="Login issues", status="investigating", body="Some logins fail.",
                                         component_statuses={comps["API"].id: "degraded_performance"})
        assert notice.incident_id is None, "a separate notice, not linked"
        incident_id, page_id = incident.id, page.id
    with db.unit_of_work() as s:
        text = every_status_row_text(s)
        assert "Login issues" in text
        assert SECRET_TITLE not in text and SECRET_SUMMARY not in text and "vault-3" not in text
        assert str(incident_id) not in text
        assert sp.first_update_times(s, [incident_id]) == {}
    assert f"statuspage:{page_id}" in heard and f"incident:{incident_id}" in heard


@pytest.mark.parametrize("write", ["page", "component", "status", "incident", "maintenance", "delete"])
def test_every_write_announces_the_page(db, clock, system, heard, write):
    now = clock.now()
    with db.unit_of_work() as s:
        page, comps = setup(s, now, system)
        page_id = page.id
    heard.clear()
    with db.unit_of_work() as s:
        page = sp.require_page(s, "acme")
        comp = sp.require_component(s, page, comps["API"].id)
        {
            "page": lambda: sp.update_page(s, actor=system, now=now, page=page, changes={"name": "Acme"}),
            "component": lambda: sp.update_component(s, actor=system, now=now, component=comp,
                                                     changes={"name": "Public API"}),
            "status": lambda: sp.set_component_status(s, actor=system, now=now, component=comp,
                                                      status="major_outage"),
            "incident": lambda: sp.post_incident_update(s, actor=system, now=now, page=page, name="Down",
                                                        status="investigating", body="We look."),
            "maintenance": lambda: sp.schedule_maintenance(
                s, actor=system, now=now, page=page, name="Upgrade", body="Pauses.",
                scheduled_for=now + timedelta(hours=1), scheduled_until=now + timedelta(hours=2)),
            "delete": lambda: sp.delete_component(s, actor=system, now=now, component=comp),
        }[write]()
        assert heard == [], "nothing is announced before the commit"
    assert heard == [f"statuspage:{page_id}"]


def test_room_offers_the_components_linked_to_the_incidents_services(db, clock, system, make_service):
    now = clock.now()
    pay = make_service("payments-api")
    make_service("www")
    with db.unit_of_work() as s:
        page, comps = setup(s, now, system, services=(pay,))
        linked = declare(s, actor=system, now=now, spec=Declaration(title="x", severity=Severity.SEV3,
                                                                   kind=Kind.operational, services=["payments-api"]))
        other = declare(s, actor=system, now=now, spec=Declaration(title="y", severity=Severity.SEV3,
                                                                  kind=Kind.operational, services=["www"]))
        assert [(p.slug, [c.name for c in cs]) for p, cs in sp.component_offers(s, incident=linked)] == \
            [("acme", ["API"])]
        assert [(p.slug, [c.name for c in cs]) for p, cs in sp.component_offers(s, incident=other)] == \
            [("acme", ["API", "Web"])], "nothing linked: every page with all its components"


def test_resolving_frees_only_components_no_other_incident_holds(db, clock, system):
    now = clock.now()
    with db.unit_of_work() as s:
        page, comps = setup(s, now, system)
        api, web = comps["API"].id, comps["Web"].id
        one = sp.post_incident_update(s, actor=system, now=now, page=page, name="One", status="investigating",
                                      body="a", component_statuses={api: "major_outage", web: "partial_outage"})
        sp.post_incident_update(s, actor=system, now=now, page=page, name="Two", status="investigating",
                                body="b", component_statuses={web: "partial_outage"})
        sp.post_incident_update(s, actor=system, now=now, page=page, status_incident=one, status="resolved",
                                body="fixed")
        assert {c.name: c.status for c in sp.list_components(s, page)} == \
            {"API": "operational", "Web": "partial_outage"}


def test_the_engine_step_advances_maintenance_once(db, clock, system):
    start = clock.now() + timedelta(minutes=30)
    with db.unit_of_work() as s:
        page, comps = setup(s, clock.now(), system)
        sp.schedule_maintenance(s, actor=system, now=clock.now(), page=page, name="Upgrade", body="Pauses.",
                                scheduled_for=start, scheduled_until=start + timedelta(hours=1),
                                component_ids=[comps["Web"].id])
    with db.unit_of_work() as s:
        assert sp.advance_maintenances(s, now=clock.now()) == 0
    clock.advance(hours=2)  # the engine was away: both transitions happen in one step
    with db.unit_of_work() as s:
        assert sp.advance_maintenances(s, now=clock.now()) == 1
    with db.unit_of_work() as s:
        assert sp.advance_maintenances(s, now=clock.now()) == 0
        (mt,) = s.execute(sa.select(StatusIncident)).scalars()
        updates = [u.status for u in sp.updates_of(s, [mt.id])[mt.id]]
        assert (mt.status, updates) == ("completed", ["completed", "in_progress", "scheduled"])
        web = sp.require_component(s, page, comps["Web"].id)
        assert web.status == "operational"
        history = [c.status for c in s.execute(sa.select(ComponentStatusChange).where(
            ComponentStatusChange.component_id == web.id).order_by(ComponentStatusChange.at,
                                                                   ComponentStatusChange.id)).scalars()]
        assert history == ["operational", "under_maintenance", "operational"]


def test_time_to_first_status_update_is_measured_from_detection(db, clock, system):
    now = clock.now()
    with db.unit_of_work() as s:
        page, _ = setup(s, now, system)
        inc = declare(s, actor=system, now=now, spec=Declaration(title="x", severity=Severity.SEV2,
                                                                kind=Kind.operational))
        sp.post_incident_update(s, actor=system, now=now + timedelta(minutes=12), page=page, incident=inc,
                                name="Slow", status="investigating", body="We look.")
        sp.post_incident_update(s, actor=system, now=now + timedelta(minutes=30), page=page, incident=inc,
                                status="resolved", body="Fixed.")
        first = sp.first_update_times(s, [inc.id])
        assert first == {inc.id: now + timedelta(minutes=12)}
        row = m.IncidentRow(ref="INC-1", kind="operational", severity="SEV2", declared_at=inc.declared_at,
                            detected_at=inc.detected_at, first_status_update_at=first[inc.id])
        out = m.first_status_update([row, m.IncidentRow(ref="INC-2", kind="operational", severity="SEV2",
                                                        declared_at=now, detected_at=now)])
        assert out == {"value": 720.0, "note": m.STATUS_PAGE_NOTE.format(n=1)}

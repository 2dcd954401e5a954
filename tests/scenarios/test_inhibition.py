"""Inhibition as the on-call people meet it: when a service fails, the services that depend on it
do not page everyone downstream; their alerts are held "inhibited by <service>" and page when the
cause resolves if they still fire. The same for inhibition rules in Alertmanager's form.

Events go through the pipeline (`rb.ingest`), pages through the engine to the real SMTP server;
the decisions are read through the API. SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from tocsin.services import service as services

DEPENDANTS = [f"shop-{n}" for n in range(10)]


def depends(rb, slug: str, *on: str) -> None:
    with rb.db.unit_of_work() as s:
        services.update_service(s, actor=rb.system, now=rb.now, service=services.require_service(s, slug),
                                depends_on=list(on))


def steps(rb, who: str, alert_id) -> list[dict]:
    """The alert's decisions as the API lists them."""
    return rb.as_(who).get(f"/alerts/{alert_id}")["decisions"]


def mail(rb, who: str, seen: dict[str, int]) -> list[str]:
    """The subjects of the emails `who` got since the last call."""
    got = [m["Subject"] for m in rb.emails(who)]
    new, seen[who] = got[seen.get(who, 0):], len(got)
    return new


def held_reason(rb, who: str, alert_id) -> str:
    """Why the alert is held now, as the API shows it."""
    alert = rb.as_(who).get(f"/alerts/{alert_id}")
    assert alert["status"] == "triggered" and alert["suppressed_by"] == "inhibited", alert
    return [d["reason"] for d in alert["decisions"] if d["kind"] == "inhibited"][-1]  # the latest


@pytest.fixture
def outage(runbook):
    """A database with Dana on call, and ten shop services that depend on it with Sam on call."""
    rb = runbook
    rb.person("Dana")
    rb.person("Sam")
    rb.person("Ada", role="admin")
    rb.service("database", tier=1)
    rb.policy((10, ["Dana"]), service="database")
    for slug in DEPENDANTS:
        rb.service(slug)
        rb.policy((10, ["Sam"]), service=slug)
        depends(rb, slug, "database")
    return rb


def test_a_database_outage_pages_its_on_call_once_and_holds_the_ten_services_behind_it(outage):
    rb = outage
    rb.trigger("db-down", service="database", summary="database primary is down")
    shop = {slug: [rb.trigger(f"{slug}-5xx", service=slug), rb.trigger(f"{slug}-latency", service=slug)]
            for slug in DEPENDANTS}
    rb.tick()
    rb.expect_email("Dana", "database primary is down")
    rb.tick(minutes=5)
    rb.expect_nothing_more()  # Sam is not paged for the ten services: one page in all

    for slug, ids in shop.items():
        for alert_id in ids:
            assert held_reason(rb, "Ada", alert_id) == (
                "inhibited by database: database primary is down (a service it depends on is firing; "
                "released when that alert resolves)"), slug

    # One service recovers on its own while the database is still down; the others keep firing.
    rb.source_resolves("shop-0-5xx", service="shop-0")
    rb.source_resolves("shop-0-latency", service="shop-0")
    rb.source_resolves("db-down", service="database")
    rb.tick()
    # The shop services page per alert group (new services' default): one page each, for both alerts.
    subjects = sorted(m["Subject"] for m in rb.emails("Sam"))
    assert len(subjects) == 9, subjects
    for slug in DEPENDANTS[1:]:
        assert sum(s.startswith(f"{slug}: 2 alerts firing") for s in subjects) == 1, (slug, subjects)
    assert len(rb.emails("Dana")) == 1, "the database paged once"
    for slug, ids in shop.items():
        for alert_id in ids:
            alert = rb.as_("Ada").get(f"/alerts/{alert_id}")
            if slug == "shop-0":
                assert alert["status"] == "resolved"
                assert not [d for d in alert["decisions"] if d["kind"] == "released"]
            else:
                assert alert["suppressed_by"] is None
                (released,) = [d["reason"] for d in alert["decisions"] if d["kind"] == "released"]
                assert released == "no longer held back (its cause resolved) and still firing"


def test_a_dependency_chain_mutes_transitively_and_releases_in_order(runbook):
    """web depends on api, api on db: db fires, so both are held by db; db resolves: api pages, and web
    stays held, now by api, until someone resolves api too."""
    rb = runbook
    rb.person("Ada", role="admin")
    rb.person("Wes")
    for slug, on in (("db", ()), ("api", ("db",)), ("web", ("api",))):
        rb.service(slug)
        rb.policy((10, ["Wes"]), service=slug)
        if on:
            depends(rb, slug, *on)
    rb.trigger("db-down", service="db", summary="db is down")
    api = rb.trigger("api-5xx", service="api", summary="api errors")
    web = rb.trigger("web-5xx", service="web", summary="web errors")
    seen: dict[str, int] = {}
    rb.tick()
    assert mail(rb, "Wes", seen) == ["[critical] db is down"]
    assert held_reason(rb, "Ada", api).startswith("inhibited by db: db is down")
    assert held_reason(rb, "Ada", web).startswith("inhibited by db: db is down"), "held api alerts inhibit nothing"

    rb.source_resolves("db-down", service="db")
    rb.tick()
    assert mail(rb, "Wes", seen) == ["[critical] api errors"]
    assert held_reason(rb, "Ada", web).startswith("inhibited by api: api errors")

    rb.resolve(api, "Ada")  # a person resolves it (API and console path), not its source
    rb.tick()
    assert mail(rb, "Wes", seen) == ["[critical] web errors"]


def test_an_inhibition_rule_holds_warnings_of_the_instance_that_is_down(runbook):
    """Alertmanager's classic rule: while NodeDown fires for an instance, its warnings do not page."""
    rb = runbook
    rb.person("Ada", role="admin")
    rb.person("Nina")
    rb.service("nodes", paging_unit="alert")  # which alerts page is the point: one page each
    rb.policy((10, ["Nina"]), service="nodes")
    rule = rb.as_("Ada").post("/inhibition-rules", name="node down", source_matchers=["alertname=NodeDown"],
                              target_matchers=["severity=warning"], equal=["instance"])
    assert rule["equal"] == ["instance"] and rule["service"] is None

    def fire(key: str, alertname: str, severity: str, instance: str):
        (out,) = rb.ingest(rb.event(key, severity=severity, summary=f"{alertname} on {instance}",
                                    alertname=alertname, instance=instance), service="nodes")
        return out.alert_id

    fire("down-a", "NodeDown", "critical", "a")
    disk_a = fire("disk-a", "DiskFilling", "warning", "a")
    disk_b = fire("disk-b", "DiskFilling", "warning", "b")  # another instance: pages
    cpu_a = fire("cpu-a", "CpuHot", "critical", "a")  # not a warning: pages
    seen: dict[str, int] = {}
    rb.tick()
    assert sorted(mail(rb, "Nina", seen)) == ["[critical] CpuHot on a", "[critical] NodeDown on a",
                                              "[warning] DiskFilling on b"]
    assert held_reason(rb, "Ada", disk_a) == (
        "inhibited by nodes: NodeDown on a (inhibition rule 'node down': {alertname=\"NodeDown\"} mutes "
        "{severity=\"warning\"} with the same instance)")
    for alert_id in (disk_b, cpu_a):
        assert rb.as_("Ada").get(f"/alerts/{alert_id}")["suppressed_by"] is None

    rb.source_resolves("down-a", service="nodes")
    rb.tick()
    assert mail(rb, "Nina", seen) == ["[warning] DiskFilling on a"]
    kinds = [d["kind"] for d in steps(rb, "Ada", disk_a)]
    assert kinds.index("inhibited") < kinds.index("released") < len(kinds) - 1, kinds
    assert kinds[kinds.index("released") + 1] == "page_requested", kinds


def test_deleting_the_rule_releases_what_it_held(runbook):
    rb = runbook
    rb.person("Ada", role="admin")
    rb.person("Nina")
    rb.service("nodes", paging_unit="alert")
    rb.policy((10, ["Nina"]), service="nodes")
    rule = rb.as_("Ada").post("/inhibition-rules", name="node down", service="nodes",
                              source_matchers=["alertname=NodeDown"], target_matchers=["severity=warning"])
    rb.ingest(rb.event("down", summary="NodeDown", alertname="NodeDown"), service="nodes")
    warn = rb.ingest(rb.event("disk", severity="warning", summary="disk filling"), service="nodes")[0].alert_id
    seen: dict[str, int] = {}
    rb.tick()
    assert mail(rb, "Nina", seen) == ["[critical] NodeDown"]
    assert held_reason(rb, "Ada", warn).startswith("inhibited by nodes: NodeDown (inhibition rule 'node down'")
    rb.as_("Ada").delete(f"/inhibition-rules/{rule['id']}", 204)
    rb.tick()
    assert mail(rb, "Nina", seen) == ["[warning] disk filling"]


def test_resolving_the_causes_alert_group_releases_what_it_held(runbook):
    """The on-call resolves the database's whole alert group (API; the page's link and SMS reply use
    the same path): the dependant's alert, still firing, is released and pages."""
    rb = runbook
    rb.person("Ada", role="admin")
    rb.person("Wes")
    rb.service("db")
    rb.policy((10, ["Wes"]), service="db")
    rb.service("web")
    rb.policy((10, ["Wes"]), service="web")
    depends(rb, "web", "db")
    down = rb.trigger("db-down", service="db", summary="db is down")
    web = rb.trigger("web-5xx", service="web", summary="web errors")
    seen: dict[str, int] = {}
    rb.tick()
    assert mail(rb, "Wes", seen) == ["[critical] db is down"]
    assert held_reason(rb, "Ada", web).startswith("inhibited by db: db is down")

    rb.as_("Ada").post(f"/alert-groups/{rb.alert(down).group_id}/resolve", 200)
    rb.tick()
    assert mail(rb, "Wes", seen) == ["[critical] web errors"]
    assert rb.as_("Ada").get(f"/alerts/{web}")["suppressed_by"] is None

"""An SLO's fast burn pages once and resolves when the burn stops.

Ada (admin) puts a 99.9 % availability SLO on checkout, fed by counts the team's gateway pushes
every minute. Five hours of clean traffic are on record. Then one request in five fails: after a
minute both the 1 h and the 5 m burn rates are far above 14.4, so the engine opens one critical
alert on checkout (the longer 6 h/30 m and 3 d/6 h pairs stay quiet: their long windows hold the
clean hours). More failing minutes do not open more alerts. Once the errors stop, the five-minute
window empties of them and the alert resolves, although the 1 h window still remembers them.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tocsin.slo.models import alert_key


@pytest.fixture
def slo(rb):
    rb.person("Ada", role="admin")
    created = rb.as_("Ada").post("/services/checkout/slos", name="checkout availability", target=99.9,
                                 window_days=30, source="push")
    rb.as_("Ada").post(f"/slos/{created['id']}/events", 200, good=10_000_000, total=10_000_000,
                       at=(rb.now - timedelta(hours=5)).isoformat())
    return created["id"]


def push(rb, slo_id, good, total):
    rb.as_("Alice").post(f"/slos/{slo_id}/events", 200, good=good, total=total)


def test_fast_burn_opens_one_alert_and_recovery_resolves_it(rb, slo):
    assert rb.tick(minutes=1)["slos"] == 1
    assert rb.alerts() == []

    push(rb, slo, 800, 1000)  # 20 % errors: a burn rate of 200
    rb.tick(minutes=1)
    rb.run_until_idle()
    [alert] = rb.alerts()
    assert alert.status == "triggered" and alert.severity == "critical" and alert.source == "slo"
    assert alert.dedup_key == alert_key(uuid.UUID(slo), "page_1h")
    assert "checkout availability" in alert.summary and "over 1h" in alert.summary
    status = rb.as_("Alice").get(f"/slos/{slo}")
    assert status["firing"] == ["page_1h"]

    for _ in range(3):  # the burn goes on: still one alert
        push(rb, slo, 800, 1000)
        rb.tick(minutes=1)
    assert len(rb.alerts()) == 1 and rb.alerts()[0].status == "triggered"

    # The errors stop. While a failing minute is within the last five, the alert stays...
    for _ in range(4):
        push(rb, slo, 1000, 1000)
        rb.tick(minutes=1)
    assert rb.alerts()[0].status == "triggered"
    # ...and once the five-minute window holds only clean minutes, it resolves.
    for _ in range(3):
        push(rb, slo, 1000, 1000)
        rb.tick(minutes=1)
    [alert] = rb.alerts()
    assert alert.status == "resolved"
    after = rb.as_("Alice").get(f"/slos/{slo}")
    assert after["firing"] == []
    burn = {b["window"]: b["burn_rate"] for b in after["burn"]}
    assert burn["5m"] == 0 and burn["1h"] > 14.4  # the short window decided
    assert after["budget"]["bad"] == 800


def test_deleting_a_burning_slo_resolves_its_alert(rb, slo):
    push(rb, slo, 0, 1000)
    rb.tick(minutes=1)
    assert [a.status for a in rb.alerts()] == ["triggered"]
    rb.as_("Ada").delete(f"/slos/{slo}")
    assert [a.status for a in rb.alerts()] == ["resolved"]


def test_an_slo_on_a_synthetic_check_counts_its_probes(runbook):
    """The check's probes of a real local site are the events: a passing probe is good, a failing one
    bad; a latency SLO on the same check counts only answers under its threshold."""
    from tests.scenarios.test_checks import Site

    rb = runbook
    rb.person("Ada", role="admin")
    rb.service("web")
    ada = rb.as_("Ada")
    with Site() as site:
        check = ada.post("/checks", service="web", name="homepage", kind="http", target=site.url,
                         interval_seconds=60, timeout_seconds=5, failures_to_alert=5)
        up = ada.post("/services/web/slos", name="homepage up", target=99.0, source="check", check_id=check["id"])
        fast = ada.post("/services/web/slos", name="homepage fast", kind="latency", target=99.0, source="check",
                        check_id=check["id"], latency_threshold_ms=60_000)
        rb.tick()  # the first probe, then the SLOs read it
        for status in (200, 500, 500, 200):
            site.status = status
            rb.tick(seconds=60)
    got = ada.get(f"/slos/{up['id']}")
    assert (got["budget"]["total"], got["budget"]["bad"]) == (5, 2)
    assert got["budget"]["sli"] == pytest.approx(0.6)
    # 40 % errors, a burn rate of 40; with five minutes of history every window holds the same probes
    assert got["firing"] == ["page_1h", "page_6h", "ticket_3d"]
    latency = ada.get(f"/slos/{fast['id']}")
    assert (latency["budget"]["total"], latency["budget"]["bad"]) == (5, 2)  # a 500 is not a good answer
    assert sorted(a.dedup_key for a in rb.alerts("web")) == sorted(
        alert_key(uuid.UUID(o["id"]), rule) for o in (up, fast) for rule in ("page_1h", "page_6h", "ticket_3d"))
    assert {a.severity for a in rb.alerts("web") if a.dedup_key.endswith("ticket_3d")} == {"warning"}


def test_counts_are_kept_a_little_over_the_longest_window(rb, slo):
    from tocsin.slo.models import SloBucket

    rb.as_("Alice").post(f"/slos/{slo}/events", 200, good=1, total=1, at=(rb.now - timedelta(days=29)).isoformat())
    push(rb, slo, 1, 1)
    rb.tick(days=2)  # the 29-day-old minute is 31 days old: still kept
    assert len(rb.rows(SloBucket)) == 3  # with the fixture's five hours ago
    rb.tick(days=2)  # 33 days: gone; the others stay
    kept = rb.rows(SloBucket, order_by=SloBucket.start)
    assert len(kept) == 2 and rb.as_("Alice").get(f"/slos/{slo}")["budget"]["total"] == 10_000_001


def test_an_unreachable_prometheus_is_a_summary_on_each_slo(runbook):
    from tests.harness.ports import closed_port

    rb = runbook
    rb.configure(slo_prometheus_url=f"http://127.0.0.1:{closed_port()}")
    rb.person("Ada", role="admin")
    rb.service("api")
    ids = [rb.as_("Ada").post("/services/api/slos", name=name, target=99.0, source="prometheus",
                              good_query="sum(increase(ok[$window]))", total_query="sum(increase(all[$window]))")["id"]
           for name in ("reads", "writes")]
    assert rb.tick(minutes=1)["slos"] == 2
    for slo_id in ids:
        got = rb.as_("Ada").get(f"/slos/{slo_id}")
        assert got["last_error"] == "Prometheus could not be reached" and got["budget"]["total"] == 0
    assert rb.alerts("api") == []

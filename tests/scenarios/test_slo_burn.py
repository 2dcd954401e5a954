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

"""The SLO API: admins define SLOs on a service, responders push counts, anyone signed in reads the
SLI, budget and burn rates; bad input is a 4xx that changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api.test_monitors_api import GOOD_CHECK, refused

API = "/api/v1"
PUSH = {"name": "checkout availability", "target": 99.9, "window_days": 30, "source": "push"}


@pytest.fixture
def scene(client, make_person, make_service):
    make_service("web")
    make_service("other")
    admin, responder, viewer = make_person("admin"), make_person("responder"), make_person("viewer")
    r = client.post(f"{API}/services/web/slos", json=PUSH, headers=admin.headers)
    assert r.status_code == 201, r.text
    c = client.post(f"{API}/checks", json={**GOOD_CHECK, "service": "other"}, headers=admin.headers)
    assert c.status_code == 201, c.text
    return {"admin": admin, "responder": responder, "viewer": viewer, "slo": r.json()["id"],
            "other_check": c.json()["id"]}


def test_push_counts_and_read_the_budget(client, clock, scene):
    slo = scene["slo"]
    for good, total in ((9990, 10000), (9960, 10000)):
        r = client.post(f"{API}/slos/{slo}/events", json={"good": good, "total": total},
                        headers=scene["responder"].headers)
        assert r.status_code == 200, r.text
        assert r.json()["duplicate"] is False
    got = client.get(f"{API}/slos/{slo}", headers=scene["viewer"].headers).json()
    budget = got["budget"]
    assert budget["total"] == 20000 and budget["bad"] == 50
    assert budget["sli"] == pytest.approx(0.9975)
    assert budget["consumed_fraction"] == pytest.approx(2.5)  # 50 bad of 20 allowed
    assert budget["budget_minutes"] == pytest.approx(43.2)
    burn = {b["window"]: b["burn_rate"] for b in got["burn"]}
    assert burn["5m"] == pytest.approx(2.5) and burn["3d"] == pytest.approx(2.5)
    more = client.get(f"{API}/slos/{slo}", params={"windows": "15m,2h"}, headers=scene["viewer"].headers).json()
    assert [b["window"] for b in more["burn"]][-2:] == ["15m", "2h"]
    assert more["burn"][-1]["burn_rate"] == pytest.approx(2.5)
    assert [r["name"] for r in got["rules"]] == ["page_1h", "page_6h", "ticket_3d"]
    listed = client.get(f"{API}/services/web/slos", headers=scene["viewer"].headers).json()
    assert [s["id"] for s in listed] == [slo]

    # An hour later the five-minute window is empty again; the 30-day budget remembers.
    clock.advance(hours=1)
    later = client.get(f"{API}/slos/{slo}", headers=scene["viewer"].headers).json()
    assert {b["window"]: b["burn_rate"] for b in later["burn"]}["5m"] is None
    assert later["budget"]["bad"] == 50


def test_idempotency_key_counts_once(client, scene):
    path, h = f"{API}/slos/{scene['slo']}/events", scene["responder"].headers
    body = {"good": 5, "total": 10, "idempotency_key": "batch-1"}
    assert client.post(path, json=body, headers=h).json()["duplicate"] is False
    assert client.post(path, json=body, headers=h).json()["duplicate"] is True
    assert client.get(f"{API}/slos/{scene['slo']}", headers=h).json()["budget"]["total"] == 10
    r = client.post(path, json={**body, "good": 6}, headers=h)
    assert r.status_code == 409


def test_counts_in_the_past_land_in_their_minute(client, clock, scene):
    at = clock.now() - timedelta(days=2, seconds=17)
    r = client.post(f"{API}/slos/{scene['slo']}/events", json={"good": 1, "total": 2, "at": at.isoformat()},
                    headers=scene["responder"].headers)
    assert r.status_code == 200
    assert r.json()["bucket"].startswith(at.replace(second=0, microsecond=0).isoformat()[:16])
    got = client.get(f"{API}/slos/{scene['slo']}", headers=scene["viewer"].headers).json()
    burn = {b["window"]: b for b in got["burn"]}
    assert burn["3d"]["total"] == 2 and burn["6h"]["total"] == 0


def test_admin_changes_and_deletes(client, scene):
    h = scene["admin"].headers
    r = client.patch(f"{API}/slos/{scene['slo']}", json={"target": 99.5, "window_days": 7}, headers=h)
    assert r.status_code == 200 and r.json()["target"] == 99.5 and r.json()["window_days"] == 7
    assert client.delete(f"{API}/slos/{scene['slo']}", headers=h).status_code == 200
    assert client.get(f"{API}/slos/{scene['slo']}", headers=h).status_code == 404


def _new(**changes: Any) -> dict[str, Any]:
    return {**PUSH, "name": "another", **changes}


BAD_CREATES = [
    pytest.param(_new(target=100), 422, id="target-100"),
    pytest.param(_new(target=0), 422, id="target-0"),
    pytest.param(_new(window_days=14), 422, id="window-14"),
    pytest.param(_new(kind="throughput"), 422, id="kind"),
    pytest.param(_new(source="check"), 422, id="check-without-id"),
    pytest.param(_new(source="prometheus", good_query="sum(up)", total_query="count(up)"), 422, id="no-window"),
    pytest.param(_new(source="prometheus"), 422, id="no-queries"),
    pytest.param(_new(name="checkout availability"), 409, id="duplicate-name"),
    pytest.param(_new(extra=1), 422, id="unknown-field"),
]


@pytest.mark.parametrize(("body", "status"), BAD_CREATES)
def test_bad_slo_is_refused(client, db, scene, body, status):
    refused(client, db, "POST", f"{API}/services/web/slos", scene["admin"], status, json=body)


def test_check_of_another_service_is_refused(client, db, scene):
    err = refused(client, db, "POST", f"{API}/services/web/slos", scene["admin"], 422,
                  json=_new(source="check", check_id=scene["other_check"]))
    assert err["details"]["field"] == "check_id"


@pytest.mark.parametrize(("body", "status"), [
    pytest.param({"good": 11, "total": 10}, 422, id="good-over-total"),
    pytest.param({"good": -1, "total": 10}, 422, id="negative"),
    pytest.param({"good": 1, "total": 1, "at": "2999-01-01T00:00:00Z"}, 422, id="future"),
    pytest.param({"good": 1, "total": 1, "at": "2020-01-01T00:00:00Z"}, 422, id="too-old"),
    pytest.param({"good": 1, "total": 1, "at": "2026-01-01T00:00:00"}, 422, id="naive-time"),
    pytest.param({"good": 1}, 422, id="no-total"),
])
def test_bad_counts_are_refused(client, db, scene, body, status):
    refused(client, db, "POST", f"{API}/slos/{scene['slo']}/events", scene["responder"], status, json=body)


@pytest.mark.parametrize("windows", ["15", "5x", "0m", "31d", ",".join(["1h"] * 11), "\u00b2m", "\u0665m"])
def test_bad_burn_windows_are_refused(client, scene, windows):
    r = client.get(f"{API}/slos/{scene['slo']}", params={"windows": windows}, headers=scene["viewer"].headers)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "windows"


def test_roles(client, db, scene):
    refused(client, db, "POST", f"{API}/services/web/slos", scene["responder"], 403, json=_new())
    refused(client, db, "PATCH", f"{API}/slos/{scene['slo']}", scene["responder"], 403, json={"target": 99})
    refused(client, db, "DELETE", f"{API}/slos/{scene['slo']}", scene["responder"], 403)
    refused(client, db, "POST", f"{API}/slos/{scene['slo']}/events", scene["viewer"], 403,
            json={"good": 1, "total": 1})
    refused(client, db, "GET", f"{API}/slos/{scene['slo']}", None, 401)
    refused(client, db, "GET", f"{API}/slos/00000000-0000-0000-0000-000000000000", scene["admin"], 404)
    refused(client, db, "GET", f"{API}/services/nope/slos", scene["admin"], 404)


def test_reports_show_the_budget_each_slo_consumed_in_the_period(client, clock, scene):
    h = scene["responder"].headers
    client.post(f"{API}/slos/{scene['slo']}/events", json={"good": 9995, "total": 10000,
                                                          "at": (clock.now() - timedelta(days=3)).isoformat()},
                headers=h)
    client.post(f"{API}/slos/{scene['slo']}/events", json={"good": 990, "total": 1000,
                                                          "at": (clock.now() - timedelta(days=10)).isoformat()},
                headers=h)
    week = client.get(f"{API}/reports/incidents", params={"since": "7d"}, headers=h).json()["slos"]
    [web] = week["services"]
    assert web["service"] == "web"
    [slo] = web["slos"]
    assert slo["name"] == "checkout availability" and slo["total"] == 10000
    assert slo["budget_consumed"] == pytest.approx(0.5)  # 5 bad of the 10 that 10,000 events allow
    month = client.get(f"{API}/reports/incidents", params={"since": "30d"}, headers=h).json()["slos"]
    assert month["services"][0]["slos"][0]["budget_consumed"] == pytest.approx(15 / 11)  # overspent
    other = client.get(f"{API}/reports/incidents", params={"since": "7d", "service": "other"}, headers=h).json()
    assert other["slos"]["services"] == []
    page = client.get(f"{API}/reports/page", params={"since": "7d"}, headers=h)
    assert page.status_code == 200 and 'id="slo-budgets"' in page.text and "50.0%" in page.text

"""The reports page in the console: filters, dates in the viewer's zone, the charts' numbers
beside them, the cost currency, a way back from the printable page, and bad input as a 4xx."""

from __future__ import annotations

import pytest

from tests.harness.console import new_incident


def test_the_report_shows_filters_local_dates_and_chart_tables(web_client, world, db, clock, make_web_user):
    from tocsin.users.service import require_user

    new_incident(web_client, severity="SEV2", service="checkout")
    clock.advance(minutes=1)  # the period ends now, and excludes its end
    viewer = make_web_user("viewer", name="Val Viewer")
    with db.unit_of_work() as s:
        require_user(s, viewer.id).time_zone = "Asia/Kolkata"
    v = web_client(viewer)
    page = v.get("/reports?range=30d&severity=SEV2&service=checkout&group_by=severity&by=week")
    assert page.status_code == 200, page.text
    html = page.text
    assert html.count("<h1>") == 1 and "IST" in html  # the period in the viewer's zone
    assert 'value="SEV2" checked' in html and '<option value="checkout" selected>' in html
    assert html.count('<img src="data:image/svg+xml;base64,') == 4  # incidents, MTTA, MTTR, action items
    assert "Incidents per week by severity (incidents)" in html  # the table under the first chart
    assert "<th scope=\"row\">SEV2</th><td>1</td>" in html  # grouped by severity: the one incident
    # another severity filter leaves it out
    assert "<th scope=\"row\">SEV2</th><td>1</td>" not in v.get("/reports?severity=SEV1&group_by=severity").text
    printable = v.get("/reports/view?range=30d&severity=SEV2&group_by=severity")
    assert printable.status_code == 200
    assert 'href="/reports?range=30d&amp;severity=SEV2&amp;group_by=severity&amp;by=week"' in printable.text
    assert "the values drawn" in printable.text


def test_costs_carry_the_configured_currency(app, web_client, world, clock):
    app.state.settings = app.state.settings.model_copy(update={"cost_currency": "EUR"})
    new_incident(web_client, severity="SEV2")
    clock.advance(minutes=1)
    html = web_client("viewer").get("/reports").text
    assert " EUR" in html and "responder hours ×" in html


@pytest.mark.parametrize("query", ["range=forever", "from=yesterday", "severity=SEV9", "group_by=planet",
                                   "by=decade", "service=nope", "from=2026-05-01&to=2026-04-01"])
def test_bad_filters_are_a_readable_4xx(web_client, world, query):
    r = web_client("viewer").get(f"/reports?{query}")
    assert 400 <= r.status_code < 500 and "<h1>" in r.text, (query, r.status_code)

"""MTTA counts people, not tocsin: from the first alert (or the declaration) to the first
acknowledgement by a person, on a fixed data set with hand-computed values (both backends).

The data set, one Monday in March 2026 (UTC):

- INC 1: Alice declares it in triage at 09:00 (no alert); Bob acknowledges it (investigating)
  at 09:04. MTTA 4 min.
- INC 2: an alert fires at 10:00 and an auto-incident rule declares the incident at once; Bob
  acknowledges the alert at 10:10. MTTA 10 min (it used to read 0 s: the declaration stamped
  acknowledged_at).
- INC 3: an alert fires at 11:00 and the rule declares the incident; only the monitoring system
  acknowledges the alert, through its integration, at 11:05. No person ever did: left out.

MTTA over the three = mean and median of [240, 600] = 420 s = 7 min.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.harness.scenario import DEFAULT_SERVICE
from tocsin.flows import incidents as flows
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Status
from tocsin.reports import incident_metrics as m
from tocsin.reports import service as reports
from tocsin.reports.period import Period
from tocsin.routing.models import AutoIncidentRule
from tocsin.severities import Severity

DAY = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
PERIOD = Period(since=DAY, until=datetime(2026, 3, 9, tzinfo=UTC))


def at(hh: int, mm: int) -> datetime:
    return DAY.replace(hour=hh, minute=mm)


@pytest.fixture
def day(runbook):
    rb = runbook
    rb.clock.set(at(8, 0))
    rb.service()
    rb.person("Alice")
    rb.person("Bob")
    with rb.db.unit_of_work() as s:
        s.add(AutoIncidentRule(name="critical", matchers=[{"name": "severity", "op": "=", "value": "critical"}],
                               incident_severity="SEV3", incident_kind="operational", created_at=rb.now))

    rb.clock.set(at(9, 0))
    with rb.db.unit_of_work() as s:
        first = flows.declare(s, actor=rb.principal("Alice"), now=rb.now, spec=incidents.Declaration(
            title="Disk filling up", severity=Severity.SEV3, status=Status.triage, services=[DEFAULT_SERVICE])).id
    rb.clock.set(at(9, 4))
    with rb.db.unit_of_work() as s:
        flows.update(s, incident=s.get(Incident, first), actor=rb.principal("Bob"), now=rb.now,
                     changes={"status": "investigating"})

    rb.clock.set(at(10, 0))
    second_alert = rb.trigger("a")
    second = rb.alert(second_alert).incident_id
    assert second is not None, "the rule declared an incident"
    assert rb.rows(Incident, Incident.id == second)[0].acknowledged_at is None, "a rule acknowledges nothing"
    rb.clock.set(at(10, 10))
    rb.ack(second_alert, "Bob")
    rb.clock.set(at(10, 30))
    rb.source_resolves("a")  # its group closes, so the next alert starts a new one (and a new incident)

    rb.clock.set(at(11, 0))
    third_alert = rb.trigger("b")
    third = rb.alert(third_alert).incident_id
    assert third not in (None, second)
    rb.clock.set(at(11, 5))
    (out,) = rb.ingest(rb.event("b", action="acknowledge"))  # the monitoring system, not a person
    assert out.outcome == "acknowledged"
    rb.clock.set(at(12, 0))
    return {"first": first, "second": second, "third": third}


def test_mtta_runs_to_the_first_acknowledgement_by_a_person(runbook, day):
    with runbook.db.unit_of_work() as s:
        rows = {r.ref: r for r in reports.load_incident_rows(s, principal=runbook.system, period=PERIOD,
                                                             flt=reports.ReportFilter())}
        acked = {iid: s.get(Incident, iid).acknowledged_at for iid in day.values()}
        report = reports.incident_report(s, principal=runbook.system, now=runbook.now, period=PERIOD,
                                         flt=reports.ReportFilter(), group_by=m.GroupBy.none,
                                         settings=runbook.settings, rows=list(rows.values()))
    first, second, third = (rows[f"INC-{n}"] for n in (1, 2, 3))
    assert (m.first_alert(first), m.first_ack(first)) == (at(9, 0), at(9, 4))
    assert (m.first_alert(second), m.first_ack(second)) == (at(10, 0), at(10, 10))
    assert (m.first_alert(third), m.first_ack(third)) == (at(11, 0), None)
    # the incidents' own record says the same: a person's acknowledgement, or none
    assert acked == {day["first"]: at(9, 4), day["second"]: at(10, 10), day["third"]: None}
    # [240, 600]: mean 420, median 420, p90 240 + 0.9 * 360 = 564
    assert report["overall"]["mtta"] == {"count": 2, "mean_seconds": 420.0, "median_seconds": 420.0,
                                         "p90_seconds": pytest.approx(564.0)}


def test_the_chart_and_its_table_show_the_same_mtta(runbook, day):
    """The weekly MTTA chart's point for the week is the summary's 7 minutes, and the page prints
    the chart's own numbers in the table beside it."""
    with runbook.db.unit_of_work() as s:
        rows = reports.load_incident_rows(s, principal=runbook.system, period=PERIOD, flt=reports.ReportFilter())
        html = reports.page_html(s, principal=runbook.system, now=runbook.now, period=PERIOD,
                                 flt=reports.ReportFilter(), group_by=m.GroupBy.none, unit=m.Bucket.week,
                                 settings=runbook.settings)
    trend = m.trend(rows, metric=m.TrendMetric.mtta, unit=m.Bucket.week, since=PERIOD.since, until=PERIOD.until,
                    now=runbook.now, required_severities=frozenset(), hourly_rate=0.0)
    assert trend.buckets == ["2026-03-02"]
    assert [s.values for s in trend.series] == [[7.0], [7.0]]  # median and mean, in minutes
    assert "7m median · 7m mean" in html
    table = html.split("MTTA per week", 2)[2]  # the chart's title, then its table
    assert "2026-03-02" in table and "7.0" in table

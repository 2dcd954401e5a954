"""Regulatory deadline arithmetic (obligations/deadlines.py), the regimes catalogue's validation
(obligations/catalog.py) and the regime suggestion (obligations/suggest.py): pure, table-driven."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tocsin.obligations import catalog
from tocsin.obligations.deadlines import Calendar, Leads, State, Term, Unit, add, due, reminder_due, standing
from tocsin.obligations.suggest import Exposure, suggest


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


US = Calendar("us-federal", holidays=frozenset({date(2026, 11, 26), date(2026, 12, 25)}))


@pytest.mark.parametrize(("start", "amount", "unit", "tz", "cal", "expected"), [
    # hours are real hours: 72 h across the EU spring-forward night stays 72 h (not 71 wall hours)
    ("2026-03-28T10:00", 72, Unit.hours, "Europe/Brussels", None, "2026-03-31T10:00"),
    ("2026-10-24T22:30", 24, Unit.hours, None, None, "2026-10-25T22:30"),
    # calendar days: the end of day N on the regulator's calendar; New York's midnight is 05:00 UTC in
    # winter, 04:00 in summer, and the deadline follows the offset of its own day (DST ends 1 Nov 2026)
    ("2026-09-05T15:00", 60, Unit.calendar_days, "America/New_York", None, "2026-11-05T05:00"),
    ("2026-01-10T03:00", 30, Unit.calendar_days, "America/New_York", None, "2026-02-09T05:00"),
    # the last day is the spring-forward day (8 Mar 2026, 23 hours long): it ends at 04:00 UTC, not 05:00
    ("2026-03-07T15:00", 1, Unit.calendar_days, "America/New_York", None, "2026-03-09T04:00"),
    # 03:00 UTC on 10 Jan is still 9 Jan in New York: day 0 is the regulator's local day
    ("2026-01-10T03:00", 1, Unit.calendar_days, "America/New_York", None, "2026-01-11T05:00"),
    # spring forward in Sydney's autumn (DST ends 5 Apr 2026): midnight after is +10:00
    ("2026-03-20T00:00", 30, Unit.calendar_days, "Australia/Sydney", None, "2026-04-19T14:00"),
    # business days skip the weekend: determined Thursday -> 4 business days = end of Wednesday
    ("2026-06-04T14:00", 4, Unit.business_days, "America/New_York", US, "2026-06-11T04:00"),
    # ... and holidays: Wed 25 Nov + 4 skips Thanksgiving (26th) and the weekend -> end of Wed 2 Dec
    ("2026-11-25T15:00", 4, Unit.business_days, "America/New_York", US, "2026-12-03T05:00"),
    # determined on a Saturday: counting starts Monday -> end of Thursday 24 Dec
    ("2026-12-19T12:00", 4, Unit.business_days, "America/New_York", US, "2026-12-25T05:00"),
    # across Christmas: Tue 22 Dec + 4 = 23, 24, (25 holiday), (weekend), 28, 29 -> end of Tue 29 Dec
    ("2026-12-22T12:00", 4, Unit.business_days, "America/New_York", US, "2026-12-30T05:00"),
    # a month: same day next month, clamped at the month's end
    ("2026-01-31T10:00", 1, Unit.months, None, None, "2026-03-01T00:00"),
    ("2026-12-15T10:00", 1, Unit.months, "Europe/Brussels", None, "2027-01-15T23:00"),
])
def test_add(start, amount, unit, tz, cal, expected):
    assert add(utc(start), amount, unit, tz=tz, calendar=cal) == utc(expected)


def test_without_undue_delay_has_no_fixed_time_and_bad_input_is_refused():
    assert add(utc("2026-01-01T00:00"), 0, Unit.without_undue_delay) is None
    with pytest.raises(ValueError, match="aware"):
        add(datetime(2026, 1, 1), 1, Unit.hours)
    with pytest.raises(ValueError, match="no business days"):
        add(utc("2026-01-01T00:00"), 1, Unit.business_days, calendar=Calendar(weekend=frozenset(range(7))))


DORA = [Term("classified_at", 4, Unit.hours), Term("aware_at", 24, Unit.hours)]
AWARE, CLASSIFIED = utc("2026-05-04T08:00"), utc("2026-05-05T06:00")


@pytest.mark.parametrize(("terms", "starts", "at", "reason_has", "waiting"), [
    # DORA: 4 h after classification, no later than 24 h after awareness -> the earliest known
    (DORA, {"aware_at": AWARE}, "2026-05-05T08:00", "24h after aware_at", ("classified_at",)),
    (DORA, {"aware_at": AWARE, "classified_at": utc("2026-05-04T09:00")}, "2026-05-04T13:00",
     "4h after classified_at (the earliest of", ()),
    (DORA, {"aware_at": AWARE, "classified_at": CLASSIFIED}, "2026-05-05T08:00", "24h after aware_at", ()),
    (DORA, {}, None, "waiting for classified_at, aware_at", ("classified_at", "aware_at")),
    # NIS2 final report: one month after the notification was actually filed (a chain)
    ([Term("filed:notification", 1, Unit.months)], {"filed:notification": utc("2026-05-06T17:00")},
     "2026-06-07T00:00", "1 months after the notification filing", ()),
    ([Term("filed:notification", 1, Unit.months)], {"filed:notification": None}, None,
     "waiting for the notification filing", ("filed:notification",)),
])
def test_due_is_the_earliest_known_term(terms, starts, at, reason_has, waiting):
    d = due(terms, starts)
    assert d.at == (utc(at) if at else None)
    assert reason_has in d.reason
    assert d.waiting == waiting


def test_due_without_undue_delay_is_open_without_a_time():
    d = due([Term("aware_at", unit=Unit.without_undue_delay)], {"aware_at": AWARE})
    assert (d.at, d.undue_delay, d.reason) == (None, True, "without undue delay after aware_at")


NOW = utc("2026-05-05T12:00")


@pytest.mark.parametrize(("kw", "state", "reason"), [
    ({"due_at": NOW + timedelta(hours=41), "started": True}, State.open, "due in 41 h"),
    ({"due_at": NOW + timedelta(hours=4), "started": True}, State.due_soon, "due in 4 h"),
    ({"due_at": NOW - timedelta(minutes=30), "started": True}, State.overdue, "overdue by 30 min"),
    ({"due_at": None, "started": False}, State.waiting, "its clock has not started"),
    ({"due_at": None, "started": True}, State.open, "open: no fixed deadline"),
    ({"due_at": NOW, "started": True, "filed_at": NOW - timedelta(hours=1)}, State.filed, "filed in time"),
    ({"due_at": NOW, "started": True, "filed_at": NOW + timedelta(hours=5), "late_reason": "regulator portal down"},
     State.filed_late, "filed 5 h late: regulator portal down"),
    ({"due_at": NOW, "started": True, "not_applicable": "data was encrypted"}, State.not_applicable,
     "not applicable: data was encrypted"),
])
def test_standing(kw, state, reason):
    got = standing(now=NOW, **kw)
    assert (got.state, got.reason) == (state, reason)


DUE = utc("2026-05-06T12:00")
LEADS = Leads.parse("24h,4h,1h")


@pytest.mark.parametrize(("now", "reminded", "lead"), [
    (DUE - timedelta(hours=25), None, None),  # before the first lead
    (DUE - timedelta(hours=24), None, 1440),
    (DUE - timedelta(hours=23), 1440, None),  # that one is sent; the next is 4 h before
    (DUE - timedelta(hours=2), None, 240),  # an engine that was down sends the one due now, once
    (DUE - timedelta(minutes=30), 240, 60),
    (DUE, 60, 0),  # due now
    (DUE + timedelta(hours=3), 0, None),  # nothing after "due now"
])
def test_reminder_due(now, reminded, lead):
    assert reminder_due(DUE, now, LEADS, reminded) == lead


@pytest.mark.parametrize(("text", "message"), [("24", "use hours"), ("0h", "between"), ("3w", "use hours")])
def test_bad_reminder_leads_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        Leads.parse(text)


SHIPPED = catalog.build([catalog.parse(catalog.shipped_text(), "shipped")])


@pytest.mark.parametrize(("exposure", "expected"), [
    (Exposure(), []),
    (Exposure(data=frozenset({"personal"}), regions=frozenset({"DE"})), ["gdpr", "nis2"]),
    (Exposure(data=frozenset({"health"}), regions=frozenset({"US-CO"})), ["hipaa", "sec-8k", "us-co"]),
    (Exposure(data=frozenset({"payment-card"}), regions=frozenset({"GB"})), ["uk-gdpr", "pci-dss"]),
])
def test_suggestion_from_data_and_regions(exposure, expected):
    assert [s.regime for s in suggest(SHIPPED.regimes.values(), exposure)] == expected


def test_suggestion_gives_reasons_and_skips_chosen_and_disabled_regimes():
    found = suggest(SHIPPED.regimes.values(), Exposure(data=frozenset({"personal"}), regions=frozenset({"FR"})),
                    chosen=["nis2"])
    assert [(s.regime, s.reasons) for s in found] == [
        ("gdpr", ("affects FR (the regime covers EU)", "personal data involved"))]
    assert not SHIPPED.regimes["circia"].enabled


@pytest.mark.parametrize(("text", "message"), [
    ("regimes: [{id: x, name: X, source: s, obligations: [{id: a, name: A, notify: n, "
     "due: [{from: aware_at, amount: 3, unit: weeks}]}]}]", "regimes[0](x).obligations[0](a).due[0].unit"),
    ("regimes: [{id: x, name: X, source: s, obligations: [{id: a, name: A, notify: n, "
     "due: [{from: breakfast, amount: 3, unit: hours}]}]}]", "'from: breakfast' is not a clock"),
    ("regimes: [{id: x, name: X, source: s, obligations: [{id: a, name: A, notify: n, "
     "due: [{from: 'filed:b', amount: 3, unit: hours}]}]}]", "names no other obligation"),
    ("regimes: [{id: x, name: X, source: s, obligations: [{id: a, name: A, notify: n, "
     "due: [{from: aware_at, amount: 3, unit: calendar_days, tz: Mars/Olympus}]}]}]", "unknown time zone"),
    ("regimes: [{id: x, name: X, source: s, obligations: [{id: a, name: A, notify: n, "
     "due: [{from: aware_at, unit: hours}]}]}]", "needs an amount above 0"),
    ("regimes: [{id: x, name: X, source: s, obligations: [{id: a, name: A, notify: n, "
     "due: [{from: aware_at, amount: 5000, unit: business_days}]}]}]", "at most 1000 business days"),
    ("regimes: [ {id: x", "not valid YAML"),
    ("colour: blue", "colour: Extra inputs are not permitted"),
])
def test_a_bad_regimes_file_is_refused_naming_the_file_and_field(text, message):
    with pytest.raises(catalog.CatalogError, match="ops.yaml") as err:
        catalog.parse(text, "ops.yaml")
    assert message in str(err.value)


def test_operator_file_overrides_enables_and_adds_holidays():
    ops = catalog.parse("enable: [circia]\ndisable: [sec-8k]\nregimes:\n"
                        "  - {id: gdpr, name: EU GDPR (ours), source: DPA guidance, obligations: [{id: art33, "
                        "name: DPA notice, notify: our DPA, due: [{from: aware_at, amount: 48, unit: hours}]}]}\n",
                        "ops.yaml")
    cat = catalog.build([catalog.parse(catalog.shipped_text(), "shipped"), ops],
                        catalog.parse_holidays("us-federal: [2026-06-10]", "hol.yaml"))
    assert cat.regimes["circia"].enabled and not cat.regimes["sec-8k"].enabled
    assert [o.name for o in cat.regimes["gdpr"].obligations] == ["DPA notice"]
    assert date(2026, 6, 10) in cat.calendars["us-federal"].holidays
    with pytest.raises(catalog.CatalogError, match="unknown calendar"):
        catalog.build([catalog.parse("", "empty.yaml")], catalog.parse_holidays("nowhere: [2026-06-10]", "hol.yaml"))


@pytest.mark.parametrize("text", ["61d", "0h", "4 hours"])
def test_the_setting_refuses_leads_the_engine_could_not_use(text):
    from tocsin.config import Settings

    with pytest.raises(ValueError, match="reminder lead"):
        Settings(obligation_reminder_leads=text)
    assert Leads.parse(Settings(obligation_reminder_leads="2D, 30m").obligation_reminder_leads).minutes == (2880, 30)

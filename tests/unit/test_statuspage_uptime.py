"""The uptime arithmetic behind the 90-day bars: table-driven, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tocsin.statuspage import uptime
from tocsin.statuspage.uptime import Interval

UTCZ = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # noon: today has 12 counted hours in UTC
H = 3600.0


def t(day: str, hm: str = "00:00", zone: ZoneInfo = UTCZ) -> datetime:
    """A local time in `zone`, as aware UTC."""
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=zone).astimezone(UTC)


def day_of(result: uptime.Uptime, which: str) -> uptime.Day:
    return next(d for d in result.days if d.day == date.fromisoformat(which))


def run(changes: list[tuple[datetime, str]], *, failing: list[Interval] = (), zone: ZoneInfo = UTCZ,
        now: datetime = NOW, since: datetime | None = None) -> uptime.Uptime:
    start = uptime.window_start(now, zone)
    intervals = uptime.status_intervals(changes, initial="operational", since=start, until=now)
    return uptime.compute(statuses=intervals, failing=failing, now=now, zone=zone, since=since)


CASES = [
    # (name, status changes, failing check spans, day checked, expected counted h, down h, worst)
    ("all operational", [], [], "2026-11-20", 24, 0, "operational"),
    ("major outage 2 h", [(t("2026-11-20", "10:00"), "major_outage"), (t("2026-11-20", "12:00"), "operational")],
     [], "2026-11-20", 24, 2, "major_outage"),
    ("partial outage counts 30 %", [(t("2026-11-20", "08:00"), "partial_outage"),
                                    (t("2026-11-20", "18:00"), "operational")], [], "2026-11-20", 24, 3,
     "partial_outage"),
    ("degraded counts as up", [(t("2026-11-20", "08:00"), "degraded_performance"),
                               (t("2026-11-20", "18:00"), "operational")], [], "2026-11-20", 24, 0,
     "degraded_performance"),
    ("maintenance left out of the denominator",
     [(t("2026-11-20", "00:00"), "under_maintenance"), (t("2026-11-20", "04:00"), "major_outage"),
      (t("2026-11-20", "06:00"), "operational")], [], "2026-11-20", 20, 2, "major_outage"),
    ("outage across midnight split between days",
     [(t("2026-11-20", "22:00"), "major_outage"), (t("2026-11-21", "03:00"), "operational")], [],
     "2026-11-21", 24, 3, "major_outage"),
    ("failing check while operational is down", [],
     [Interval(t("2026-11-20", "01:00"), t("2026-11-20", "02:30"), "failed")], "2026-11-20", 24, 1.5,
     "major_outage"),
    ("failing check during a major outage is not counted twice",
     [(t("2026-11-20", "10:00"), "major_outage"), (t("2026-11-20", "12:00"), "operational")],
     [Interval(t("2026-11-20", "11:00"), t("2026-11-20", "13:00"), "failed")], "2026-11-20", 24, 3, "major_outage"),
    ("failing check during a partial outage makes it fully down",
     [(t("2026-11-20", "10:00"), "partial_outage"), (t("2026-11-20", "20:00"), "operational")],
     [Interval(t("2026-11-20", "10:00"), t("2026-11-20", "12:00"), "failed")], "2026-11-20", 24, 2 + 0.3 * 8,
     "major_outage"),
    ("failing check during maintenance is not downtime",
     [(t("2026-11-20", "10:00"), "under_maintenance"), (t("2026-11-20", "12:00"), "operational")],
     [Interval(t("2026-11-20", "10:00"), t("2026-11-20", "12:00"), "failed")], "2026-11-20", 22, 0,
     "under_maintenance"),
    ("today counts only up to now", [(t("2026-11-27", "06:00"), "major_outage")], [], "2026-11-27", 12, 6,
     "major_outage"),
    ("a status set before the window holds into it", [(NOW - timedelta(days=200), "major_outage")], [],
     "2026-09-01", 24, 24, "major_outage"),
]


@pytest.mark.parametrize("name,changes,failing,which,counted,down,worst", CASES, ids=[c[0] for c in CASES])
def test_day_figures(name: str, changes: list, failing: list, which: str, counted: float, down: float,
                     worst: str) -> None:
    d = day_of(run(changes, failing=failing), which)
    assert d.counted_seconds == pytest.approx(counted * H)
    assert d.down_seconds == pytest.approx(down * H)
    assert d.worst == worst
    assert d.up == pytest.approx(1 - down / counted)


def test_ninety_days_ending_today_and_window_percentage() -> None:
    result = run([(t("2026-11-20", "10:00"), "major_outage"), (t("2026-11-20", "12:00"), "operational")])
    assert len(result.days) == 90
    assert result.days[-1].day == date(2026, 11, 27) and result.days[0].day == date(2026, 8, 30)
    counted = 89 * 24 + 12
    assert result.percent == pytest.approx(round(100 * (1 - 2 / counted), 4))


def test_all_maintenance_day_has_no_figure_and_no_days_before_creation() -> None:
    created = t("2026-11-25", "12:00")
    result = run([(t("2026-11-26", "00:00"), "under_maintenance"), (t("2026-11-27", "00:00"), "operational")],
                 since=created)
    assert day_of(result, "2026-11-24").up is None  # before the component existed
    assert day_of(result, "2026-11-25").counted_seconds == pytest.approx(12 * H)
    assert day_of(result, "2026-11-26").up is None  # maintenance all day: nothing counted
    assert day_of(result, "2026-11-26").worst == "under_maintenance"
    assert result.percent == 100.0
    assert run([], since=NOW + timedelta(hours=1)).percent is None


@pytest.mark.parametrize("which,hours", [("2026-10-25", 25), ("2026-03-29", 23), ("2026-10-24", 24)])
def test_days_follow_the_page_time_zone_across_dst(which: str, hours: int) -> None:
    """In Europe/Berlin the clocks go back on 2026-10-25 (a 25-hour day) and forward on
    2026-03-29 (23 hours); a whole-day outage counts every real hour of that local day."""
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    nxt = (date.fromisoformat(which) + timedelta(days=1)).isoformat()
    changes = [(t(which, "00:00", BERLIN), "major_outage"), (t(nxt, "00:00", BERLIN), "operational")]
    start = uptime.window_start(now, BERLIN, days=300)
    intervals = uptime.status_intervals(changes, initial="operational", since=start, until=now)
    result = uptime.compute(statuses=intervals, now=now, zone=BERLIN, days=300)
    d = day_of(result, which)
    assert d.counted_seconds == pytest.approx(hours * H)
    assert d.down_seconds == pytest.approx(hours * H)
    assert d.up == 0.0
    before = day_of(result, (date.fromisoformat(which) - timedelta(days=1)).isoformat())
    assert before.down_seconds == 0 and before.counted_seconds == pytest.approx(24 * H)


def test_one_hour_outage_on_the_long_dst_day() -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    changes = [(t("2026-10-25", "01:30", BERLIN), "major_outage"), (t("2026-10-25", "05:00", BERLIN), "operational")]
    start = uptime.window_start(now, BERLIN)
    result = uptime.compute(statuses=uptime.status_intervals(changes, initial="operational", since=start, until=now),
                            now=now, zone=BERLIN)
    d = day_of(result, "2026-10-25")
    # 01:30 CEST to 05:00 CET is 4.5 real hours (02:00-03:00 happens twice)
    assert d.down_seconds == pytest.approx(4.5 * H)
    assert d.up == pytest.approx(1 - 4.5 / 25)


def test_failing_intervals_hold_until_the_next_result_capped_and_merged() -> None:
    base = t("2026-11-20", "10:00")
    results = [(base, True), (base + timedelta(minutes=1), False), (base + timedelta(minutes=2), False),
               (base + timedelta(minutes=3), True), (base + timedelta(minutes=10), False)]
    spans = uptime.failing_intervals(results, until=base + timedelta(hours=5), max_gap=timedelta(minutes=3))
    assert [(s.start, s.end) for s in spans] == [
        (base + timedelta(minutes=1), base + timedelta(minutes=3)),  # two failures in a row: one span
        (base + timedelta(minutes=10), base + timedelta(minutes=13)),  # the last one, capped by max_gap
    ]


def test_status_intervals_cover_the_window_from_the_last_earlier_change() -> None:
    since, until = t("2026-11-01"), t("2026-11-03")
    changes = [(t("2026-10-01"), "partial_outage"), (t("2026-11-02", "06:00"), "operational"),
               (t("2026-11-05"), "major_outage")]
    got = uptime.status_intervals(changes, initial="operational", since=since, until=until)
    assert got == [Interval(since, t("2026-11-02", "06:00"), "partial_outage"),
                   Interval(t("2026-11-02", "06:00"), until, "operational")]


def test_a_check_run_from_several_places_fails_on_the_page_only_where_its_quorum_fails() -> None:
    t = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def span(a: int, b: int) -> Interval:
        return Interval(t + timedelta(minutes=a), t + timedelta(minutes=b), "failed")

    eu, us, ap = [span(0, 10), span(20, 30)], [span(5, 25)], [span(40, 50)]
    # quorum 2: eu and us overlap 5-10 and 20-25; ap alone (a flaky or hostile agent) paints nothing
    assert uptime.quorum_spans([eu, us, ap], 2) == [span(5, 10), span(20, 25)]
    assert uptime.quorum_spans([ap], 2) == []
    # quorum 1 (the server alone, or any one place): the union, touching spans joined
    assert uptime.quorum_spans([eu, us, ap], 1) == [span(0, 30), span(40, 50)]
    assert uptime.quorum_spans([[span(0, 5)], [span(5, 8)]], 1) == [span(0, 8)]

"""On-call load and fairness: the pure computations of reports/oncall_load.py.

Every expectation was worked out by hand from the offsets (2026):
  Europe/Berlin     CET +01:00 -> CEST +02:00 on Sun Mar 29 at 01:00Z.
  America/New_York  EST -05:00 -> EDT -04:00 on Sun Mar 8 at 07:00Z (02:00 local jumps to 03:00).
Weekdays: 2026-03-06 is a Friday, 2026-03-07 a Saturday, 2026-03-09 and 2026-03-23 Mondays.

The fixed schedule: a daily rotation a, b, a, b... handing off at 09:00 Berlin time from Monday
2026-03-23, over the week [Mon 23 09:00 CET = 08:00Z, Mon 30 09:00 CEST = 07:00Z). The Saturday
shift (b) spans the change to summer time and lasts 23 hours; the week has 167 hours.
  Mon a 24, Tue b 24, Wed a 24, Thu b 24, Fri a 24, Sat b 23, Sun a 24  -> a 96, b 71.
An override puts c on call instead of a on Wed 25 from 12:00Z to 18:00Z -> a 90, b 71, c 6.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tocsin.errors import InvalidInput
from tocsin.oncall.resolve import Layer, Override, Rotation, final_shifts
from tocsin.reports.oncall_load import (
    PageSent,
    first_sends,
    hours_by_user,
    is_off_hours,
    night_of,
    page_key,
    page_stats,
    pages_on_call,
    period,
    spread,
)

NEW_YORK = ZoneInfo("America/New_York")
START, END = datetime(2026, 3, 23, 8, tzinfo=UTC), datetime(2026, 3, 30, 7, tzinfo=UTC)


def u(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def week_shifts(*, with_override: bool = True):
    rotation = Rotation("daily", "Europe/Berlin", START, ("a", "b"))
    overrides = [Override("c", u("2026-03-25T12:00"), u("2026-03-25T18:00"), replaces="a")] if with_override else []
    return final_shifts([Layer("primary", rotation)], overrides, START, END)


def test_hours_across_the_spring_forward_week():
    assert hours_by_user(week_shifts(with_override=False)) == {"a": 96.0, "b": 71.0}


def test_an_override_moves_hours_to_the_person_who_covers():
    hours = hours_by_user(week_shifts())
    assert hours == {"a": 90.0, "b": 71.0, "c": 6.0}
    assert sum(hours.values()) == 167.0  # the week is an hour short; nobody is charged for it


@pytest.mark.parametrize(("who", "at", "counted"), [
    ("c", "2026-03-25T13:00", True),  # c covers a's Wednesday
    ("a", "2026-03-25T13:00", False),  # a was paged while covered: not on call in this schedule
    ("a", "2026-03-25T18:00", True),  # the override has ended (end exclusive)
    ("b", "2026-03-28T07:59", False),  # a's Friday shift runs to Sat 09:00 CET = 08:00Z
    ("b", "2026-03-29T06:59", True),  # b's 23-hour Saturday shift, after the clock change
    ("b", "2026-03-29T07:00", False),  # handoff at 09:00 CEST: a from here
])
def test_pages_count_for_a_schedule_only_while_on_call_in_it(who, at, counted):
    assert pages_on_call([PageSent(who, u(at))], week_shifts()) == ({who: 1} if counted else {})


def test_fairness_spread_of_the_week():
    s = spread(list(hours_by_user(week_shifts()).values()))
    assert s is not None
    assert (s.min, s.max, s.max_min_ratio) == (6.0, 90.0, 15.0)
    # mean 167/3 = 55.667; deviations 34.333, 15.333, -49.667; variance 3880.667/3 = 1293.556
    assert s.cv == pytest.approx(35.96603 / 55.66667, abs=1e-5)


@pytest.mark.parametrize(("values", "expected"), [
    ([24.0, 24.0], (24.0, 24.0, 1.0, 0.0)),  # perfectly even
    ([2.0, 1.0, 0.0], (0.0, 2.0, None, math.sqrt(2 / 3))),  # someone had none: no ratio
    ([0.0, 0.0], (0.0, 0.0, None, None)),  # nothing to spread
    ([5.0], (5.0, 5.0, 1.0, 0.0)),
])
def test_spread_formula(values, expected):
    s = spread(values)
    assert s is not None
    assert (s.min, s.max, s.max_min_ratio) == expected[:3]
    assert s.cv == (pytest.approx(expected[3]) if expected[3] is not None else None)


def test_no_members_no_spread():
    assert spread([]) is None


# --- pages in the person's time zone (New York, spring forward on Sun Mar 8) -------------------

@pytest.mark.parametrize(("at", "off_hours", "night"), [
    ("2026-03-09T13:30", False, None),  # Mon 09:30 EDT (it would be 08:30 in EST: off hours)
    ("2026-03-09T21:59", False, None),  # Mon 17:59 EDT
    ("2026-03-09T22:00", True, None),  # Mon 18:00 EDT: the working day has ended
    ("2026-03-06T13:30", True, None),  # Fri 08:30 EST, before work
    ("2026-03-07T15:00", True, None),  # Sat 10:00 EST: weekend
    ("2026-03-10T02:00", True, date(2026, 3, 9)),  # Mon 22:00 EDT: the night of the 9th begins
    ("2026-03-10T01:59", True, None),  # Mon 21:59 EDT: evening, not yet night
    ("2026-03-10T10:59", True, date(2026, 3, 9)),  # Tue 06:59 EDT: still the night of the 9th
    ("2026-03-10T11:00", True, None),  # Tue 07:00 EDT: night over, not yet work
    ("2026-03-08T06:30", True, date(2026, 3, 7)),  # Sun 01:30 EST, before the jump
    ("2026-03-08T07:30", True, date(2026, 3, 7)),  # Sun 03:30 EDT, after it: the same night
])
def test_off_hours_and_nights_on_the_local_wall_clock(at, off_hours, night):
    assert is_off_hours(u(at), NEW_YORK) is off_hours
    assert night_of(u(at), NEW_YORK) == night


def test_page_stats_count_each_night_once():
    times = [u("2026-03-09T13:30"),  # working hours
             u("2026-03-10T02:30"), u("2026-03-10T10:30"),  # one night (the 9th), twice
             u("2026-03-08T06:30"), u("2026-03-08T07:30"),  # the night of the 7th, across the jump
             u("2026-03-07T15:00")]  # Saturday daytime
    stats = page_stats(times, NEW_YORK)
    assert (stats.pages, stats.off_hours_pages, stats.nights_interrupted) == (6, 5, 2)


# --- what one page is ----------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "step"), [
    ("esc1:0:user-a:0123456789abcdef", "esc1:0:user-a"),
    ("esc1:0:user-a:0123456789abcdef|fb:fedcba9876543210", "esc1:0:user-a"),  # fall-through
    ("esc1:3:user-a:aaaa", "esc1:3:user-a"),
    ("odd-key", "odd-key"),  # a key of another shape is a page of its own
])
def test_page_key(key, step):
    assert page_key(key) == step


def test_channels_delays_and_fall_through_of_one_step_are_one_page():
    t0 = u("2026-03-09T03:00")
    rows = [("a", "e1:0:a:sms", t0 + timedelta(minutes=1)),
            ("a", "e1:0:a:email", t0),  # same step, other channel: the first send dates the page
            ("a", "e1:0:a:voice", t0 + timedelta(minutes=5)),  # a delayed notification rule
            ("a", "e1:0:a:sms|fb:push", t0 + timedelta(minutes=6)),  # fall-through after a failure
            ("a", "e1:1:a:sms", t0 + timedelta(minutes=10)),  # the next step paged her again
            ("b", "e1:0:b:email", t0)]  # same step, another person
    assert first_sends(rows) == [PageSent("a", t0), PageSent("b", t0),
                                 PageSent("a", t0 + timedelta(minutes=10))]


# --- the period ----------------------------------------------------------------------------------

NOW = u("2026-06-01T12:00")


@pytest.mark.parametrize(("since", "until", "expected"), [
    (None, None, (NOW - timedelta(days=90), NOW)),
    ("90d", "", (NOW - timedelta(days=90), NOW)),
    ("12h", None, (NOW - timedelta(hours=12), NOW)),
    ("4w", None, (NOW - timedelta(weeks=4), NOW)),
    ("2026-03-23T09:00:00+01:00", "2026-03-30T07:00:00Z", (START, END)),
    (None, "2026-03-30T07:00:00Z", (NOW - timedelta(days=90), END)),  # since: 90 days back from now
])
def test_period(since, until, expected):
    assert period(since=since, until=until, now=NOW) == expected


@pytest.mark.parametrize(("since", "until", "field"), [
    ("yesterday", None, "since"),
    ("2026-03-01T00:00:00", None, "since"),  # no offset: which time zone?
    ("90x", None, "since"),
    (None, "soon", "until"),
    ("2026-05-01T00:00:00Z", "2026-04-01T00:00:00Z", "since"),  # ends before it starts
    ("400d", None, "since"),  # longer than 366 days
    ("1999-01-01T00:00:00Z", "1999-02-01T00:00:00Z", "since"),  # more than ten years ago
])
def test_bad_periods_say_which_field(since, until, field):
    with pytest.raises(InvalidInput) as exc:
        period(since=since, until=until, now=NOW)
    assert exc.value.details["field"] == field

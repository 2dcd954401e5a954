"""Maintenance windows, support hours and silence ranges: pure time-window arithmetic.

Every expected instant below was worked out by hand from the offsets, never with the code
under test. Offsets used:
  Europe/Berlin     CET +01:00, CEST +02:00; 2026-03-29 01:00Z 02:00 CET -> 03:00 CEST,
                    2026-10-25 01:00Z 03:00 CEST -> 02:00 CET (02:00-02:59 happens twice).
  America/New_York  EST -05:00, EDT -04:00; 2026-03-08 07:00Z 02:00 EST -> 03:00 EDT,
                    2026-11-01 06:00Z 02:00 EDT -> 01:00 EST (01:00-01:59 happens twice).
Weekdays in 2026: Mar 1 and Mar 29 are Sundays, Mar 17/24/31 Tuesdays, Oct 25 and Nov 1
Sundays, Oct 20/27 Tuesdays, Nov 27 a Friday, Nov 30 a Monday.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.windows import (
    Recurrence,
    SupportHours,
    in_range,
    in_support_hours,
    next_boundary,
    next_support_start,
    occurrence_at,
    recurrence_kind,
    validate_window,
)


def u(*args: int) -> datetime:
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)


BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"
ONCE = Recurrence("none", "UTC")
DAILY_BERLIN = Recurrence("daily", BERLIN)
WEEKLY_BERLIN = Recurrence("weekly", BERLIN)
WEEKLY_NY = Recurrence("weekly", NEW_YORK)

# (starts_at, ends_at) of first occurrences
ONE_OFF = (u(2026, 5, 12, 20, 0), u(2026, 5, 12, 23, 0))
# Mon 2026-01-05 22:00 CET -> Tue 02:00 CET
NIGHTLY = (u(2026, 1, 5, 21, 0), u(2026, 1, 6, 1, 0))
# Tue 2026-03-17 22:00 CET -> Wed 02:00 CET: "weekly patch night"
PATCH_NIGHT = (u(2026, 3, 17, 21, 0), u(2026, 3, 18, 1, 0))
# Sun 2026-03-01 01:30 CET -> 03:30 CET
SUNDAY_BERLIN = (u(2026, 3, 1, 0, 30), u(2026, 3, 1, 2, 30))
# Sun 2026-03-01 01:30 EST -> 03:30 EST
SUNDAY_NY = (u(2026, 3, 1, 6, 30), u(2026, 3, 1, 8, 30))
# Sun 2026-03-01 02:30 CET -> 04:00 CET: starts inside the spring-forward gap on Mar 29
SUNDAY_0230 = (u(2026, 3, 1, 1, 30), u(2026, 3, 1, 3, 0))
# Sun 2026-03-01 02:10 CET -> 02:50 CET: wholly inside the spring-forward gap on Mar 29
SUNDAY_IN_GAP = (u(2026, 3, 1, 1, 10), u(2026, 3, 1, 1, 50))
# Tue 2019-01-01 22:00 CET -> Wed 02:00 CET, and the same from Tue 1990-01-02
NIGHTLY_2019 = (u(2019, 1, 1, 21, 0), u(2019, 1, 2, 1, 0))
PATCH_NIGHT_1990 = (u(1990, 1, 2, 21, 0), u(1990, 1, 3, 1, 0))
# Mon 2026-03-02 00:00 CET -> Tue 00:00 CET: a daily window that never stops
ALL_DAY = (u(2026, 3, 1, 23, 0), u(2026, 3, 2, 23, 0))


WINDOW_CASES = [
    # id, (starts_at, ends_at), recurrence, now, expected occurrence, expected next boundary
    # --- one-off
    ("once/before", ONE_OFF, ONCE, u(2026, 5, 12, 19, 59, 59), None, u(2026, 5, 12, 20, 0)),
    ("once/at-start", ONE_OFF, ONCE, u(2026, 5, 12, 20, 0), ONE_OFF, u(2026, 5, 12, 23, 0)),
    ("once/inside", ONE_OFF, ONCE, u(2026, 5, 12, 22, 59, 59), ONE_OFF, u(2026, 5, 12, 23, 0)),
    ("once/at-end", ONE_OFF, ONCE, u(2026, 5, 12, 23, 0), None, None),
    ("once/long-after", ONE_OFF, ONCE, u(2027, 1, 1), None, None),
    # --- daily 22:00-02:00 Berlin, crossing midnight
    ("daily/before-first", NIGHTLY, DAILY_BERLIN, u(2026, 1, 5, 20, 59), None, u(2026, 1, 5, 21, 0)),
    ("daily/first", NIGHTLY, DAILY_BERLIN, u(2026, 1, 5, 23, 0), NIGHTLY, u(2026, 1, 6, 1, 0)),
    # Feb 9 23:59 CET: the occurrence that started this evening
    ("daily/evening", NIGHTLY, DAILY_BERLIN, u(2026, 2, 9, 22, 59),
     (u(2026, 2, 9, 21, 0), u(2026, 2, 10, 1, 0)), u(2026, 2, 10, 1, 0)),
    # Feb 10 01:30 CET: still the occurrence that started yesterday 22:00
    ("daily/after-midnight", NIGHTLY, DAILY_BERLIN, u(2026, 2, 10, 0, 30),
     (u(2026, 2, 9, 21, 0), u(2026, 2, 10, 1, 0)), u(2026, 2, 10, 1, 0)),
    ("daily/at-end", NIGHTLY, DAILY_BERLIN, u(2026, 2, 10, 1, 0), None, u(2026, 2, 10, 21, 0)),
    ("daily/midday", NIGHTLY, DAILY_BERLIN, u(2026, 2, 10, 12, 0), None, u(2026, 2, 10, 21, 0)),
    # summer: 22:00 CEST = 20:00Z, 02:00 CEST = 00:00Z
    ("daily/summer", NIGHTLY, DAILY_BERLIN, u(2026, 7, 1, 23, 0),
     (u(2026, 7, 1, 20, 0), u(2026, 7, 2, 0, 0)), u(2026, 7, 2, 0, 0)),
    ("daily/summer-after", NIGHTLY, DAILY_BERLIN, u(2026, 7, 2, 0, 0), None, u(2026, 7, 2, 20, 0)),
    # spring-forward night: 02:00 does not exist, so the occurrence ends at 03:00 CEST = 01:00Z
    ("daily/spring-night", NIGHTLY, DAILY_BERLIN, u(2026, 3, 29, 0, 59),
     (u(2026, 3, 28, 21, 0), u(2026, 3, 29, 1, 0)), u(2026, 3, 29, 1, 0)),
    ("daily/spring-night-after", NIGHTLY, DAILY_BERLIN, u(2026, 3, 29, 1, 0), None, u(2026, 3, 29, 20, 0)),
    # fall-back night: 02:00 happens twice, the first pass (02:00 CEST = 00:00Z) ends it
    ("daily/fall-night", NIGHTLY, DAILY_BERLIN, u(2026, 10, 24, 23, 59),
     (u(2026, 10, 24, 20, 0), u(2026, 10, 25, 0, 0)), u(2026, 10, 25, 0, 0)),
    ("daily/fall-night-after", NIGHTLY, DAILY_BERLIN, u(2026, 10, 25, 0, 30), None, u(2026, 10, 25, 21, 0)),
    # --- weekly Tuesday 22:00-02:00 Berlin, the week before and after each change
    ("weekly/before-first", PATCH_NIGHT, WEEKLY_BERLIN, u(2026, 3, 10), None, u(2026, 3, 17, 21, 0)),
    ("weekly/mar24-before", PATCH_NIGHT, WEEKLY_BERLIN, u(2026, 3, 24, 20, 30), None, u(2026, 3, 24, 21, 0)),
    ("weekly/mar24-start", PATCH_NIGHT, WEEKLY_BERLIN, u(2026, 3, 24, 21, 0),
     (u(2026, 3, 24, 21, 0), u(2026, 3, 25, 1, 0)), u(2026, 3, 25, 1, 0)),
    ("weekly/between", PATCH_NIGHT, WEEKLY_BERLIN, u(2026, 3, 26, 12, 0), None, u(2026, 3, 31, 20, 0)),
    # after spring-forward 22:00 CEST is 20:00Z, an hour earlier in UTC than the week before
    ("weekly/mar31-before", PATCH_NIGHT, WEEKLY_BERLIN, u(2026, 3, 31, 19, 59), None, u(2026, 3, 31, 20, 0)),
    ("weekly/mar31-start", PATCH_NIGHT, WEEKLY_BERLIN, u(2026, 3, 31, 20, 0),
     (u(2026, 3, 31, 20, 0), u(2026, 4, 1, 0, 0)), u(2026, 4, 1, 0, 0)),
    # Wed 02:30 CEST: over, though 00:30Z would be inside a fixed-UTC 21:00Z-01:00Z window
    ("weekly/apr1-after", PATCH_NIGHT, WEEKLY_BERLIN, u(2026, 4, 1, 0, 30), None, u(2026, 4, 7, 20, 0)),
    ("weekly/oct20", PATCH_NIGHT, WEEKLY_BERLIN, u(2026, 10, 20, 20, 0),
     (u(2026, 10, 20, 20, 0), u(2026, 10, 21, 0, 0)), u(2026, 10, 21, 0, 0)),
    # after fall-back 22:00 CET is 21:00Z again
    ("weekly/oct27-before", PATCH_NIGHT, WEEKLY_BERLIN, u(2026, 10, 27, 20, 0), None, u(2026, 10, 27, 21, 0)),
    ("weekly/oct28-after-midnight", PATCH_NIGHT, WEEKLY_BERLIN, u(2026, 10, 28, 0, 30),
     (u(2026, 10, 27, 21, 0), u(2026, 10, 28, 1, 0)), u(2026, 10, 28, 1, 0)),
    # --- weekly Sunday 01:30-03:30 Berlin across both changes
    ("sun-berlin/mar22", SUNDAY_BERLIN, WEEKLY_BERLIN, u(2026, 3, 22, 2, 0),
     (u(2026, 3, 22, 0, 30), u(2026, 3, 22, 2, 30)), u(2026, 3, 22, 2, 30)),
    ("sun-berlin/mar29-before", SUNDAY_BERLIN, WEEKLY_BERLIN, u(2026, 3, 29, 0, 29, 59), None, u(2026, 3, 29, 0, 30)),
    # 01:30 CET -> 03:30 CEST: one real hour
    ("sun-berlin/mar29-at-jump", SUNDAY_BERLIN, WEEKLY_BERLIN, u(2026, 3, 29, 1, 0),
     (u(2026, 3, 29, 0, 30), u(2026, 3, 29, 1, 30)), u(2026, 3, 29, 1, 30)),
    ("sun-berlin/mar29-after", SUNDAY_BERLIN, WEEKLY_BERLIN, u(2026, 3, 29, 1, 30), None, u(2026, 4, 4, 23, 30)),
    ("sun-berlin/apr5", SUNDAY_BERLIN, WEEKLY_BERLIN, u(2026, 4, 5, 1, 0),
     (u(2026, 4, 4, 23, 30), u(2026, 4, 5, 1, 30)), u(2026, 4, 5, 1, 30)),
    ("sun-berlin/oct18", SUNDAY_BERLIN, WEEKLY_BERLIN, u(2026, 10, 18, 0, 0),
     (u(2026, 10, 17, 23, 30), u(2026, 10, 18, 1, 30)), u(2026, 10, 18, 1, 30)),
    # 01:30 CEST -> 03:30 CET: three real hours; 01:30Z is 02:30 CET, the second pass
    ("sun-berlin/oct25-second-pass", SUNDAY_BERLIN, WEEKLY_BERLIN, u(2026, 10, 25, 1, 30),
     (u(2026, 10, 24, 23, 30), u(2026, 10, 25, 2, 30)), u(2026, 10, 25, 2, 30)),
    ("sun-berlin/oct25-after", SUNDAY_BERLIN, WEEKLY_BERLIN, u(2026, 10, 25, 2, 30), None, u(2026, 11, 1, 0, 30)),
    # --- weekly Sunday 01:30-03:30 New York across both changes
    ("sun-ny/first", SUNDAY_NY, WEEKLY_NY, u(2026, 3, 1, 8, 0), SUNDAY_NY, u(2026, 3, 1, 8, 30)),
    # 01:30 EST -> 03:30 EDT: one real hour
    ("sun-ny/mar8", SUNDAY_NY, WEEKLY_NY, u(2026, 3, 8, 7, 0),
     (u(2026, 3, 8, 6, 30), u(2026, 3, 8, 7, 30)), u(2026, 3, 8, 7, 30)),
    ("sun-ny/mar8-after", SUNDAY_NY, WEEKLY_NY, u(2026, 3, 8, 7, 30), None, u(2026, 3, 15, 5, 30)),
    ("sun-ny/oct25", SUNDAY_NY, WEEKLY_NY, u(2026, 10, 25, 5, 30),
     (u(2026, 10, 25, 5, 30), u(2026, 10, 25, 7, 30)), u(2026, 10, 25, 7, 30)),
    # 01:30 is ambiguous on Nov 1: first pass 01:30 EDT = 05:30Z; ends 03:30 EST = 08:30Z
    ("sun-ny/nov1-before", SUNDAY_NY, WEEKLY_NY, u(2026, 11, 1, 5, 29), None, u(2026, 11, 1, 5, 30)),
    ("sun-ny/nov1-second-pass", SUNDAY_NY, WEEKLY_NY, u(2026, 11, 1, 6, 15),
     (u(2026, 11, 1, 5, 30), u(2026, 11, 1, 8, 30)), u(2026, 11, 1, 8, 30)),
    ("sun-ny/nov1-after", SUNDAY_NY, WEEKLY_NY, u(2026, 11, 1, 8, 30), None, u(2026, 11, 8, 6, 30)),
    # --- a start inside the gap begins when the gap ends (03:00 CEST = 01:00Z)
    ("sun-0230/mar29-before", SUNDAY_0230, WEEKLY_BERLIN, u(2026, 3, 29, 0, 59), None, u(2026, 3, 29, 1, 0)),
    ("sun-0230/mar29", SUNDAY_0230, WEEKLY_BERLIN, u(2026, 3, 29, 1, 0),
     (u(2026, 3, 29, 1, 0), u(2026, 3, 29, 2, 0)), u(2026, 3, 29, 2, 0)),
    # 02:30 in the fold is its first pass (CEST = 00:30Z); 04:00 CET = 03:00Z
    ("sun-0230/oct25-before", SUNDAY_0230, WEEKLY_BERLIN, u(2026, 10, 25, 0, 29), None, u(2026, 10, 25, 0, 30)),
    ("sun-0230/oct25", SUNDAY_0230, WEEKLY_BERLIN, u(2026, 10, 25, 1, 45),
     (u(2026, 10, 25, 0, 30), u(2026, 10, 25, 3, 0)), u(2026, 10, 25, 3, 0)),
    # --- an occurrence wholly inside the gap does not happen; the next is Apr 5 02:10 CEST = 00:10Z
    ("in-gap/mar22", SUNDAY_IN_GAP, WEEKLY_BERLIN, u(2026, 3, 22, 1, 20),
     (u(2026, 3, 22, 1, 10), u(2026, 3, 22, 1, 50)), u(2026, 3, 22, 1, 50)),
    ("in-gap/mar28", SUNDAY_IN_GAP, WEEKLY_BERLIN, u(2026, 3, 28, 12, 0), None, u(2026, 4, 5, 0, 10)),
    ("in-gap/mar29", SUNDAY_IN_GAP, WEEKLY_BERLIN, u(2026, 3, 29, 1, 0), None, u(2026, 4, 5, 0, 10)),
    # --- first scheduled years ago
    ("old/daily-2019", NIGHTLY_2019, DAILY_BERLIN, u(2026, 7, 15, 21, 30),
     (u(2026, 7, 15, 20, 0), u(2026, 7, 16, 0, 0)), u(2026, 7, 16, 0, 0)),
    ("old/weekly-2019", NIGHTLY_2019, WEEKLY_BERLIN, u(2026, 3, 31, 20, 0),
     (u(2026, 3, 31, 20, 0), u(2026, 4, 1, 0, 0)), u(2026, 4, 1, 0, 0)),
    ("old/weekly-1990", PATCH_NIGHT_1990, WEEKLY_BERLIN, u(2026, 11, 24, 21, 30),
     (u(2026, 11, 24, 21, 0), u(2026, 11, 25, 1, 0)), u(2026, 11, 25, 1, 0)),
    ("old/weekly-1990-off", PATCH_NIGHT_1990, WEEKLY_BERLIN, u(2026, 11, 27, 12, 0), None, u(2026, 12, 1, 21, 0)),
    # --- until: the Apr 7 occurrence (20:00Z) starts exactly at `until` and runs to its end
    ("until/last-active", PATCH_NIGHT, Recurrence("weekly", BERLIN, u(2026, 4, 7, 20, 0)), u(2026, 4, 7, 23, 0),
     (u(2026, 4, 7, 20, 0), u(2026, 4, 8, 0, 0)), u(2026, 4, 8, 0, 0)),
    ("until/last-ended", PATCH_NIGHT, Recurrence("weekly", BERLIN, u(2026, 4, 7, 20, 0)), u(2026, 4, 8, 0, 0),
     None, None),
    ("until/week-later", PATCH_NIGHT, Recurrence("weekly", BERLIN, u(2026, 4, 7, 20, 0)), u(2026, 4, 14, 21, 0),
     None, None),
    # one minute earlier and the Apr 7 occurrence never starts
    ("until/excluded", PATCH_NIGHT, Recurrence("weekly", BERLIN, u(2026, 4, 7, 19, 59)), u(2026, 4, 7, 20, 30),
     None, None),
    ("until/before-last", PATCH_NIGHT, Recurrence("weekly", BERLIN, u(2026, 4, 7, 19, 59)), u(2026, 4, 5),
     None, None),
    ("until/earlier-active", PATCH_NIGHT, Recurrence("weekly", BERLIN, u(2026, 4, 7, 19, 59)), u(2026, 3, 31, 21, 0),
     (u(2026, 3, 31, 20, 0), u(2026, 4, 1, 0, 0)), u(2026, 4, 1, 0, 0)),
    # --- a 24-hour daily window is one stretch: no boundary without until
    ("all-day/forever", ALL_DAY, DAILY_BERLIN, u(2026, 6, 1, 12, 0),
     (u(2026, 5, 31, 22, 0), u(2026, 6, 1, 22, 0)), None),
    # the spring-forward day is 23 real hours: 00:00 CET = 23:00Z to 00:00 CEST = 22:00Z
    ("all-day/spring-day", ALL_DAY, DAILY_BERLIN, u(2026, 3, 29, 12, 0),
     (u(2026, 3, 28, 23, 0), u(2026, 3, 29, 22, 0)), None),
    # last start <= until is Mar 10 00:00 CET = Mar 9 23:00Z; it ends Mar 10 23:00Z
    ("all-day/until", ALL_DAY, Recurrence("daily", BERLIN, u(2026, 3, 10)), u(2026, 3, 5, 12, 0),
     (u(2026, 3, 4, 23, 0), u(2026, 3, 5, 23, 0)), u(2026, 3, 10, 23, 0)),
]


@pytest.mark.parametrize(
    "window,rec,now,expected,boundary",
    [case[1:] for case in WINDOW_CASES],
    ids=[case[0] for case in WINDOW_CASES],
)
def test_occurrence_and_next_boundary(window, rec, now, expected, boundary):
    starts_at, ends_at = window
    occurrence = occurrence_at(starts_at, ends_at, rec, now)
    assert occurrence == expected
    if occurrence is not None:
        assert all(t.tzinfo is UTC for t in occurrence)
    nb = next_boundary(starts_at, ends_at, rec, now)
    assert nb == boundary
    if nb is not None:
        assert nb.tzinfo is UTC


def test_window_given_in_another_offset_returns_utc():
    cest = timezone(timedelta(hours=2))
    starts_at = datetime(2026, 3, 31, 22, 0, tzinfo=cest)
    ends_at = datetime(2026, 4, 1, 2, 0, tzinfo=cest)
    occurrence = occurrence_at(starts_at, ends_at, WEEKLY_BERLIN, u(2026, 4, 7, 21, 0))
    assert occurrence == (u(2026, 4, 7, 20, 0), u(2026, 4, 8, 0, 0))
    assert all(t.tzinfo is UTC for t in occurrence)


@pytest.mark.parametrize("starts_at,ends_at,rec,message", [
    (u(2026, 1, 1, 10), u(2026, 1, 1, 10), ONCE, "end after it starts"),
    (u(2026, 1, 1, 10), u(2026, 1, 1, 9), DAILY_BERLIN, "end after it starts"),
    (u(2026, 1, 1, 10), u(2026, 1, 2, 10, 1), DAILY_BERLIN, "daily window can last at most 24 hours"),
    # 24 real hours across spring-forward are 25 wall-clock hours: 00:00 CET -> 01:00 CEST
    (u(2026, 3, 28, 23), u(2026, 3, 29, 23), DAILY_BERLIN, "daily window can last at most 24 hours"),
    (u(2026, 1, 1, 10), u(2026, 1, 8, 10, 1), WEEKLY_BERLIN, "weekly window can last at most 7 days"),
    (u(2026, 1, 1, 10), u(2026, 1, 1, 11), Recurrence("daily", "Mars/Olympus_Mons"), "unknown time zone"),
    (u(2026, 1, 1, 10), u(2026, 1, 1, 11), Recurrence("daily", ""), "IANA"),
    (u(2026, 1, 1, 10), u(2026, 1, 1, 11), Recurrence("daily", "localtime"), "depends on the server"),
    (u(2026, 1, 1, 10), u(2026, 1, 1, 11), Recurrence("monthly", BERLIN), "none, daily, weekly"),  # type: ignore[arg-type]
    (u(2026, 1, 1, 10), u(2026, 1, 1, 11), Recurrence("weekly", BERLIN, u(2026, 1, 1, 9)), "until .* is before"),
    (datetime(2026, 1, 1, 10), u(2026, 1, 1, 11), DAILY_BERLIN, "starts_at must be an aware"),
    (u(2026, 1, 1, 10), u(2026, 1, 1, 11), Recurrence("daily", BERLIN, datetime(2026, 2, 1)), "until must be an aware"),
    # 02:40 CEST (00:40Z) -> 02:20 CET (01:20Z): positive in real time, negative on the wall clock
    (u(2026, 10, 25, 0, 40), u(2026, 10, 25, 1, 20), DAILY_BERLIN, "positive local wall-clock time"),
])
def test_validate_window_rejects(starts_at, ends_at, rec, message):
    with pytest.raises(ValueError, match=message):
        validate_window(starts_at, ends_at, rec)
    with pytest.raises(ValueError, match=message):
        occurrence_at(starts_at, ends_at, rec, u(2026, 6, 1))


@pytest.mark.parametrize("starts_at,ends_at,rec", [
    (u(2026, 1, 1, 10), u(2026, 1, 2, 10), DAILY_BERLIN),
    (u(2026, 1, 1, 10), u(2026, 1, 8, 10), WEEKLY_BERLIN),
    # 23 real hours on the spring-forward day are 24 wall-clock hours
    (u(2026, 3, 28, 23), u(2026, 3, 29, 22), DAILY_BERLIN),
    # 25 real hours on the fall-back day are 24 wall-clock hours: 00:00 CEST -> 00:00 CET
    (u(2026, 10, 24, 22), u(2026, 10, 25, 23), DAILY_BERLIN),
    (u(2026, 1, 1, 10), u(2026, 1, 3, 10), ONCE),
    (u(2026, 1, 1, 10), u(2026, 1, 1, 11), Recurrence("weekly", NEW_YORK, u(2026, 1, 1, 10))),
])
def test_validate_window_accepts(starts_at, ends_at, rec):
    assert validate_window(starts_at, ends_at, rec) is None


def test_naive_now_is_rejected():
    with pytest.raises(ValueError, match="now must be an aware"):
        occurrence_at(*NIGHTLY, DAILY_BERLIN, datetime(2026, 2, 1))
    with pytest.raises(ValueError, match="now must be an aware"):
        next_boundary(*NIGHTLY, DAILY_BERLIN, datetime(2026, 2, 1))


# ---------------------------------------------------------------------------------------------
# Support hours

OFFICE_BERLIN = SupportHours(BERLIN, frozenset({1, 2, 3, 4, 5}), time(9), time(17))
OFFICE_NY = SupportHours(NEW_YORK, frozenset({1, 2, 3, 4, 5}), time(9), time(17))
SUNDAY_EARLY_BERLIN = SupportHours(BERLIN, frozenset({7}), time(2, 30), time(5))
SUNDAY_EARLY_NY = SupportHours(NEW_YORK, frozenset({7}), time(2, 30), time(5))
SUNDAY_NIGHT_BERLIN = SupportHours(BERLIN, frozenset({7}), time(0), time(2, 30))
SUNDAY_IN_GAP_BERLIN = SupportHours(BERLIN, frozenset({7}), time(2, 10), time(2, 50))
MONDAYS_BERLIN = SupportHours(BERLIN, frozenset({1}), time(9), time(17))

SUPPORT_CASES = [
    # id, support hours, now, in support hours?, next support start
    # --- an ordinary week in winter (09:00 CET = 08:00Z, 17:00 CET = 16:00Z)
    ("mon-at-start", OFFICE_BERLIN, u(2026, 11, 30, 8, 0), True, u(2026, 11, 30, 8, 0)),
    ("mon-just-before", OFFICE_BERLIN, u(2026, 11, 30, 7, 59, 59, 999999), False, u(2026, 11, 30, 8, 0)),
    ("mon-early", OFFICE_BERLIN, u(2026, 11, 30, 7, 0), False, u(2026, 11, 30, 8, 0)),
    ("mon-just-before-end", OFFICE_BERLIN, u(2026, 11, 30, 15, 59, 59, 999999), True,
     u(2026, 11, 30, 15, 59, 59, 999999)),
    ("mon-at-end", OFFICE_BERLIN, u(2026, 11, 30, 16, 0), False, u(2026, 12, 1, 8, 0)),
    ("fri-inside", OFFICE_BERLIN, u(2026, 11, 27, 15, 0), True, u(2026, 11, 27, 15, 0)),
    ("fri-at-end", OFFICE_BERLIN, u(2026, 11, 27, 16, 0), False, u(2026, 11, 30, 8, 0)),
    ("fri-evening", OFFICE_BERLIN, u(2026, 11, 27, 17, 0), False, u(2026, 11, 30, 8, 0)),
    ("sat", OFFICE_BERLIN, u(2026, 11, 28, 10, 0), False, u(2026, 11, 30, 8, 0)),
    ("sun", OFFICE_BERLIN, u(2026, 11, 29, 10, 0), False, u(2026, 11, 30, 8, 0)),
    # Sun 23:30Z is already Mon 00:30 CET
    ("sun-late-utc-is-monday", OFFICE_BERLIN, u(2026, 11, 29, 23, 30), False, u(2026, 11, 30, 8, 0)),
    # --- summer (09:00 CEST = 07:00Z)
    ("summer-start", OFFICE_BERLIN, u(2026, 7, 15, 7, 0), True, u(2026, 7, 15, 7, 0)),
    ("summer-before", OFFICE_BERLIN, u(2026, 7, 15, 6, 59), False, u(2026, 7, 15, 7, 0)),
    ("summer-end", OFFICE_BERLIN, u(2026, 7, 15, 15, 0), False, u(2026, 7, 16, 7, 0)),
    # --- Friday evening to Monday across a change: the Monday start moves in UTC
    ("fri-to-mon-spring", OFFICE_BERLIN, u(2026, 3, 27, 17, 0), False, u(2026, 3, 30, 7, 0)),
    ("fri-to-mon-fall", OFFICE_BERLIN, u(2026, 10, 23, 16, 0), False, u(2026, 10, 26, 8, 0)),
    ("ny-fri-to-mon-spring", OFFICE_NY, u(2026, 3, 6, 23, 0), False, u(2026, 3, 9, 13, 0)),
    ("ny-fri-to-mon-fall", OFFICE_NY, u(2026, 10, 30, 22, 0), False, u(2026, 11, 2, 14, 0)),
    ("ny-mon-after-spring", OFFICE_NY, u(2026, 3, 9, 13, 0), True, u(2026, 3, 9, 13, 0)),
    ("ny-fri-before-spring", OFFICE_NY, u(2026, 3, 6, 13, 59), False, u(2026, 3, 6, 14, 0)),
    # --- 02:30 does not exist on Mar 29 in Berlin: hours begin when the gap ends, 03:00 CEST
    ("berlin-gap-before", SUNDAY_EARLY_BERLIN, u(2026, 3, 29, 0, 59, 59), False, u(2026, 3, 29, 1, 0)),
    ("berlin-gap-saturday", SUNDAY_EARLY_BERLIN, u(2026, 3, 28, 12, 0), False, u(2026, 3, 29, 1, 0)),
    ("berlin-gap-start", SUNDAY_EARLY_BERLIN, u(2026, 3, 29, 1, 0), True, u(2026, 3, 29, 1, 0)),
    ("berlin-gap-last", SUNDAY_EARLY_BERLIN, u(2026, 3, 29, 2, 59, 59), True, u(2026, 3, 29, 2, 59, 59)),
    ("berlin-gap-end", SUNDAY_EARLY_BERLIN, u(2026, 3, 29, 3, 0), False, u(2026, 4, 5, 0, 30)),
    # --- 02:30 happens twice on Oct 25 in Berlin: hours begin at the first pass, 02:30 CEST
    ("berlin-fold-before", SUNDAY_EARLY_BERLIN, u(2026, 10, 25, 0, 29), False, u(2026, 10, 25, 0, 30)),
    ("berlin-fold-start", SUNDAY_EARLY_BERLIN, u(2026, 10, 25, 0, 30), True, u(2026, 10, 25, 0, 30)),
    ("berlin-fold-second-pass", SUNDAY_EARLY_BERLIN, u(2026, 10, 25, 1, 15), True, u(2026, 10, 25, 1, 15)),
    ("berlin-fold-last", SUNDAY_EARLY_BERLIN, u(2026, 10, 25, 3, 59), True, u(2026, 10, 25, 3, 59)),
    ("berlin-fold-end", SUNDAY_EARLY_BERLIN, u(2026, 10, 25, 4, 0), False, u(2026, 11, 1, 1, 30)),
    # an end in the fold is its first pass too: 02:30 CEST = 00:30Z, not 02:30 CET
    ("berlin-fold-end-first-pass", SUNDAY_NIGHT_BERLIN, u(2026, 10, 25, 0, 29), True, u(2026, 10, 25, 0, 29)),
    ("berlin-fold-end-at", SUNDAY_NIGHT_BERLIN, u(2026, 10, 25, 0, 30), False, u(2026, 10, 31, 23, 0)),
    ("berlin-fold-end-second-pass", SUNDAY_NIGHT_BERLIN, u(2026, 10, 25, 1, 15), False, u(2026, 10, 31, 23, 0)),
    # hours wholly inside the gap do not happen that day
    ("berlin-gap-whole", SUNDAY_IN_GAP_BERLIN, u(2026, 3, 29, 1, 0), False, u(2026, 4, 5, 0, 10)),
    ("berlin-gap-whole-before", SUNDAY_IN_GAP_BERLIN, u(2026, 3, 28, 12, 0), False, u(2026, 4, 5, 0, 10)),
    # --- New York: 02:30 does not exist on Mar 8 (gap ends 03:00 EDT = 07:00Z)
    ("ny-gap-before", SUNDAY_EARLY_NY, u(2026, 3, 8, 6, 59), False, u(2026, 3, 8, 7, 0)),
    ("ny-gap-early", SUNDAY_EARLY_NY, u(2026, 3, 8, 5, 0), False, u(2026, 3, 8, 7, 0)),
    ("ny-gap-start", SUNDAY_EARLY_NY, u(2026, 3, 8, 7, 0), True, u(2026, 3, 8, 7, 0)),
    ("ny-gap-end", SUNDAY_EARLY_NY, u(2026, 3, 8, 9, 0), False, u(2026, 3, 15, 6, 30)),
    # Nov 1: the fold is 01:00-02:00, so 02:30 EST = 07:30Z is plain
    ("ny-fall-before", SUNDAY_EARLY_NY, u(2026, 11, 1, 7, 29), False, u(2026, 11, 1, 7, 30)),
    ("ny-fall-start", SUNDAY_EARLY_NY, u(2026, 11, 1, 7, 30), True, u(2026, 11, 1, 7, 30)),
    # --- after today's hours on the only day: a week later
    ("mondays-after", MONDAYS_BERLIN, u(2026, 11, 30, 16, 0), False, u(2026, 12, 7, 8, 0)),
]


@pytest.mark.parametrize(
    "sh,now,inside,next_start",
    [case[1:] for case in SUPPORT_CASES],
    ids=[case[0] for case in SUPPORT_CASES],
)
def test_support_hours(sh, now, inside, next_start):
    assert in_support_hours(sh, now) is inside
    got = next_support_start(sh, now)
    assert got == next_start
    assert got.tzinfo is UTC


def test_support_hours_naive_now_is_rejected():
    with pytest.raises(ValueError, match="now must be an aware"):
        in_support_hours(OFFICE_BERLIN, datetime(2026, 11, 30, 9))
    with pytest.raises(ValueError, match="now must be an aware"):
        next_support_start(OFFICE_BERLIN, datetime(2026, 11, 30, 9))


def test_support_hours_parse():
    obj = {"timezone": "Europe/Berlin", "days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}
    sh = SupportHours.parse(obj)
    assert sh == OFFICE_BERLIN
    assert sh.to_dict() == obj
    assert SupportHours.parse({"timezone": NEW_YORK, "days": [7, 6, 6], "start": "00:00", "end": "23:59"}) == \
        SupportHours(NEW_YORK, frozenset({6, 7}), time(0), time(23, 59))


GOOD = {"timezone": "Europe/Berlin", "days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}


@pytest.mark.parametrize("changes,message", [
    ({"timezone": "Europe/Atlantis"}, "unknown time zone 'Europe/Atlantis'"),
    ({"timezone": "europe/berlin"}, "unknown time zone"),
    ({"timezone": 1}, "IANA time zone name"),
    ({"days": []}, "at least one day"),
    ({"days": [0, 1]}, r"ISO weekdays 1 \(Monday\) to 7 \(Sunday\), got \[0\]"),
    ({"days": [1, 8]}, r"got \[8\]"),
    ({"days": "12345"}, "list of ISO weekdays"),
    ({"days": [True]}, "list of ISO weekdays"),
    ({"days": [1.0]}, "list of ISO weekdays"),
    ({"end": "09:00"}, "end after they start"),
    ({"end": "08:00"}, "end after they start"),
    ({"start": "9:00"}, 'start must be a 24-hour "HH:MM"'),
    ({"start": "09:60"}, "start must be"),
    ({"end": "24:00"}, "end must be"),
    ({"end": "17:00:00"}, "end must be"),
    ({"start": 900}, "start must be"),
    ({"start": None}, "start must be"),
    ({"timezone": None, "oops": 1}, "unknown field"),
])
def test_support_hours_parse_rejects(changes, message):
    obj = {**GOOD, **changes}
    with pytest.raises(ValueError, match=message):
        SupportHours.parse(obj)


@pytest.mark.parametrize("obj,message", [
    ("09:00-17:00", "must be an object"),
    ({"timezone": "Europe/Berlin", "days": [1]}, "missing end, start"),
])
def test_support_hours_parse_rejects_shape(obj, message):
    with pytest.raises(ValueError, match=message):
        SupportHours.parse(obj)


def test_support_hours_constructor_validates():
    with pytest.raises(ValueError, match="end after they start"):
        SupportHours(BERLIN, frozenset({1}), time(17), time(9))


# ---------------------------------------------------------------------------------------------
# Silences


@pytest.mark.parametrize("now,expected", [
    (u(2026, 5, 1, 9, 59, 59, 999999), False),
    (u(2026, 5, 1, 10, 0), True),
    (u(2026, 5, 1, 11, 59, 59, 999999), True),
    (u(2026, 5, 1, 12, 0), False),
    # the same instant written in another offset
    (datetime(2026, 5, 1, 13, 0, tzinfo=timezone(timedelta(hours=2))), True),
])
def test_in_range(now, expected):
    assert in_range(u(2026, 5, 1, 10), u(2026, 5, 1, 12), now) is expected


def test_in_range_rejects_naive():
    with pytest.raises(ValueError, match="now must be an aware"):
        in_range(u(2026, 5, 1, 10), u(2026, 5, 1, 12), datetime(2026, 5, 1, 11))


# ---------------------------------------------------------------------------------------------
# Consistency between occurrence_at and next_boundary (not expectations: a cross-check)

WINDOWS = [NIGHTLY, PATCH_NIGHT, SUNDAY_BERLIN, SUNDAY_NY, SUNDAY_0230, SUNDAY_IN_GAP, NIGHTLY_2019]
RECURRENCES = [DAILY_BERLIN, WEEKLY_BERLIN, WEEKLY_NY, Recurrence("weekly", BERLIN, u(2026, 6, 1))]


@settings(max_examples=300, deadline=None)
@given(
    window=st.sampled_from(WINDOWS),
    rec=st.sampled_from(RECURRENCES),
    now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)),
)
def test_state_changes_exactly_at_next_boundary(window, rec, now):
    starts_at, ends_at = window
    active = occurrence_at(starts_at, ends_at, rec, now)
    if active is not None:
        assert active[0] <= now < active[1]
    boundary = next_boundary(starts_at, ends_at, rec, now)
    if boundary is None:
        return
    assert boundary > now
    tick = timedelta(microseconds=1)
    assert (occurrence_at(starts_at, ends_at, rec, boundary - tick) is None) == (active is None)
    assert (occurrence_at(starts_at, ends_at, rec, boundary) is None) != (active is None)


def test_recurrence_kind_takes_the_stored_words() -> None:
    assert [recurrence_kind(k) for k in ("none", "daily", "weekly")] == ["none", "daily", "weekly"]
    with pytest.raises(ValueError, match="recurrence must be one of none, daily, weekly; got 'monthly'"):
        recurrence_kind("monthly")

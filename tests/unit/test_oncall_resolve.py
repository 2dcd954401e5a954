"""On-call resolution: rotations, restrictions, layers, overrides; pure.

Every expected instant below was worked out by hand from the offsets, never with the code
under test. Offsets and changes used (2026):
  America/Chicago   CST -06:00, CDT -05:00; Sun Mar 8 08:00Z 02:00 CST -> 03:00 CDT,
                    Sun Nov 1 07:00Z 02:00 CDT -> 01:00 CST (01:00-01:59 happens twice).
  Europe/Berlin     CET +01:00, CEST +02:00; Sun Mar 29 01:00Z 02:00 CET -> 03:00 CEST,
                    Sun Oct 25 01:00Z 03:00 CEST -> 02:00 CET.
  Australia/Sydney  AEDT +11:00, AEST +10:00; Sun Apr 5 (Apr 4 16:00Z) 03:00 AEDT -> 02:00 AEST,
                    Sun Oct 4 (Oct 3 16:00Z) 02:00 AEST -> 03:00 AEDT.
Weekdays: 2019-01-07, 2026-01-05, 2026-01-12, 2026-03-02, 2026-03-23, 2026-03-30, 2026-09-28,
2026-10-19 and 2026-10-26 are Mondays; 2026-01-09 and 2026-03-27 Fridays; 2026-03-07 and
2026-10-31 Saturdays.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from tocsin.oncall.resolve import (
    Layer,
    Override,
    Restriction,
    Rotation,
    Shift,
    final_shifts,
    layer_shifts,
    on_call_at,
    rotation_kind,
    validate_restriction,
    validate_rotation,
)

CHICAGO, BERLIN, SYDNEY = "America/Chicago", "Europe/Berlin", "Australia/Sydney"
ALL_DAYS = frozenset(range(1, 8))
WEEKDAYS = frozenset(range(1, 6))
US = timedelta(microseconds=1)


def u(*args: int) -> datetime:
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)


def rot(kind: str, tz: str, start: datetime, people: str | list[str] = "abc", hours: float = 24) -> Rotation:
    """A rotation; `people` as a string means one single-letter user id per character."""
    return Rotation(kind, tz, start, tuple(people), hours)  # type: ignore[arg-type]


def layer(rotation: Rotation, *restrictions: Restriction, name: str = "L") -> Layer:
    return Layer(name, rotation, tuple(restrictions))


def window(days: frozenset[int], start: str, end: str) -> Restriction:
    return Restriction(days, time.fromisoformat(start), time.fromisoformat(end))


def triples(shifts: list[Shift]) -> list[tuple[str, datetime, datetime]]:
    for s in shifts:
        assert s.start.tzinfo is UTC and s.end.tzinfo is UTC
    return [(s.user, s.start, s.end) for s in shifts]


def quads(shifts: list[Shift]) -> list[tuple[str, datetime, datetime, str]]:
    for s in shifts:
        assert s.start.tzinfo is UTC and s.end.tzinfo is UTC
    return [(s.user, s.start, s.end, s.source) for s in shifts]


# ---------------------------------------------------------------------------------------------
# Daily and weekly rotations over daylight-saving changes

# (rotation, query start, query end, expected (user, start, end), real hours of each full shift)
DST_CASES = {
    # Fri Mar 6 09:00 CST = 15:00Z. Sat's shift ends Sun 09:00 CDT = 14:00Z: 23 h.
    "chicago-daily-spring": (
        rot("daily", CHICAGO, u(2026, 3, 6, 15)), u(2026, 3, 6, 15), u(2026, 3, 9, 14),
        [("a", u(2026, 3, 6, 15), u(2026, 3, 7, 15)),
         ("b", u(2026, 3, 7, 15), u(2026, 3, 8, 14)),
         ("c", u(2026, 3, 8, 14), u(2026, 3, 9, 14))],
        [24, 23, 24],
    ),
    # Sat Oct 31 09:00 CDT = 14:00Z -> Sun Nov 1 09:00 CST = 15:00Z: 25 h.
    "chicago-daily-fall": (
        rot("daily", CHICAGO, u(2026, 10, 31, 14)), u(2026, 10, 31, 14), u(2026, 11, 2, 15),
        [("a", u(2026, 10, 31, 14), u(2026, 11, 1, 15)),
         ("b", u(2026, 11, 1, 15), u(2026, 11, 2, 15))],
        [25, 24],
    ),
    # Sat Mar 28 08:00 CET = 07:00Z -> Sun 08:00 CEST = 06:00Z: 23 h.
    "berlin-daily-spring": (
        rot("daily", BERLIN, u(2026, 3, 28, 7)), u(2026, 3, 28, 7), u(2026, 3, 30, 6),
        [("a", u(2026, 3, 28, 7), u(2026, 3, 29, 6)),
         ("b", u(2026, 3, 29, 6), u(2026, 3, 30, 6))],
        [23, 24],
    ),
    # Sat Oct 24 08:00 CEST = 06:00Z -> Sun 08:00 CET = 07:00Z: 25 h.
    "berlin-daily-fall": (
        rot("daily", BERLIN, u(2026, 10, 24, 6)), u(2026, 10, 24, 6), u(2026, 10, 26, 7),
        [("a", u(2026, 10, 24, 6), u(2026, 10, 25, 7)),
         ("b", u(2026, 10, 25, 7), u(2026, 10, 26, 7))],
        [25, 24],
    ),
    # Sat Apr 4 09:00 AEDT = Apr 3 22:00Z -> Sun Apr 5 09:00 AEST = Apr 4 23:00Z: 25 h.
    "sydney-daily-dst-ends": (
        rot("daily", SYDNEY, u(2026, 4, 3, 22)), u(2026, 4, 3, 22), u(2026, 4, 5, 23),
        [("a", u(2026, 4, 3, 22), u(2026, 4, 4, 23)),
         ("b", u(2026, 4, 4, 23), u(2026, 4, 5, 23))],
        [25, 24],
    ),
    # Sat Oct 3 09:00 AEST = Oct 2 23:00Z -> Sun Oct 4 09:00 AEDT = Oct 3 22:00Z: 23 h.
    "sydney-daily-dst-starts": (
        rot("daily", SYDNEY, u(2026, 10, 2, 23)), u(2026, 10, 2, 23), u(2026, 10, 4, 22),
        [("a", u(2026, 10, 2, 23), u(2026, 10, 3, 22)),
         ("b", u(2026, 10, 3, 22), u(2026, 10, 4, 22))],
        [23, 24],
    ),
    # Mon Mar 2 09:00 CST = 15:00Z -> Mon Mar 9 09:00 CDT = 14:00Z: 167 h.
    "chicago-weekly-spring": (
        rot("weekly", CHICAGO, u(2026, 3, 2, 15)), u(2026, 3, 2, 15), u(2026, 3, 16, 14),
        [("a", u(2026, 3, 2, 15), u(2026, 3, 9, 14)),
         ("b", u(2026, 3, 9, 14), u(2026, 3, 16, 14))],
        [167, 168],
    ),
    # Mon Oct 26 09:00 CDT = 14:00Z -> Mon Nov 2 09:00 CST = 15:00Z: 169 h.
    "chicago-weekly-fall": (
        rot("weekly", CHICAGO, u(2026, 10, 26, 14)), u(2026, 10, 26, 14), u(2026, 11, 9, 15),
        [("a", u(2026, 10, 26, 14), u(2026, 11, 2, 15)),
         ("b", u(2026, 11, 2, 15), u(2026, 11, 9, 15))],
        [169, 168],
    ),
    # Mon Mar 23 09:00 CET = 08:00Z -> Mon Mar 30 09:00 CEST = 07:00Z: 167 h.
    "berlin-weekly-spring": (
        rot("weekly", BERLIN, u(2026, 3, 23, 8)), u(2026, 3, 23, 8), u(2026, 4, 6, 7),
        [("a", u(2026, 3, 23, 8), u(2026, 3, 30, 7)),
         ("b", u(2026, 3, 30, 7), u(2026, 4, 6, 7))],
        [167, 168],
    ),
    # Mon Oct 19 09:00 CEST = 07:00Z -> Mon Oct 26 09:00 CET = 08:00Z: 169 h.
    "berlin-weekly-fall": (
        rot("weekly", BERLIN, u(2026, 10, 19, 7)), u(2026, 10, 19, 7), u(2026, 11, 2, 8),
        [("a", u(2026, 10, 19, 7), u(2026, 10, 26, 8)),
         ("b", u(2026, 10, 26, 8), u(2026, 11, 2, 8))],
        [169, 168],
    ),
    # Mon Mar 30 09:00 AEDT = Mar 29 22:00Z -> Mon Apr 6 09:00 AEST = Apr 5 23:00Z: 169 h.
    "sydney-weekly-dst-ends": (
        rot("weekly", SYDNEY, u(2026, 3, 29, 22)), u(2026, 3, 29, 22), u(2026, 4, 12, 23),
        [("a", u(2026, 3, 29, 22), u(2026, 4, 5, 23)),
         ("b", u(2026, 4, 5, 23), u(2026, 4, 12, 23))],
        [169, 168],
    ),
    # Mon Sep 28 09:00 AEST = Sep 27 23:00Z -> Mon Oct 5 09:00 AEDT = Oct 4 22:00Z: 167 h.
    "sydney-weekly-dst-starts": (
        rot("weekly", SYDNEY, u(2026, 9, 27, 23)), u(2026, 9, 27, 23), u(2026, 10, 11, 22),
        [("a", u(2026, 9, 27, 23), u(2026, 10, 4, 22)),
         ("b", u(2026, 10, 4, 22), u(2026, 10, 11, 22))],
        [167, 168],
    ),
    # Handoff at 02:30, which does not exist in Chicago on Mar 8: it happens at the first
    # instant after the gap, 03:00 CDT = 08:00Z. Sat 02:30 CST = 08:30Z, Mon 02:30 CDT = 07:30Z.
    "chicago-daily-handoff-in-gap": (
        rot("daily", CHICAGO, u(2026, 3, 7, 8, 30)), u(2026, 3, 7, 8, 30), u(2026, 3, 9, 7, 30),
        [("a", u(2026, 3, 7, 8, 30), u(2026, 3, 8, 8)),
         ("b", u(2026, 3, 8, 8), u(2026, 3, 9, 7, 30))],
        [23.5, 23.5],
    ),
    # Handoff at 01:30, which happens twice in Chicago on Nov 1: the first pass, 01:30 CDT.
    # Sat 01:30 CDT = 06:30Z, Sun 01:30 CDT = 06:30Z, Mon 01:30 CST = 07:30Z.
    "chicago-daily-handoff-in-fold": (
        rot("daily", CHICAGO, u(2026, 10, 31, 6, 30)), u(2026, 10, 31, 6, 30), u(2026, 11, 2, 7, 30),
        [("a", u(2026, 10, 31, 6, 30), u(2026, 11, 1, 6, 30)),
         ("b", u(2026, 11, 1, 6, 30), u(2026, 11, 2, 7, 30))],
        [24, 25],
    ),
    # Handoff at 02:30 Berlin: Sat 02:30 CET = 01:30Z; Sun the gap ends 03:00 CEST = 01:00Z;
    # Mon 02:30 CEST = 00:30Z.
    "berlin-daily-handoff-in-gap": (
        rot("daily", BERLIN, u(2026, 3, 28, 1, 30)), u(2026, 3, 28, 1, 30), u(2026, 3, 30, 0, 30),
        [("a", u(2026, 3, 28, 1, 30), u(2026, 3, 29, 1)),
         ("b", u(2026, 3, 29, 1), u(2026, 3, 30, 0, 30))],
        [23.5, 23.5],
    ),
}


@pytest.mark.parametrize(("rotation", "start", "end", "expected", "hours"), DST_CASES.values(), ids=DST_CASES.keys())
def test_rotation_over_dst_keeps_local_handoff(
    rotation: Rotation, start: datetime, end: datetime, expected: list, hours: list[float]
) -> None:
    got = triples(layer_shifts(layer(rotation), start, end))
    assert got == expected
    assert [(e - s) / timedelta(hours=1) for _, s, e in got] == hours
    # No gap and no double: each shift starts where the previous one ended.
    assert all(prev[2] == nxt[1] for prev, nxt in pairwise(got))
    assert triples(final_shifts([layer(rotation)], [], start, end)) == expected


def test_handoffs_stay_at_local_wall_time() -> None:
    # Daily 09:00 Chicago through both 2026 changes: every handoff reads 09:00 locally.
    shifts = layer_shifts(layer(rot("daily", CHICAGO, u(2026, 1, 5, 15))), u(2026, 1, 5, 15), u(2027, 1, 1))
    tz = ZoneInfo(CHICAGO)
    assert {s.start.astimezone(tz).time() for s in shifts} == {time(9)}
    assert [s.user for s in shifts[:4]] == ["a", "b", "c", "a"]
    assert all(prev.end == nxt.start for prev, nxt in pairwise(shifts))


@pytest.mark.parametrize(
    ("rotation", "start", "end", "expected"),
    [
        # Sat Mar 28 20:00 CET = 19:00Z; every shift 12 real hours, so locally the handoff moves
        # from 08:00/20:00 CET to 09:00/21:00 CEST.
        (rot("custom", BERLIN, u(2026, 3, 28, 19), "ab", 12), u(2026, 3, 28, 19), u(2026, 3, 30, 7),
         [("a", u(2026, 3, 28, 19), u(2026, 3, 29, 7)),
          ("b", u(2026, 3, 29, 7), u(2026, 3, 29, 19)),
          ("a", u(2026, 3, 29, 19), u(2026, 3, 30, 7))]),
        # Sat Oct 31 20:00 CDT = Nov 1 01:00Z, over the Chicago fall-back night.
        (rot("custom", CHICAGO, u(2026, 11, 1, 1), "ab", 12), u(2026, 11, 1, 1), u(2026, 11, 2, 1),
         [("a", u(2026, 11, 1, 1), u(2026, 11, 1, 13)),
          ("b", u(2026, 11, 1, 13), u(2026, 11, 2, 1))]),
        # Sat Apr 4 20:00 AEDT = 09:00Z, over the Sydney DST end.
        (rot("custom", SYDNEY, u(2026, 4, 4, 9), "ab", 12), u(2026, 4, 4, 9), u(2026, 4, 5, 9),
         [("a", u(2026, 4, 4, 9), u(2026, 4, 4, 21)),
          ("b", u(2026, 4, 4, 21), u(2026, 4, 5, 9))]),
    ],
    ids=["berlin-spring", "chicago-fall", "sydney-autumn"],
)
def test_custom_rotation_is_fixed_real_time(rotation: Rotation, start: datetime, end: datetime, expected: list) -> None:
    assert triples(layer_shifts(layer(rotation), start, end)) == expected


# ---------------------------------------------------------------------------------------------
# Old rotations: the index is computed, and must be right


@pytest.mark.parametrize(
    ("rotation", "start", "end", "expected"),
    [
        # Daily 09:00 Chicago from Mon 2019-01-07 (15:00Z). 2019-01-07 -> 2026-01-07 is
        # 7*365 + 2 (2020, 2024) = 2557 days; -> 2026-03-08 is 24 + 28 + 8 = 60 more: 2617.
        # Shift 2617 (2617 % 3 = 1, "b") starts Sun Mar 8 09:00 CDT = 14:00Z; shift 2616 ("a")
        # started Sat 09:00 CST = 15:00Z.
        (rot("daily", CHICAGO, u(2019, 1, 7, 15)), u(2026, 3, 8), u(2026, 3, 9),
         [("a", u(2026, 3, 8), u(2026, 3, 8, 14)), ("b", u(2026, 3, 8, 14), u(2026, 3, 9))]),
        # Weekly Mon 09:00 Berlin from 2019-01-07 (08:00Z), four people. Mon 2026-03-30 is
        # 2617 + 22 = 2639 days = 377 weeks later: 377 % 4 = 1, "b", from 09:00 CEST = 07:00Z;
        # shift 376 ("a") runs until then.
        (rot("weekly", BERLIN, u(2019, 1, 7, 8), "abcd"), u(2026, 3, 29), u(2026, 3, 31),
         [("a", u(2026, 3, 29), u(2026, 3, 30, 7)), ("b", u(2026, 3, 30, 7), u(2026, 3, 31))]),
        # Custom 8 h from 2019-01-01 00:00Z, five people. 2026-01-01 is 2557 days = 7671 shifts
        # later: 7671 % 5 = 1, "b"; then "c".
        (rot("custom", "UTC", u(2019, 1, 1), "abcde", 8), u(2026, 1, 1), u(2026, 1, 1, 16),
         [("b", u(2026, 1, 1), u(2026, 1, 1, 8)), ("c", u(2026, 1, 1, 8), u(2026, 1, 1, 16))]),
    ],
    ids=["daily-2019", "weekly-2019", "custom-2019"],
)
def test_rotation_started_years_ago(rotation: Rotation, start: datetime, end: datetime, expected: list) -> None:
    assert triples(layer_shifts(layer(rotation), start, end)) == expected


def test_old_rotation_on_call_at() -> None:
    daily_2019 = layer(rot("daily", CHICAGO, u(2019, 1, 7, 15)))
    assert on_call_at([daily_2019], [], u(2026, 3, 8, 14)) == Shift("b", u(2026, 3, 8, 14), u(2026, 3, 9, 14), "L")


def test_nobody_before_rotation_start() -> None:
    later = layer(rot("daily", "UTC", u(2026, 6, 1, 12)))
    assert triples(layer_shifts(later, u(2026, 6, 1), u(2026, 6, 2))) == [("a", u(2026, 6, 1, 12), u(2026, 6, 2))]
    assert layer_shifts(later, u(2026, 5, 1), u(2026, 6, 1, 12)) == []
    assert on_call_at([later], [], u(2026, 6, 1, 11, 59)) is None


# ---------------------------------------------------------------------------------------------
# Restrictions

# Daily 09:00 Berlin from Mon 2026-01-05 (08:00Z), a/b alternating: day index k = days since
# Jan 5, even "a", odd "b". Fri Jan 9 k=4 a; Mon Jan 12 k=7 b; Fri Mar 27 k=26+28+27=81 b;
# Mon Mar 30 k=84 a.
BERLIN_0900 = rot("daily", BERLIN, u(2026, 1, 5, 8), "ab")
# Daily 00:00 Chicago from Mon 2026-01-05 (06:00Z), a/b: Fri Jan 9 k=4 a, Sat Jan 10 k=5 b;
# Sat Mar 7 k=61 b, Sun Mar 8 k=62 a (from 00:00 CST = 06:00Z); Sat Oct 31 k=299 b, Sun Nov 1
# k=300 a (from 00:00 CDT = 05:00Z).
CHICAGO_0000 = rot("daily", CHICAGO, u(2026, 1, 5, 6), "ab")


@pytest.mark.parametrize(
    ("lay", "start", "end", "expected"),
    [
        # Weekdays 09:00-17:00 CET = 08:00-16:00Z; the weekend is empty.
        (layer(BERLIN_0900, window(WEEKDAYS, "09:00", "17:00")), u(2026, 1, 9), u(2026, 1, 13),
         [("a", u(2026, 1, 9, 8), u(2026, 1, 9, 16)), ("b", u(2026, 1, 12, 8), u(2026, 1, 12, 16))]),
        # The same over the Berlin spring change: Friday in CET, Monday in CEST (07:00-15:00Z).
        (layer(BERLIN_0900, window(WEEKDAYS, "09:00", "17:00")), u(2026, 3, 27), u(2026, 3, 31),
         [("b", u(2026, 3, 27, 8), u(2026, 3, 27, 16)), ("a", u(2026, 3, 30, 7), u(2026, 3, 30, 15))]),
        # Friday nights only, 22:00-06:00: Fri Jan 9 22:00 CST = Jan 10 04:00Z to 12:00Z; the
        # midnight handoff (06:00Z) splits it. The window belongs to Friday, so Thursday night
        # and Saturday night are empty.
        (layer(CHICAGO_0000, window(frozenset({5}), "22:00", "06:00")), u(2026, 1, 8), u(2026, 1, 12),
         [("a", u(2026, 1, 10, 4), u(2026, 1, 10, 6)), ("b", u(2026, 1, 10, 6), u(2026, 1, 10, 12))]),
        # Saturday night over the spring change: Sat 22:00 CST = 04:00Z to Sun 06:00 CDT = 11:00Z,
        # 7 real hours.
        (layer(CHICAGO_0000, window(frozenset({6}), "22:00", "06:00")), u(2026, 3, 7), u(2026, 3, 9),
         [("b", u(2026, 3, 8, 4), u(2026, 3, 8, 6)), ("a", u(2026, 3, 8, 6), u(2026, 3, 8, 11))]),
        # Saturday night over the fall change: Sat 22:00 CDT = Nov 1 03:00Z to Sun 06:00 CST =
        # 12:00Z, 9 real hours; midnight CDT = 05:00Z hands off.
        (layer(CHICAGO_0000, window(frozenset({6}), "22:00", "06:00")), u(2026, 10, 31), u(2026, 11, 2),
         [("b", u(2026, 11, 1, 3), u(2026, 11, 1, 5)), ("a", u(2026, 11, 1, 5), u(2026, 11, 1, 12))]),
        # The query starts inside a window: only the inside part is returned.
        (layer(BERLIN_0900, window(WEEKDAYS, "09:00", "17:00")), u(2026, 1, 9, 12), u(2026, 1, 12, 10),
         [("a", u(2026, 1, 9, 12), u(2026, 1, 9, 16)), ("b", u(2026, 1, 12, 8), u(2026, 1, 12, 10))]),
        # end == start: a whole local day (Wed Jan 7 00:00 CET = Jan 6 23:00Z), split by the 09:00 handoff.
        (layer(rot("daily", BERLIN, u(2026, 1, 5, 8), "a"), window(frozenset({3}), "00:00", "00:00")),
         u(2026, 1, 5), u(2026, 1, 12),
         [("a", u(2026, 1, 6, 23), u(2026, 1, 7, 8)), ("a", u(2026, 1, 7, 8), u(2026, 1, 7, 23))]),
    ],
    ids=["weekdays", "weekdays-dst", "overnight", "overnight-spring", "overnight-fall", "clipped", "full-day"],
)
def test_restrictions(lay: Layer, start: datetime, end: datetime, expected: list) -> None:
    assert triples(layer_shifts(lay, start, end)) == expected


def test_restriction_with_two_windows_a_day() -> None:
    # Mon Jan 12: 08:00-12:00 and 12:00-13:00 join; 14:00-15:00 stays apart (CET).
    lay = layer(rot("daily", BERLIN, u(2026, 1, 5, 7), "a"),
                window(frozenset({1}), "08:00", "12:00"), window(frozenset({1}), "12:00", "13:00"),
                window(frozenset({1}), "14:00", "15:00"))
    assert triples(layer_shifts(lay, u(2026, 1, 12), u(2026, 1, 13))) == [
        ("a", u(2026, 1, 12, 7), u(2026, 1, 12, 12)),
        ("a", u(2026, 1, 12, 13), u(2026, 1, 12, 14)),
    ]


# Follow the sun: EMEA 08:00-20:00 Berlin, AMER 08:00-20:00 Chicago, a backstop underneath.
DAYTIME = (window(ALL_DAYS, "08:00", "20:00"),)
EMEA = Layer("emea", rot("daily", BERLIN, u(2026, 1, 5, 7), ["eu1"]), DAYTIME)
AMER = Layer("amer", rot("daily", CHICAGO, u(2026, 1, 5, 14), ["us1"]), DAYTIME)
BACKSTOP = Layer("backstop", rot("daily", "UTC", u(2026, 1, 1), ["mgr"]))


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # Winter: Berlin 07:00-19:00Z, Chicago 14:00-02:00Z. AMER (later) wins the overlap;
        # 02:00-07:00Z nobody.
        (u(2026, 1, 12), [("us1", u(2026, 1, 12), u(2026, 1, 12, 2), "amer"),
                          ("eu1", u(2026, 1, 12, 7), u(2026, 1, 12, 14), "emea"),
                          ("us1", u(2026, 1, 12, 14), u(2026, 1, 13), "amer")]),
        # Between the US and EU changes: Chicago CDT 13:00-01:00Z, Berlin still CET 07:00-19:00Z.
        (u(2026, 3, 10), [("us1", u(2026, 3, 10), u(2026, 3, 10, 1), "amer"),
                          ("eu1", u(2026, 3, 10, 7), u(2026, 3, 10, 13), "emea"),
                          ("us1", u(2026, 3, 10, 13), u(2026, 3, 11), "amer")]),
        # Both on summer time: Berlin CEST 06:00-18:00Z, Chicago CDT 13:00-01:00Z.
        (u(2026, 4, 1), [("us1", u(2026, 4, 1), u(2026, 4, 1, 1), "amer"),
                         ("eu1", u(2026, 4, 1, 6), u(2026, 4, 1, 13), "emea"),
                         ("us1", u(2026, 4, 1, 13), u(2026, 4, 2), "amer")]),
    ],
    ids=["winter", "between-changes", "summer"],
)
def test_follow_the_sun(day: datetime, expected: list) -> None:
    assert quads(final_shifts([EMEA, AMER], [], day, day + timedelta(days=1))) == expected
    # With a backstop underneath, the gap falls through to it.
    backed = quads(final_shifts([BACKSTOP, EMEA, AMER], [], day, day + timedelta(days=1)))
    gap = ("mgr", expected[0][2], expected[1][1], "backstop")
    assert backed == [expected[0], gap, *expected[1:]]


def test_follow_the_sun_gap_on_call_at() -> None:
    assert on_call_at([EMEA, AMER], [], u(2026, 1, 12, 4)) is None
    assert on_call_at([BACKSTOP, EMEA, AMER], [], u(2026, 1, 12, 4)) == Shift(
        "mgr", u(2026, 1, 12, 2), u(2026, 1, 12, 7), "backstop"
    )
    assert on_call_at([BACKSTOP, EMEA, AMER], [], u(2026, 1, 12, 10)) == Shift(
        "eu1", u(2026, 1, 12, 7), u(2026, 1, 12, 14), "emea"
    )


# ---------------------------------------------------------------------------------------------
# Layers

# Daily UTC from Mon 2026-06-01: a on Jun 1, b on Jun 2.
BASE = Layer("base", rot("daily", "UTC", u(2026, 6, 1), "ab"))
DAY, MID = u(2026, 6, 1), u(2026, 6, 3)


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ([], []),
        ([BASE], [("a", u(2026, 6, 1), u(2026, 6, 2), "base"), ("b", u(2026, 6, 2), MID, "base")]),
        # A day layer on top: it wins 09-17, the base shows through outside.
        ([BASE, Layer("day", rot("daily", "UTC", u(2026, 6, 1), "x"), (window(ALL_DAYS, "09:00", "17:00"),))],
         [("a", u(2026, 6, 1), u(2026, 6, 1, 9), "base"), ("x", u(2026, 6, 1, 9), u(2026, 6, 1, 17), "day"),
          ("a", u(2026, 6, 1, 17), u(2026, 6, 2), "base"), ("b", u(2026, 6, 2), u(2026, 6, 2, 9), "base"),
          ("x", u(2026, 6, 2, 9), u(2026, 6, 2, 17), "day"), ("b", u(2026, 6, 2, 17), MID, "base")]),
        # Order matters: the same day layer underneath is hidden entirely.
        ([Layer("day", rot("daily", "UTC", u(2026, 6, 1), "x"), (window(ALL_DAYS, "09:00", "17:00"),)), BASE],
         [("a", u(2026, 6, 1), u(2026, 6, 2), "base"), ("b", u(2026, 6, 2), MID, "base")]),
        # An empty layer on top has nobody anywhere: the base shows through.
        ([BASE, Layer("empty", rot("daily", "UTC", u(2026, 6, 1), ""))],
         [("a", u(2026, 6, 1), u(2026, 6, 2), "base"), ("b", u(2026, 6, 2), MID, "base")]),
        # A layer on top that starts later: the base until then.
        ([BASE, Layer("new", rot("weekly", "UTC", u(2026, 6, 2, 12), "y"))],
         [("a", u(2026, 6, 1), u(2026, 6, 2), "base"), ("b", u(2026, 6, 2), u(2026, 6, 2, 12), "base"),
          ("y", u(2026, 6, 2, 12), MID, "new")]),
        # One participant: the daily handoffs merge into one shift.
        ([Layer("solo", rot("daily", "UTC", u(2026, 6, 1), "s"))], [("s", DAY, MID, "solo")]),
        # The same user in two layers is not merged across sources.
        ([Layer("base", rot("daily", "UTC", u(2026, 6, 1), "a")),
          Layer("day", rot("daily", "UTC", u(2026, 6, 1), "a"), (window(frozenset({1}), "09:00", "17:00"),))],
         [("a", DAY, u(2026, 6, 1, 9), "base"), ("a", u(2026, 6, 1, 9), u(2026, 6, 1, 17), "day"),
          ("a", u(2026, 6, 1, 17), MID, "base")]),
    ],
    ids=["none", "base", "day-on-top", "day-underneath", "empty-on-top", "later-start", "solo-merged", "same-user"],
)
def test_layer_precedence(layers: list[Layer], expected: list) -> None:
    assert quads(final_shifts(layers, [], DAY, MID)) == expected


def test_layer_shifts_keep_handoffs_and_empty_layer() -> None:
    solo = Layer("solo", rot("daily", "UTC", u(2026, 6, 1), "s"))
    assert triples(layer_shifts(solo, DAY, MID)) == [("s", DAY, u(2026, 6, 2)), ("s", u(2026, 6, 2), MID)]
    assert layer_shifts(Layer("empty", rot("daily", "UTC", u(2026, 6, 1), "")), DAY, MID) == []


# ---------------------------------------------------------------------------------------------
# Overrides (over BASE: a on Jun 1, b on Jun 2)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # A full override across the handoff.
        ([Override("o", u(2026, 6, 1, 20), u(2026, 6, 2, 4))],
         [("a", DAY, u(2026, 6, 1, 20), "base"), ("o", u(2026, 6, 1, 20), u(2026, 6, 2, 4), "override"),
          ("b", u(2026, 6, 2, 4), MID, "base")]),
        # replaces="b": only the part where b is on.
        ([Override("o", u(2026, 6, 1, 12), u(2026, 6, 2, 12), replaces="b")],
         [("a", DAY, u(2026, 6, 2), "base"), ("o", u(2026, 6, 2), u(2026, 6, 2, 12), "override"),
          ("b", u(2026, 6, 2, 12), MID, "base")]),
        # replaces someone who is not on call: nothing changes.
        ([Override("o", u(2026, 6, 1, 12), u(2026, 6, 2, 12), replaces="zed")],
         [("a", DAY, u(2026, 6, 2), "base"), ("b", u(2026, 6, 2), MID, "base")]),
        # Overlapping overrides: the later one in the list wins.
        ([Override("o1", u(2026, 6, 1, 10), u(2026, 6, 1, 14)), Override("o2", u(2026, 6, 1, 12), u(2026, 6, 1, 16))],
         [("a", DAY, u(2026, 6, 1, 10), "base"), ("o1", u(2026, 6, 1, 10), u(2026, 6, 1, 12), "override"),
          ("o2", u(2026, 6, 1, 12), u(2026, 6, 1, 16), "override"), ("a", u(2026, 6, 1, 16), u(2026, 6, 2), "base"),
          ("b", u(2026, 6, 2), MID, "base")]),
        # Chained: c covers a, then d covers part of c's cover.
        ([Override("c", u(2026, 6, 1, 10), u(2026, 6, 1, 20), replaces="a"),
          Override("d", u(2026, 6, 1, 12), u(2026, 6, 1, 14), replaces="c")],
         [("a", DAY, u(2026, 6, 1, 10), "base"), ("c", u(2026, 6, 1, 10), u(2026, 6, 1, 12), "override"),
          ("d", u(2026, 6, 1, 12), u(2026, 6, 1, 14), "override"),
          ("c", u(2026, 6, 1, 14), u(2026, 6, 1, 20), "override"),
          ("a", u(2026, 6, 1, 20), u(2026, 6, 2), "base"), ("b", u(2026, 6, 2), MID, "base")]),
        # Touching overrides for the same user merge; one partly outside the range is clipped;
        # one wholly outside is ignored.
        ([Override("o", u(2026, 6, 1, 10), u(2026, 6, 1, 12)), Override("o", u(2026, 6, 1, 12), u(2026, 6, 1, 14)),
          Override("p", u(2026, 6, 2, 20), u(2026, 6, 4)), Override("q", u(2026, 6, 5), u(2026, 6, 6))],
         [("a", DAY, u(2026, 6, 1, 10), "base"), ("o", u(2026, 6, 1, 10), u(2026, 6, 1, 14), "override"),
          ("a", u(2026, 6, 1, 14), u(2026, 6, 2), "base"), ("b", u(2026, 6, 2), u(2026, 6, 2, 20), "base"),
          ("p", u(2026, 6, 2, 20), MID, "override")]),
        # An override's aware non-UTC bounds are read as instants: 14:00+02:00 = 12:00Z.
        ([Override("o", datetime(2026, 6, 1, 14, tzinfo=ZoneInfo(BERLIN)), u(2026, 6, 1, 13))],
         [("a", DAY, u(2026, 6, 1, 12), "base"), ("o", u(2026, 6, 1, 12), u(2026, 6, 1, 13), "override"),
          ("a", u(2026, 6, 1, 13), u(2026, 6, 2), "base"), ("b", u(2026, 6, 2), MID, "base")]),
    ],
    ids=["full", "replaces", "replaces-absent", "overlap", "chained", "merge-clip", "non-utc"],
)
def test_overrides(overrides: list[Override], expected: list) -> None:
    assert quads(final_shifts([BASE], overrides, DAY, MID)) == expected


def test_override_where_nobody_is_on() -> None:
    nights = Layer("nights", rot("daily", "UTC", u(2026, 6, 1), "n"), (window(ALL_DAYS, "20:00", "08:00"),))
    full = Override("o", u(2026, 6, 1, 10), u(2026, 6, 1, 12))
    swap = Override("s", u(2026, 6, 1, 10), u(2026, 6, 1, 12), replaces="n")
    start, end = u(2026, 6, 1, 8), u(2026, 6, 1, 20)
    expected = [("o", u(2026, 6, 1, 10), u(2026, 6, 1, 12), "override")]
    assert quads(final_shifts([nights], [full], start, end)) == expected
    assert final_shifts([nights], [swap], start, end) == []


# ---------------------------------------------------------------------------------------------
# on_call_at

CHICAGO_SPRING = layer(DST_CASES["chicago-daily-spring"][0])


@pytest.mark.parametrize(
    ("layers", "overrides", "at", "expected"),
    [
        # The new person is on at the handoff instant (Sun Mar 8 09:00 CDT = 14:00Z) ...
        ([CHICAGO_SPRING], [], u(2026, 3, 8, 14), Shift("c", u(2026, 3, 8, 14), u(2026, 3, 9, 14), "L")),
        # ... and the old one until just before it.
        ([CHICAGO_SPRING], [], u(2026, 3, 8, 14) - US, Shift("b", u(2026, 3, 7, 15), u(2026, 3, 8, 14), "L")),
        # The very first handoff, and just before it: nobody.
        ([CHICAGO_SPRING], [], u(2026, 3, 6, 15), Shift("a", u(2026, 3, 6, 15), u(2026, 3, 7, 15), "L")),
        ([CHICAGO_SPRING], [], u(2026, 3, 6, 15) - US, None),
        # A non-UTC `at`: 2026-03-08 09:00 CDT.
        ([CHICAGO_SPRING], [], datetime(2026, 3, 8, 9, tzinfo=ZoneInfo(CHICAGO)),
         Shift("c", u(2026, 3, 8, 14), u(2026, 3, 9, 14), "L")),
        # Restriction window boundaries: on at 09:00 CET (08:00Z), off at 17:00 (16:00Z).
        ([layer(BERLIN_0900, window(WEEKDAYS, "09:00", "17:00"))], [], u(2026, 1, 9, 8),
         Shift("a", u(2026, 1, 9, 8), u(2026, 1, 9, 16), "L")),
        ([layer(BERLIN_0900, window(WEEKDAYS, "09:00", "17:00"))], [], u(2026, 1, 9, 16), None),
        # An override: on at its start, off at its end.
        ([BASE], [Override("o", u(2026, 6, 1, 10), u(2026, 6, 1, 12))], u(2026, 6, 1, 10),
         Shift("o", u(2026, 6, 1, 10), u(2026, 6, 1, 12), "override")),
        ([BASE], [Override("o", u(2026, 6, 1, 10), u(2026, 6, 1, 12))], u(2026, 6, 1, 12),
         Shift("a", u(2026, 6, 1, 12), u(2026, 6, 2), "base")),
        # An override with nobody underneath, and none at all.
        ([], [Override("o", u(2026, 6, 1, 10), u(2026, 6, 1, 12))], u(2026, 6, 1, 11),
         Shift("o", u(2026, 6, 1, 10), u(2026, 6, 1, 12), "override")),
        ([], [], u(2026, 6, 1, 11), None),
    ],
    ids=["handoff", "before-handoff", "first", "before-first", "non-utc", "window-opens", "window-closes",
         "override-starts", "override-ends", "override-alone", "nothing"],
)
def test_on_call_at(layers: list[Layer], overrides: list[Override], at: datetime, expected: Shift | None) -> None:
    got = on_call_at(layers, overrides, at)
    assert got == expected
    if got is not None:
        assert got.start.tzinfo is UTC and got.end.tzinfo is UTC


# ---------------------------------------------------------------------------------------------
# Validation

NAIVE = datetime(2026, 6, 1)  # deliberately naive
GOOD = rot("daily", "UTC", u(2026, 6, 1))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: validate_rotation(rot("monthly", "UTC", u(2026, 6, 1))), "kind"),
        (lambda: rotation_kind("monthly"), "rotation kind must be one of daily, weekly, custom; got 'monthly'"),
        (lambda: validate_rotation(rot("daily", "Mars/Olympus", u(2026, 6, 1))), "unknown time zone"),
        (lambda: validate_rotation(rot("daily", "", u(2026, 6, 1))), "time zone"),
        (lambda: validate_rotation(rot("daily", "UTC", NAIVE)), "rotation start must be an aware"),
        (lambda: validate_rotation(Rotation("daily", "UTC", u(2026, 6, 1), ["a"])), "tuple"),  # type: ignore[arg-type]
        (lambda: validate_rotation(Rotation("daily", "UTC", u(2026, 6, 1), ("a", ""))), "participants"),
        (lambda: validate_rotation(rot("custom", "UTC", u(2026, 6, 1), hours=0)), "shift_hours"),
        (lambda: validate_rotation(rot("custom", "UTC", u(2026, 6, 1), hours=8761)), "shift_hours"),
        (lambda: validate_rotation(rot("custom", "UTC", u(2026, 6, 1), hours=True)), "shift_hours"),
        (lambda: validate_rotation(rot("custom", "UTC", u(2026, 6, 1), hours=1.5)), "shift_hours"),
        (lambda: validate_restriction(window(frozenset(), "09:00", "17:00")), "at least one day"),
        (lambda: validate_restriction(window(frozenset({0, 1}), "09:00", "17:00")), "ISO weekdays"),
        (lambda: validate_restriction(window(frozenset({8}), "09:00", "17:00")), "ISO weekdays"),
        (lambda: validate_restriction(Restriction({1}, time(9), time(17))), "frozenset"),  # type: ignore[arg-type]
        (lambda: validate_restriction(Restriction(frozenset({1}), time(9, tzinfo=UTC), time(17))), "start"),
        (lambda: validate_restriction(Restriction(frozenset({1}), time(9), "17:00")), "end"),  # type: ignore[arg-type]
        (lambda: layer_shifts(Layer("L", GOOD), NAIVE, u(2026, 6, 2)), "start must be an aware"),
        (lambda: layer_shifts(Layer("L", GOOD), u(2026, 6, 1), NAIVE), "end must be an aware"),
        (lambda: layer_shifts(Layer("L", GOOD), u(2026, 6, 2), u(2026, 6, 2)), "end must be after start"),
        (lambda: layer_shifts(Layer("L", GOOD), u(2026, 6, 2), u(2026, 6, 1)), "end must be after start"),
        (lambda: layer_shifts(Layer("", GOOD), u(2026, 6, 1), u(2026, 6, 2)), "name"),
        (lambda: layer_shifts(Layer("L", rot("weekly", "Nowhere/Else", u(2026, 6, 1))), u(2026, 6, 1), u(2026, 6, 2)),
         "unknown time zone"),
        (lambda: layer_shifts(Layer("L", GOOD, (window(frozenset(), "09:00", "17:00"),)), u(2026, 6, 1), u(2026, 6, 2)),
         "at least one day"),
        (lambda: final_shifts([Layer("L", GOOD)], [], u(2026, 6, 2), u(2026, 6, 1)), "end must be after start"),
        (lambda: final_shifts([], [Override("o", NAIVE, u(2026, 6, 2))], u(2026, 6, 1), u(2026, 6, 2)),
         "override start must be an aware"),
        (lambda: final_shifts([], [Override("o", u(2026, 6, 2), u(2026, 6, 1))], u(2026, 6, 1), u(2026, 6, 2)),
         "override must end after"),
        (lambda: final_shifts([], [Override("", u(2026, 6, 1), u(2026, 6, 2))], u(2026, 6, 1), u(2026, 6, 2)), "user"),
        (lambda: final_shifts([], [Override("o", u(2026, 6, 1), u(2026, 6, 2), "")], u(2026, 6, 1), u(2026, 6, 2)),
         "replaces"),
        (lambda: on_call_at([], [], NAIVE), "at must be an aware"),
        (lambda: on_call_at([Layer("L", rot("daily", "UTC", NAIVE))], [], u(2026, 6, 1)), "rotation start"),
    ],
)
def test_validation_errors(call: Callable[[], object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    "rotation",
    [
        rot("daily", CHICAGO, u(2026, 6, 1)),
        rot("weekly", SYDNEY, u(2026, 6, 1), ""),
        rot("custom", BERLIN, u(2026, 6, 1), hours=1),
        rot("custom", BERLIN, u(2026, 6, 1), hours=8760),
        # shift_hours is not used by daily/weekly rotations, so it is not checked there.
        rot("weekly", "UTC", u(2026, 6, 1), hours=0),
    ],
)
def test_valid_rotations(rotation: Rotation) -> None:
    validate_rotation(rotation)
    validate_restriction(window(ALL_DAYS, "22:00", "06:00"))


# ---------------------------------------------------------------------------------------------
# Consistency: the same schedule asked in different ways gives the same answer

MIXED_LAYERS = [
    BACKSTOP,
    EMEA,
    AMER,
    # Weekend nights in Sydney, weekly from 2019, three people.
    Layer("weekend", rot("weekly", SYDNEY, u(2019, 3, 3, 3), "xyz"), (window(frozenset({6, 7}), "22:00", "03:00"),)),
]
MIXED_OVERRIDES = [
    Override("o", u(2026, 3, 8, 5), u(2026, 3, 9, 3), replaces="us1"),
    Override("p", u(2026, 10, 25), u(2026, 10, 25, 2)),
]


def test_split_ranges_and_on_call_at_agree_with_one_range() -> None:
    start, end = u(2026, 1, 1), u(2027, 1, 1)
    whole = final_shifts(MIXED_LAYERS, MIXED_OVERRIDES, start, end)
    assert all(a.end <= b.start for a, b in pairwise(whole))
    step = timedelta(hours=7, minutes=13)
    rejoined: list[Shift] = []
    t = start
    while t < end:
        for s in final_shifts(MIXED_LAYERS, MIXED_OVERRIDES, t, min(t + step, end)):
            last = rejoined[-1] if rejoined else None
            if last and last.end == s.start and (last.user, last.source) == (s.user, s.source):
                rejoined[-1] = Shift(s.user, last.start, s.end, s.source)
            else:
                rejoined.append(s)
        now = on_call_at(MIXED_LAYERS, MIXED_OVERRIDES, t)
        expected = next((s for s in whole if s.start <= t < s.end), None)
        assert (now and (now.user, now.source)) == (expected and (expected.user, expected.source)), t
        if now is not None and expected is not None and expected.end < end:
            assert expected.start <= now.start <= t < now.end <= expected.end
        t += step
    assert rejoined == whole


def test_rotation_kind_takes_the_stored_words() -> None:
    assert [rotation_kind(k) for k in ("daily", "weekly", "custom")] == ["daily", "weekly", "custom"]

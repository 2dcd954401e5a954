"""oncall/handoff.py, pure: which hand-off notices are due, from final shifts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.oncall.handoff import due, window
from tocsin.oncall.resolve import Shift

T = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _due(shifts, now):
    start, end = window(now)
    clipped = [Shift(s.user, max(s.start, start), min(s.end, end), s.source) for s in shifts
               if s.end > start and s.start < end]
    return [(n.kind, n.user, n.at) for n in due(clipped, now=now, start=start, end=end)]


@pytest.mark.parametrize(("shifts", "now", "expected"), [
    # an hour before: on; a minute earlier: nothing
    ([Shift("ann", T - 24 * H, T, "l"), Shift("bob", T, T + 24 * H, "l")], T - H, [("on", "bob", T)]),
    ([Shift("ann", T - 24 * H, T, "l"), Shift("bob", T, T + 24 * H, "l")], T - H - timedelta(minutes=1), []),
    # at the hand-off: Ann off (Bob's "on" is still within the grace window: the caller's record stops a repeat)
    ([Shift("ann", T - 24 * H, T, "l"), Shift("bob", T, T + 24 * H, "l")], T,
     [("off", "ann", T), ("on", "bob", T)]),
    # a layer shift followed by an override of the same person is one stint: no off-and-on at 09:00
    ([Shift("ann", T - 24 * H, T, "l"), Shift("ann", T, T + 2 * H, "override"), Shift("bob", T + 2 * H, T + 24 * H, "l")],
     T, []),
    # a stint already running when the window starts is never announced as starting
    ([Shift("ann", T - 48 * H, T + 24 * H, "l")], T, []),
    # past the grace window: too late for either
    ([Shift("ann", T - 24 * H, T, "l"), Shift("bob", T, T + 24 * H, "l")], T + timedelta(minutes=16), []),
])
def test_due(shifts, now, expected):
    assert _due(shifts, now) == expected


def test_a_stint_longer_than_the_horizon_has_an_open_end():
    start, end = window(T - H)
    [notice] = due([Shift("bob", T, end, "l")], now=T - H, start=start, end=end)
    assert notice.open_end

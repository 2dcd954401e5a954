"""Clock, ids and cursors."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tocsin.api import pagination
from tocsin.clock import ManualClock, ensure_utc
from tocsin.errors import InvalidInput
from tocsin.ids import incident_ref, new_id, parse_incident_ref


def test_manual_clock_moves_only_when_told():
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    assert clock.now() == clock.now()
    clock.advance(minutes=5)
    assert clock.now() == datetime(2026, 3, 1, 0, 5, tzinfo=UTC)


def test_clock_refuses_naive_and_normalises_to_utc():
    with pytest.raises(ValueError):
        ManualClock(datetime(2026, 3, 1))
    berlin = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    assert ensure_utc(berlin) == datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    assert ensure_utc(berlin).tzinfo == UTC


def test_ids_are_uuid7_and_time_ordered():
    ids = [new_id() for _ in range(50)]
    assert all(i.version == 7 for i in ids)
    assert ids == sorted(ids)


@pytest.mark.parametrize("text,number", [("INC-42", 42), ("inc-7", 7), (" INC-1 ", 1), ("INC-", None),
                                         ("42", None), ("INC-4x", None), ("PRB-4", None)])
def test_incident_refs(text, number):
    assert parse_incident_ref(text) == number
    if number is not None:
        assert incident_ref(number) == f"INC-{number}"


def test_cursor_round_trip_and_garbage():
    when, ident = datetime(2026, 1, 1, tzinfo=UTC), uuid.uuid4()
    assert pagination.decode_time_id(pagination.encode(when.isoformat(), str(ident))) == (when, ident)
    for bad in ["!!!", pagination.encode("x"), pagination.encode("2026-01-01T00:00:00", str(ident))]:
        with pytest.raises(InvalidInput):
            pagination.decode_time_id(bad)

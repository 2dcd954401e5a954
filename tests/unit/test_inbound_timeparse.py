"""Timestamps as monitoring tools send them become aware UTC datetimes."""

from datetime import UTC, datetime

import pytest

from tocsin.inbound.timeparse import parse_timestamp


@pytest.mark.parametrize("text,expected", [
    # PagerDuty's docs example: offset without a colon
    ("2015-07-17T08:42:58.315+0000", datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)),
    # Go's RFC3339Nano, as Alertmanager sends startsAt: nine digits, truncated to microseconds
    ("2024-05-01T12:00:00.123456789Z", datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)),
    # truncated, never rounded into the next second
    ("2024-05-01T12:00:00.9999999Z", datetime(2024, 5, 1, 12, 0, 0, 999999, tzinfo=UTC)),
    # Grafana's docs example: local offset with a colon
    ("2021-10-12T09:51:03.157076+02:00", datetime(2021, 10, 12, 7, 51, 3, 157076, tzinfo=UTC)),
    ("2024-05-01T12:00:00+00:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
    ("2024-05-01T12:00:00-0530", datetime(2024, 5, 1, 17, 30, tzinfo=UTC)),
    ("2024-05-01T12:00:00+05", datetime(2024, 5, 1, 7, tzinfo=UTC)),
    ("2024-05-01t12:00:00.5z", datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)),
    ("2024-05-01T12:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
    ("2024-05-01T12:00:00,25Z", datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)),
    # naive timestamps are UTC
    ("2024-05-01 12:00:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
    ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
    ("  2024-05-01T12:00:00Z\n", datetime(2024, 5, 1, 12, tzinfo=UTC)),
    # a leap second stays in its minute
    ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),
    # crossing midnight and the year through the offset
    ("2024-01-01T00:30:00+01:00", datetime(2023, 12, 31, 23, 30, tzinfo=UTC)),
])
def test_parses_to_aware_utc(text, expected):
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("text", [
    "0001-01-01T00:00:00Z",  # what Alertmanager puts in endsAt of every firing alert
    "0001-01-01T00:00:00.000000000Z",
    "0001-01-01T00:00:00+00:00",
])
def test_go_zero_time_means_no_time(text):
    assert parse_timestamp(text) is None


@pytest.mark.parametrize("text", [
    "",
    "yesterday",
    "2024-13-01T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "2024-05-01T25:00:00Z",
    "2024-05-01T12:61:00Z",
    "2024-05-01T12:00:00+24:00",
    "2024-05-01T12:00:00+05:3",
    "2024-05-01T12:00:00.1234567890Z",  # ten fractional digits
    "2024-W18-3",  # ISO week date: nobody sends it
    "20240501T120000Z",  # ISO basic format
    "2024-05-01T12:00:00 UTC",
    "\u0662\u0660\u0662\u0664-05-01",  # Arabic-Indic digits
    "2024-05-01T12:00:00Z\x00",
    "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    "9999-12-31T23:00:00-02:00",  # after year 9999 in UTC
    "2" * 10_000,
])
def test_rejects_garbage(text):
    with pytest.raises(ValueError):
        parse_timestamp(text)


@pytest.mark.parametrize("value", [None, 1_700_000_000, 1.5, ["2024-05-01"], {"t": 1}, b"2024-05-01"])
def test_rejects_non_strings_with_value_error(value):
    with pytest.raises(ValueError):
        parse_timestamp(value)

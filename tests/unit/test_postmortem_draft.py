"""The draft renderer on its own: durations as people read them, unknowns said plainly, template order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.postmortems.draft import Event, Record, duration, render
from tocsin.postmortems.templates import DEFAULT_SECTIONS

T0 = datetime(2026, 11, 27, 10, 4, tzinfo=UTC)


@pytest.mark.parametrize("delta,text", [
    (None, "unknown"),
    (timedelta(seconds=59), "< 1 min"),
    (timedelta(minutes=12, seconds=59), "12 min"),
    (timedelta(hours=1), "1 h"),
    (timedelta(hours=1, minutes=5), "1 h 5 min"),
    (timedelta(days=2, minutes=1), "48 h 1 min"),
])
def test_durations(delta, text):
    assert duration(delta) == text


def test_unknown_times_and_missing_data_are_said_plainly():
    record = Record(ref="INC-7", title="Search slow", summary="", kind="operational", severity="SEV3",
                    detected_at=T0, declared_at=T0, acknowledged_at=T0 + timedelta(minutes=2))
    body = render(record, DEFAULT_SECTIONS)
    assert "## Summary\n\nSearch slow\n" in body, "the title stands in for a missing summary"
    assert "**Duration:** unknown (from 2026-11-27 10:04 UTC to unknown; measured from detection)" in body
    assert "**Customers affected:** unknown" in body and "**Services:** none recorded" in body
    assert "**Time to detect** (impact start to detection): unknown" in body
    assert "**Time to acknowledge** (from detection): 2 min" in body
    assert "**Time to resolve** (from detection): unknown" in body
    assert "_No events were recorded._" in body and "**Alerts:** none were attached" in body


def test_sections_follow_the_template_and_table_cells_are_escaped():
    record = Record(ref="INC-7", title="t", summary="s", kind="operational", severity="SEV3", detected_at=T0,
                    events=[Event(T0, "Bob", "rolled back | retried\nagain")])
    sections = [{"key": "timeline", "title": "What happened when", "prompt": ""},
                {"key": "followups", "title": "Follow-ups", "prompt": "Who does what by when?"}]
    body = render(record, sections)
    assert body == ("## What happened when\n\n| Time (UTC) | Who | Event |\n| --- | --- | --- |\n"
                    "| 2026-11-27 10:04 UTC | Bob | rolled back \\| retried again |\n\n"
                    "## Follow-ups\n\n_Who does what by when?_\n")

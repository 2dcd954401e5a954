"""The pure parts of containment: which notes and steps investigate an unpreserved target (the
forensics-first nudge), which phase moves are allowed, and when containment and eradication were done."""

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.containment import nudge, phases
from tocsin.containment.types import Phase
from tocsin.errors import Conflict
from tocsin.reports.incident_metrics import IncidentRow, incident_metrics

P, S = Phase, nudge.StepState
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
STEPS = [S("preserve", "web-7", False), S("investigate", "web-7", False), S("preserve", "db-3", True),
         S("contain", "vpn", False)]


@pytest.mark.parametrize(("text", "warned"), [
    ("ssh into web-7 to read auth.log", ["web-7"]),
    ("Logged into WEB-7 just now.", ["web-7"]),  # case-insensitive, past tense
    ("I will log in to web-7", ["web-7"]),
    ("inspecting web-7 and vpn", ["web-7", "vpn"]),  # vpn has no preserve step: not preserved either
    ("Analyzing web-7's memory", ["web-7"]),
    ("examine web-7.", ["web-7"]),  # the full stop ends the sentence, not the name
    ("looking into web-7", ["web-7"]),
    ("investigating db-3", []),  # preserved
    ("web-70 inspected", []),  # another host
    ("inspect web-7.prod.example", []),  # another name (a dotted name is a different target)
    ("snapshot web-7 first. Then we inspect the load balancer", []),  # the verb is in another sentence
    ("web-7 is down", []),  # no investigation
    ("", []),
])
def test_a_note_that_investigates_an_unpreserved_target_nudges(text, warned):
    assert [n.target for n in nudge.for_note(text, STEPS)] == warned


def test_other_known_names_count_and_the_message_reads_as_the_room_shows_it():
    found = nudge.for_note("ssh payroll-db now", STEPS, known=["payroll-db"])
    assert [(n.target, n.source, n.message) for n in found] == [
        ("payroll-db", "note", "investigating payroll-db before it was preserved")]


@pytest.mark.parametrize(("kind", "target", "warned"), [
    ("investigate", "web-7", True),
    ("investigate", "WEB-7 ", True),
    ("investigate", "db-3", False),  # its preserve step is done
    ("investigate", None, False),  # no target: nothing to compare
    ("preserve", "web-7", False),
    ("contain", "vpn", False),  # containing is not investigating
])
def test_ticking_an_investigate_step_before_its_preserve_step_nudges(kind, target, warned):
    assert (nudge.for_step(kind, target, STEPS) is not None) is warned


@pytest.mark.parametrize(("current", "target", "allowed"), [
    (P.detection_analysis, P.containment, True),
    (P.containment, P.recovery, True),  # skipping ahead
    (P.recovery, P.post_incident, True),
    (P.containment, P.containment, False),
    (P.eradication, P.containment, False),  # never back
    (P.post_incident, P.detection_analysis, False),
])
def test_phases_only_move_forward(current, target, allowed):
    if allowed:
        phases.check_move(current, target)
    else:
        with pytest.raises(Conflict):
            phases.check_move(current, target)


def test_every_phase_maps_to_csf_functions_and_the_order_is_nists():
    assert list(phases.ORDER) == [P.detection_analysis, P.containment, P.eradication, P.recovery, P.post_incident]
    assert {p: phases.CSF[p].functions for p in phases.ORDER} == {
        P.detection_analysis: ("detect", "respond"), P.containment: ("respond",), P.eradication: ("respond",),
        P.recovery: ("recover",), P.post_incident: ("identify",)}
    assert phases.next_phase(P.post_incident) is None


@pytest.mark.parametrize(("history", "contained", "eradicated"), [
    ([], None, None),
    ([(P.containment, 10)], None, None),  # containing, not yet done
    ([(P.containment, 10), (P.eradication, 40)], 40, None),
    ([(P.containment, 10), (P.eradication, 40), (P.recovery, 100)], 40, 100),
    ([(P.recovery, 30)], 30, 30),  # skipped straight to recovery: both done then
])
def test_containment_and_eradication_are_done_when_the_next_phase_begins(history, contained, eradicated):
    rows = [(p, T0 + timedelta(minutes=m)) for p, m in history]
    expected = tuple(None if m is None else T0 + timedelta(minutes=m) for m in (contained, eradicated))
    assert (phases.contained_at(rows), phases.eradicated_at(rows)) == expected


def test_time_to_contain_and_eradicate_count_from_the_declaration():
    rows = [IncidentRow(ref="INC-1", kind="security", severity="SEV2", declared_at=T0, detected_at=T0,
                        contained_at=T0 + timedelta(minutes=40), eradicated_at=T0 + timedelta(minutes=100)),
            IncidentRow(ref="INC-2", kind="security", severity="SEV2", declared_at=T0, detected_at=T0,
                        contained_at=T0 + timedelta(minutes=20)),
            IncidentRow(ref="INC-3", kind="operational", severity="SEV3", declared_at=T0, detected_at=T0)]
    m = incident_metrics(rows, now=T0 + timedelta(days=1), required_severities=frozenset(), hourly_rate=0)
    assert m["time_to_contain"]["count"] == 2 and m["time_to_contain"]["median_seconds"] == 30 * 60
    assert m["time_to_eradicate"] == {"count": 1, "mean_seconds": 6000.0, "median_seconds": 6000.0,
                                      "p90_seconds": 6000.0}

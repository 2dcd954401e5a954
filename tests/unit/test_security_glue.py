"""Issue 17's parts working together, the pure parts: evidence collected from a host counts as its
preservation for the forensics-first nudge, and the room labels every timeline kind."""

import pytest

from tocsin.containment import nudge
from tocsin.incidents.types import TimelineKind
from tocsin.web.room_view import KIND_LABELS

S = nudge.StepState
STEPS = [S("investigate", "web-7", False)]  # no preserve step for web-7


@pytest.mark.parametrize(("collected", "warned"), [
    ([], ["web-7", "mail-1"]),
    (["web-7 memory image\n"], ["mail-1"]),  # an item named after the host
    (["disk.dd\ns3://forensics/web-7/disk.dd"], ["mail-1"]),  # kept under a path naming it
    (["WEB-7.img\n"], ["mail-1"]),  # a file named after it, any case
    (["web-70.img\n", "web-7-notes.txt\ns3://b/web-7x"], ["web-7", "mail-1"]),  # other names
    (["mem.lime\nweb-7"], ["mail-1"]),  # the location is the host itself
])
def test_evidence_collected_from_a_host_counts_as_its_preservation(collected, warned):
    text = "ssh into web-7 and mail-1 to look around"
    got = [n.target for n in nudge.for_note(text, STEPS, known=["mail-1"], collected=collected)]
    assert got == warned
    assert (nudge.for_step("investigate", "web-7", STEPS, collected) is None) is ("web-7" not in warned)


def test_every_timeline_kind_has_a_label_in_the_room():
    assert [k.value for k in TimelineKind if k.value not in KIND_LABELS] == []

"""A shift swap, from the request to the page it changes.

Runbook (the ManualClock starts on Thursday 1 January 2026, 12:00 UTC): Rui and Sam take turns
weekly on `ops` (Rui this week). Rui asks for cover on Friday 09:00–18:00 → Sam is emailed (the
real SMTP server), Rui is not → Sam offers → Rui is emailed → Rui accepts → Sam is emailed → on Friday at 10:00 an
alert on checkout, whose policy pages whoever is on call on `ops`, emails Sam and not Rui; at
19:00 the next alert pages Rui again.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

PUBLIC = "https://tocsin.example.test"


@pytest.fixture
def rb(runbook):
    runbook.configure(public_url=PUBLIC)
    for name in ("Rui", "Sam"):
        runbook.person(name)
    runbook.service("checkout", tier=1, paging_unit="alert")
    runbook.schedule("ops", "Rui", "Sam", start=datetime(2025, 12, 29, 9, tzinfo=UTC))
    runbook.policy((5, ["schedule:ops"]))
    return runbook


def test_cover_me_moves_the_page_to_the_person_who_covers(rb):
    swap = rb.as_("Rui").post("/shift-swaps", schedule="ops", starts_at="2026-01-02T09:00:00Z",
                              ends_at="2026-01-02T18:00:00Z", note="dentist")
    rb.tick()
    mail = rb.expect_email("Sam", "Cover request: Ops")
    assert "Rui asks for cover on Ops from Fri 2 Jan 09:00 (UTC) to Fri 2 Jan 18:00 (UTC)" in mail.get_content()
    assert f"{PUBLIC}/shift-swaps" in mail.get_content() and "dentist" in mail.get_content()
    rb.expect_nothing_more()

    offered = rb.as_("Sam").post(f"/shift-swaps/{swap['id']}/offers", note="happy to")
    rb.tick()
    rb.expect_email("Rui", "Sam offers to cover Ops")
    rb.as_("Rui").post(f"/shift-swaps/{swap['id']}/accept", 200, offer_id=offered["offers"][0]["id"])
    rb.tick()
    assert "pages for that time come to you" in rb.expect_email("Sam", "You cover Rui on Ops").get_content()
    rb.expect_nothing_more()

    rb.clock.set(datetime(2026, 1, 2, 10, tzinfo=UTC))
    rb.trigger("checkout-5xx")
    rb.tick()
    rb.expect_email("Sam", "checkout-5xx")
    rb.expect_nothing_more()

    rb.clock.set(datetime(2026, 1, 2, 19, tzinfo=UTC))
    rb.trigger("checkout-latency")
    rb.tick()
    rb.expect_email("Rui", "checkout-latency")

"""The runbook's own promises: its expect_* verbs fail when what arrived is not what they expect,
so a scenario written with them fails on the same bugs as one that counts messages by hand; and its
engine runs every module, in production order."""

from __future__ import annotations

import pytest

from tocsin.engine.modules import ORDER


def test_expect_email_takes_exactly_one_new_mail_and_nothing_more_sees_the_rest(rb):
    rb.trigger()
    rb.tick()
    with pytest.raises(AssertionError, match="expected one new email to Bob, got 0"):
        rb.expect_email("Bob")
    with pytest.raises(AssertionError, match="unexpected messages"):
        rb.expect_nothing_more()  # Alice's page has not been read
    rb.expect_email("Alice", "checkout-5xx is failing")
    with pytest.raises(AssertionError, match="expected one new email to Alice, got 0"):
        rb.expect_email("Alice")  # read already
    rb.expect_nothing_more()
    rb.tick(minutes=5)
    with pytest.raises(AssertionError, match="not in the subject"):
        rb.expect_email("Bob", "a word the subject lacks")


def test_expect_sms_wants_the_words_and_exactly_one_new_text(rb):
    rb.rules("Alice", (rb.contact("Alice", "sms", "+14155550100"), 0))
    rb.trigger("disk-1")
    rb.tick()
    with pytest.raises(AssertionError, match="not in the SMS"):
        rb.expect_sms("+14155550100", "a word the text lacks")
    rb.trigger("disk-2")
    rb.tick()
    rb.trigger("disk-3")
    rb.tick()  # two texts since the last one read (pages in one tick would be bundled into one)
    with pytest.raises(AssertionError, match="expected one new SMS to \\+14155550100, got 2"):
        rb.expect_sms("+14155550100")


def test_the_engine_runs_every_module_in_production_order(rb):
    assert list(rb.tick()) == [name for name, _module in ORDER]
    assert list(rb.new_engine("deliver", "escalations").tick()) == ["escalations", "deliver"]
    with pytest.raises(AssertionError, match="no engine module"):
        rb.new_engine("no-such-module")

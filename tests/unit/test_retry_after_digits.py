"""A remote's Retry-After of other scripts' digits ("²", "٣") is garbage, not a crash: str.isdigit()
takes them, int() and float() do not (found by the SLO attack review, fixed everywhere it was used)."""

from __future__ import annotations

import pytest

from tocsin.checks.probe import parse_tcp_target
from tocsin.notify import slack_errors, teams, types


@pytest.mark.parametrize("value", ["²", "٣٠", "１２"])
def test_non_ascii_digits_in_retry_after_are_ignored(value):
    assert teams._retry_after(value) is None
    assert slack_errors.retry_after_seconds(value) is None
    assert types.retry_after_words(value) == ""
    assert slack_errors.retry_after_seconds("30") == 30.0 and types.retry_after_words("30") == " (Retry-After: 30 s)"


def test_a_tcp_target_with_a_non_ascii_port_is_refused_clearly():
    with pytest.raises(ValueError, match="host:port"):
        parse_tcp_target("db.example:٥٤٣٢")

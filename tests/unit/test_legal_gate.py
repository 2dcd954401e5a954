"""Which incidents the legal gate holds, how long guest access may last, and the gate's setting."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from tocsin.config import Settings
from tocsin.errors import InvalidInput
from tocsin.incidents.guests import parse_duration
from tocsin.legal.service import is_gated

ALL = frozenset({"SEV1", "SEV2", "SEV3", "SEV4"})


@pytest.mark.parametrize(("kind", "severity", "gate", "held"), [
    ("security", "SEV1", ALL, True),
    ("security", "SEV4", ALL, True),
    ("security", "SEV3", frozenset({"SEV1", "SEV2"}), False),
    ("security", "SEV2", frozenset({"SEV1", "SEV2"}), True),
    ("security", "SEV1", frozenset(), False),  # the gate switched off
    ("operational", "SEV1", ALL, False),  # operational incidents are never gated
])
def test_which_incidents_wait_for_legal(kind, severity, gate, held):
    assert is_gated(SimpleNamespace(kind=kind, severity=severity), gate) is held  # type: ignore[arg-type]
    assert is_gated(None, gate) is False  # a public incident not posted from an internal one


@pytest.mark.parametrize(("text", "hours"), [("12h", 12), ("12", 12), ("3d", 72), (" 30d ", 720), ("1h", 1)])
def test_guest_access_durations(text, hours):
    assert parse_duration(text, max_days=30) == timedelta(hours=hours)


@pytest.mark.parametrize("text", ["0h", "31d", "721h", "", "soon", "-1d", "1.5d", "2w", "9" * 9])
def test_guest_access_durations_refused(text):
    with pytest.raises(InvalidInput):
        parse_duration(text, max_days=30)


def test_the_gate_setting():
    assert Settings(secret_key="x").legal_gate() == ALL  # the default: every security incident
    assert Settings(secret_key="x", legal_gate_severities="p0, sev2").legal_gate() == {"SEV1", "SEV2"}
    assert Settings(secret_key="x", legal_gate_severities="").legal_gate() == frozenset()
    with pytest.raises(ValidationError, match="unknown severity"):
        Settings(secret_key="x", legal_gate_severities="SEV9")

"""The quorum decision of a check run from several locations (checks/quorum.py), and when a
location counts as offline (checks/locations.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.agent.runner import Backoff
from tocsin.agent.server import check_server_url
from tocsin.checks.locations import location_state
from tocsin.checks.models import Check, CheckLocation
from tocsin.checks.quorum import decide, default_quorum, effective_quorum


@pytest.mark.parametrize(("n", "q"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3)])
def test_the_default_quorum_is_a_majority(n: int, q: int) -> None:
    assert default_quorum(n) == q and effective_quorum(None, n) == q and effective_quorum(1, n) == 1


@pytest.mark.parametrize(("states", "current", "expected"), [
    ({"a": "down", "b": "down", "c": "up"}, "up", "down"),  # 2 of 3: alert
    ({"a": "down", "b": "up", "c": "up"}, "up", "up"),  # 1 of 3: none
    ({"a": "down", "b": "up", "c": "up"}, "down", "up"),  # fewer than the quorum again: resolve
    ({"a": "down", "b": "down", "c": "down"}, "unknown", "down"),
    ({"a": "down", "b": "offline", "c": "offline"}, "up", "up"),  # offline never counts as failing
    ({"a": "offline", "b": "offline", "c": "unknown"}, "down", "down"),  # no evidence of recovery: keep the alert
    ({"a": "unknown", "b": "unknown", "c": "unknown"}, "unknown", "unknown"),
    ({"a": "up", "b": "unknown", "c": "unknown"}, "unknown", "up"),
])
def test_the_check_is_down_when_a_quorum_of_locations_fails(states: dict[str, str], current: str,
                                                            expected: str) -> None:
    assert decide(states, quorum=2, current=current).state == expected


def test_a_failing_location_that_falls_silent_holds_the_alert_while_others_pass() -> None:
    # A and B failed (quorum 2 of 3) and C passes; B's agent is cut off: silence is not recovery.
    states = {"a": "down", "b": "offline", "c": "up"}
    assert decide(states, quorum=2, current="down", silent_down=["b"]).state == "down"
    assert decide({**states, "a": "offline"}, quorum=2, current="down", silent_down=["a", "b"]).state == "down"
    assert decide(states, quorum=2, current="up", silent_down=["b"]).state == "up"  # silence never opens one
    assert decide({**states, "b": "up"}, quorum=2, current="down", silent_down=["b"]).state == "up"  # B passes again


def test_the_verdict_says_who_fails_and_whether_the_quorum_can_be_reached() -> None:
    v = decide({"eu": "down", "us": "offline", "ap": "offline"}, quorum=2, current="up")
    assert v.failing == ("eu",) and v.reporting == 1 and not v.quorum_reachable
    with pytest.raises(ValueError):
        decide({"eu": "down"}, quorum=0, current="up")


def test_a_location_is_offline_after_three_silent_intervals() -> None:
    created = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    check = Check(interval_seconds=60, created_at=created)
    row = CheckLocation(state="down", last_result_at=created)
    assert location_state(check, row, created + timedelta(minutes=4)) == "down"  # 3 intervals and the grace one
    assert location_state(check, row, created + timedelta(minutes=4, seconds=1)) == "offline"
    assert location_state(check, None, created + timedelta(minutes=1)) == "unknown"  # never reported, still new
    assert location_state(check, None, created + timedelta(minutes=5)) == "offline"


def test_the_agent_talks_to_the_server_over_https_only_except_on_loopback() -> None:
    assert check_server_url("https://tocsin.example/") == "https://tocsin.example"
    assert check_server_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    for url in ("http://tocsin.example", "ftp://tocsin.example", "http://10.0.0.5", "http://tocsin.localhost"):
        with pytest.raises(ValueError):
            check_server_url(url)


def test_backoff_doubles_to_a_cap_and_resets() -> None:
    b = Backoff(first=1, cap=8, rand=lambda: 1.0)
    assert [b.next_delay() for _ in range(5)] == [1, 2, 4, 8, 8]
    b.reset()
    assert b.next_delay() == 1


def test_an_agent_refuses_metadata_always_and_private_ranges_unless_allowed() -> None:
    from tocsin.agent.runner import Agent
    from tocsin.agent.server import Assignment, Server

    def probe(allow_private: bool, target: str) -> str | None:
        server = Server("http://127.0.0.1:9", "tca_x")
        agent = Agent(server, allow_private=allow_private)
        agent.assignments = {"c": Assignment(id="c", name="c", interval_seconds=60, spec={
            "kind": "http", "target": target, "method": "GET", "headers": {}, "timeout_seconds": 1,
            "expected_statuses": "200-399", "keyword": None, "keyword_absent": False, "latency_threshold_ms": None,
            "tls_expiry_warn_days": None})}
        agent.next_run = {"c": 0.0}
        agent.run_due(0.0)
        server.close()
        return agent.buffer[0]["error"]

    assert probe(True, "http://169.254.169.254/latest/meta-data/").startswith("blocked: ")
    assert probe(True, "http://[fd00:ec2::254]/").startswith("blocked: ")
    assert probe(False, "http://10.1.2.3/").startswith("blocked: ")
    assert probe(False, "http://localhost:9/").startswith("blocked: ")
    assert probe(True, f"http://127.0.0.1:{_closed()}/") == "connection refused"  # allowed: it tried


def _closed() -> int:
    from tests.harness.ports import closed_port
    return closed_port()

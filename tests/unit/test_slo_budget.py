"""SLO arithmetic (slo/budget.py): SLI, error budget, burn rate and the multi-window rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tocsin.slo.budget import (
    RULES,
    Counts,
    budget,
    burn_rate,
    burn_windows,
    check_target,
    evaluate,
    is_good_probe,
    sli,
)
from tocsin.slo.prometheus import QueryFailed, _number, expression, query

PAGE_1H, PAGE_6H, TICKET = RULES


@pytest.mark.parametrize(("counts", "expected"), [
    (Counts(999, 1000), 0.999),
    (Counts(0, 10), 0.0),
    (Counts(10, 10), 1.0),
    (Counts(0, 0), None),  # no events: no SLI, not 0 %
])
def test_sli(counts, expected):
    assert sli(counts) == expected


@pytest.mark.parametrize(("counts", "target", "expected"), [
    (Counts(999, 1000), 99.9, 1.0),  # exactly the allowed error rate: spends the budget over the window
    (Counts(9856, 10000), 99.9, 14.4),  # 1.44 % errors against 0.1 %: the workbook's page threshold
    (Counts(1000, 1000), 99.9, 0.0),
    (Counts(0, 100), 99.0, 100.0),
    (Counts(0, 0), 99.9, None),  # no traffic burns nothing
])
def test_burn_rate(counts, target, expected):
    rate = burn_rate(counts, target)
    assert rate == (None if expected is None else pytest.approx(expected))


def test_budget_over_thirty_days_in_events_and_minutes():
    b = budget(Counts(good=99_950, total=100_000), 99.9, 30)
    assert b.sli == pytest.approx(0.9995)
    assert b.allowed_bad == pytest.approx(100)
    assert b.bad == 50
    assert b.consumed_fraction == pytest.approx(0.5)
    assert b.remaining_fraction == pytest.approx(0.5)
    assert b.remaining_events == pytest.approx(50)
    assert b.budget_minutes == pytest.approx(43.2)  # 0.1 % of 30 days
    assert b.remaining_minutes == pytest.approx(21.6)


def test_overspent_budget_goes_negative():
    b = budget(Counts(good=97, total=100), 99.0, 7)
    assert b.consumed_fraction == pytest.approx(3.0)
    assert b.remaining_fraction == pytest.approx(-2.0)
    assert b.remaining_events == pytest.approx(-2.0)
    assert b.remaining_minutes < 0


@pytest.mark.parametrize("counts", [Counts(0, 0), Counts()])
def test_no_events_leave_the_whole_budget(counts):
    b = budget(counts, 99.9, 28)
    assert b.sli is None
    assert b.consumed_fraction == 0 and b.remaining_fraction == 1
    assert b.remaining_minutes == pytest.approx(b.budget_minutes) == pytest.approx(0.001 * 28 * 1440)


@pytest.mark.parametrize("target", [0, 100, -1, 150, float("nan")])
def test_target_must_be_a_percentage_strictly_inside(target):
    with pytest.raises(ValueError):
        check_target(target)
    with pytest.raises(ValueError):
        budget(Counts(1, 1), target, 30)


def test_rules_are_the_workbook_pairs():
    assert [(r.long, r.short, r.threshold) for r in RULES] == [
        (timedelta(hours=1), timedelta(minutes=5), 14.4),
        (timedelta(hours=6), timedelta(minutes=30), 6.0),
        (timedelta(days=3), timedelta(hours=6), 1.0),
    ]
    assert [r.severity for r in RULES] == ["critical", "critical", "warning"]
    assert burn_windows() == [timedelta(days=3), timedelta(hours=6), timedelta(hours=1),
                              timedelta(minutes=30), timedelta(minutes=5)]


@pytest.mark.parametrize(("rule", "long_rate", "short_rate", "was", "firing", "changed"), [
    # 1h/5m: both windows must exceed 14.4
    (PAGE_1H, 20.0, 20.0, False, True, True),
    (PAGE_1H, 20.0, 10.0, False, False, False),  # the burn has stopped: no page for the past
    (PAGE_1H, 10.0, 50.0, False, False, False),  # a blip: not significant yet
    (PAGE_1H, 14.4, 14.4, False, False, False),  # "exceed": equal is not above
    (PAGE_1H, None, None, False, False, False),  # no events
    # firing: stays while the short window burns, resolves when it drops below
    (PAGE_1H, 10.0, 20.0, True, True, False),
    (PAGE_1H, 20.0, 1.0, True, False, True),
    (PAGE_1H, 20.0, None, True, False, True),  # no events in the short window: recovered
    # 6h/30m at 6
    (PAGE_6H, 7.0, 6.5, False, True, True),
    (PAGE_6H, 7.0, 5.9, False, False, False),
    (PAGE_6H, 7.0, 5.0, True, False, True),
    # the ticket pair 3d/6h at 1
    (TICKET, 1.5, 1.2, False, True, True),
    (TICKET, 0.9, 1.2, False, False, False),
])
def test_evaluate_rule(rule, long_rate, short_rate, was, firing, changed):
    v = evaluate(rule, long_rate=long_rate, short_rate=short_rate, was_firing=was)
    assert (v.firing, v.changed) == (firing, changed)
    assert rule.name and str(rule.threshold).rstrip("0").rstrip(".") in v.reason


@pytest.mark.parametrize(("ok", "error", "latency", "kind", "threshold", "good"), [
    (True, None, 120.0, "availability", None, True),
    (False, "connection refused", None, "availability", None, False),
    (False, "latency 900 ms over 500 ms", 900.0, "availability", None, True),  # answered, slowly
    (True, None, 120.0, "latency", 200, True),
    (True, None, 250.0, "latency", 200, False),
    (False, "HTTP 500", 50.0, "latency", 200, False),  # fast but wrong is not good
])
def test_probe_as_event(ok, error, latency, kind, threshold, good):
    assert is_good_probe(ok=ok, error=error, latency_ms=latency, kind=kind, threshold_ms=threshold) is good


# --- reading a Prometheus answer (slo/prometheus.py): the number, or a summary in our own words ---

@pytest.mark.parametrize(("payload", "value"), [
    ({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"code": "200"}, "value": [1, "40"]}, {"metric": {"code": "204"}, "value": [1, "2.5"]}]}}, 42.5),
    ({"status": "success", "data": {"resultType": "vector", "result": []}}, 0.0),  # no series: no events
    ({"status": "success", "data": {"resultType": "scalar", "result": [1, "7"]}}, 7.0),
    ({"status": "success", "data": {"resultType": "vector", "result": [{"value": [1, "NaN"]}]}}, 0.0),
])
def test_prometheus_answer_is_summed(payload, value):
    assert _number(payload) == value


@pytest.mark.parametrize(("payload", "summary"), [
    ({"status": "error", "errorType": "bad_data", "error": "parse error <script>"},
     "Prometheus refused the query (bad_data)"),
    ({"status": "error", "errorType": "<b>made up</b>", "error": "x"}, "Prometheus refused the query (error)"),
    ({"status": "success", "data": {"resultType": "matrix", "result": []}},
     "the query must give a vector or a scalar, not a range or a string"),
    ({"status": "success", "data": {"resultType": "vector", "result": [{"value": [1, "-3"]}]}},
     "the query gave a negative or infinite count"),
    ({"status": "success", "data": {"resultType": "vector", "result": [{"nope": 1}]}},
     "Prometheus answered in an unexpected shape"),
    (["not", "an", "object"], "Prometheus refused the query (error)"),
    # finite samples whose sum overflows: an infinite count would make every budget NaN
    ({"status": "success", "data": {"resultType": "vector", "result": [{"value": [1, "1e308"]}] * 2}},
     "the query gave an implausibly large count"),
    ({"status": "success", "data": {"resultType": "scalar", "result": [1, "1e16"]}},
     "the query gave an implausibly large count"),
])
def test_prometheus_failures_are_summarized_never_echoed(payload, summary):
    with pytest.raises(QueryFailed) as failed:
        _number(payload)
    assert str(failed.value) == summary


def test_window_placeholder():
    assert expression("sum(increase(x[$window]))", timedelta(minutes=1)) == "sum(increase(x[60s]))"
    assert expression("sum(increase(x[$window]))", timedelta(milliseconds=10)) == "sum(increase(x[1s]))"


@pytest.mark.parametrize(("body", "summary"), [
    (b'{"status": "success", "data": {"resultType": "vector", "result": [' + b'{"value": [1, "1"]},' * 100_000
     + b"]}}", "Prometheus answered with more than 1 MB: sum the query to one series"),
    (b"[" * 100_000, "Prometheus answered HTTP 200 without JSON"),  # nested past the recursion limit
])
def test_a_hostile_prometheus_answer_is_refused_in_our_words(body, summary):
    """A server that dumps every series, or nests its JSON 100,000 deep: a summary, never a crash."""
    sent = []

    def server(request: httpx.Request) -> httpx.Response:
        sent.append(dict(httpx.QueryParams(request.content.decode())))
        return httpx.Response(200, content=body)

    with httpx.Client(transport=httpx.MockTransport(server)) as client, pytest.raises(QueryFailed) as failed:
        query(client, "http://prometheus.test", "sum(up)", datetime(2026, 1, 1, tzinfo=UTC))
    assert str(failed.value) == summary and not failed.value.unreachable
    assert sent[0]["timeout"] == "4s"  # Prometheus gives up on an expensive query before we do

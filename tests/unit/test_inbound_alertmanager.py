"""Alertmanager webhook bodies (version "4") become one event per alert."""

import copy
from datetime import UTC, datetime

import orjson
import pytest

from tocsin.inbound.alertmanager import (
    labels_fingerprint,
    parse_webhook,
    severity_from_text,
)
from tocsin.inbound.common import nul_free
from tocsin.inbound.types import (
    MAX_EVENT_BYTES,
    MAX_SUMMARY,
    Action,
    AlertSeverity,
    Rejected,
)

# Alertmanager webhook v4, as template.Data is emitted (wire-formats.md section 1)
AM_FIRING = {
    "receiver": "incident-platform",
    "status": "firing",
    "alerts": [{
        "status": "firing",
        "labels": {"alertname": "HighErrorRate", "service": "api", "severity": "critical"},
        "annotations": {"summary": "5xx ratio above 5%", "runbook_url": "https://runbooks.example/api-5xx"},
        "startsAt": "2024-05-01T12:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=...&g0.tab=1",
        "fingerprint": "c6eadffa33fcdf37",
    }],
    "notification_reason": "first notification",
    "groupLabels": {"alertname": "HighErrorRate"},
    "commonLabels": {"alertname": "HighErrorRate", "service": "api", "severity": "critical"},
    "commonAnnotations": {"summary": "5xx ratio above 5%", "runbook_url": "https://runbooks.example/api-5xx"},
    "routeLabels": {},
    "externalURL": "http://alertmanager:9093",
    "version": "4",
    "groupKey": "{}/{severity=\"critical\"}:{alertname=\"HighErrorRate\"}",
    "truncatedAlerts": 0,
}


def _body(*alerts, **group):
    body = copy.deepcopy(AM_FIRING)
    if alerts:
        body["alerts"] = list(alerts)
    body.update(group)
    return body


def _alert(**changes):
    alert = copy.deepcopy(AM_FIRING["alerts"][0])
    alert.update(changes)
    return alert


def _errors(body):
    with pytest.raises(Rejected) as info:
        parse_webhook(body)
    assert info.value.status == 400
    return info.value.errors


def test_firing_alert_from_the_reference_example():
    [event] = parse_webhook(copy.deepcopy(AM_FIRING))
    assert event.action is Action.trigger
    assert event.dedup_key == "am:1:c6eadffa33fcdf37"
    assert event.summary == "5xx ratio above 5%"
    assert event.severity is AlertSeverity.critical
    assert event.labels == {"alertname": "HighErrorRate", "service": "api", "severity": "critical"}
    assert event.details == AM_FIRING["alerts"][0]["annotations"]
    assert event.links == [
        {"href": "http://prometheus:9090/graph?g0.expr=...&g0.tab=1", "text": "Source"},
        {"href": "https://runbooks.example/api-5xx", "text": "Runbook"},
    ]
    assert event.occurred_at == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert event.payload["groupKey"] == AM_FIRING["groupKey"]
    assert event.payload["receiver"] == "incident-platform"
    assert event.payload["externalURL"] == "http://alertmanager:9093"
    assert event.payload["fingerprint"] == "c6eadffa33fcdf37"


def test_resolved_alert_resolves_the_same_key_at_its_end_time():
    resolved = _alert(status="resolved", endsAt="2024-05-01T12:30:00Z")
    [event] = parse_webhook(_body(resolved, status="resolved"))
    assert event.action is Action.resolve
    assert event.dedup_key == "am:1:c6eadffa33fcdf37"
    assert event.occurred_at == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


def test_resolved_alert_without_end_time_falls_back_to_start():
    [event] = parse_webhook(_body(_alert(status="resolved")))
    assert event.occurred_at == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_a_group_can_mix_firing_and_resolved_alerts():
    body = _body(
        _alert(fingerprint="aaaaaaaaaaaaaaaa"),
        _alert(fingerprint="bbbbbbbbbbbbbbbb", status="resolved", endsAt="2024-05-01T13:00:00Z"),
    )
    events = parse_webhook(body)
    assert [(e.dedup_key, e.action) for e in events] == [
        ("am:1:aaaaaaaaaaaaaaaa", Action.trigger), ("am:1:bbbbbbbbbbbbbbbb", Action.resolve)]


def test_empty_alerts_is_valid():
    assert parse_webhook(_body(alerts=[])) == []


def test_missing_fingerprint_is_computed_as_alertmanager_does():
    # prometheus/common model: TestMetricToFingerprint expects 5799056148416392346
    labels = {"name": "garland, briggs", "fear": "love is not enough"}
    assert labels_fingerprint(labels) == f"{5799056148416392346:016x}"
    assert labels_fingerprint({}) == "cbf29ce484222325"
    alert = _alert(labels=labels)
    del alert["fingerprint"]
    [event] = parse_webhook(_body(alert))
    assert event.dedup_key == "am:1:507a62d79ee76c9a"


def test_computed_fingerprint_ignores_label_order_and_notices_values():
    a = labels_fingerprint({"a": "1", "b": "2"})
    assert a == labels_fingerprint({"b": "2", "a": "1"})
    assert a != labels_fingerprint({"a": "12", "b": ""})  # the separator keeps values apart


@pytest.mark.parametrize("text,expected", [
    ("critical", AlertSeverity.critical), ("CRITICAL", AlertSeverity.critical), ("page", AlertSeverity.critical),
    ("P1", AlertSeverity.critical), (" high ", AlertSeverity.critical),
    ("error", AlertSeverity.error), ("major", AlertSeverity.error),
    ("warning", AlertSeverity.warning), ("warn", AlertSeverity.warning), ("minor", AlertSeverity.warning),
    ("info", AlertSeverity.info), ("none", AlertSeverity.info), ("low", AlertSeverity.info),
    ("", AlertSeverity.error), ("catastrophic", AlertSeverity.error), ("{{ .Labels.sev }}", AlertSeverity.error),
    (None, AlertSeverity.error), (1, AlertSeverity.error),
])
def test_severity_words(text, expected):
    assert severity_from_text(text) is expected


@pytest.mark.parametrize("labels,expected", [
    ({"alertname": "X", "severity": "warning"}, AlertSeverity.warning),
    ({"alertname": "X"}, AlertSeverity.error),  # no severity label: error, like Alertmanager's PD default
])
def test_severity_comes_from_the_severity_label(labels, expected):
    [event] = parse_webhook(_body(_alert(labels=labels)))
    assert event.severity is expected


@pytest.mark.parametrize("annotations,labels,expected", [
    ({"summary": "S", "description": "D"}, {"alertname": "A"}, "S"),
    ({"summary": "  ", "description": "D"}, {"alertname": "A"}, "D"),
    ({}, {"alertname": "DiskFull", "instance": "db1", "mount": "/"}, "DiskFull (instance=db1, mount=/)"),
    ({}, {"alertname": "Watchdog"}, "Watchdog"),
    ({}, {"job": "node"}, "Alert (job=node)"),
    (None, {"alertname": "NoAnnotations"}, "NoAnnotations"),
    ({"summary": "\u26a0\ufe0f Speicher f\u00fcr \u6570\u636e voll"}, {}, "\u26a0\ufe0f Speicher f\u00fcr \u6570\u636e voll"),
])
def test_summary_falls_back_from_annotations_to_labels(annotations, labels, expected):
    [event] = parse_webhook(_body(_alert(annotations=annotations, labels=labels)))
    assert event.summary == expected


def test_huge_summary_is_truncated_to_the_limit():
    [event] = parse_webhook(_body(_alert(annotations={"summary": "x" * 100_000})))
    assert len(event.summary) == MAX_SUMMARY
    assert event.summary.endswith("\u2026")


def test_non_string_label_values_become_text():
    labels = {"alertname": "X", "code": 500, "ratio": 0.5, "canary": True, "shard": None}
    [event] = parse_webhook(_body(_alert(labels=labels)))
    assert event.labels == {"alertname": "X", "code": "500", "ratio": "0.5", "canary": "true", "shard": ""}


def test_source_is_the_instance_label_when_there_is_one():
    events = parse_webhook(_body(_alert(labels={"instance": "db1:9100", "job": "node"}), _alert(labels={})))
    assert [e.source for e in events] == ["db1:9100", "alertmanager"]


def test_receiver_is_kept_as_alertmanager_escaped_it():
    [event] = parse_webhook(_body(receiver="team\\.x"))
    assert event.payload["receiver"] == "team\\.x"


def test_unknown_fields_and_versions_are_ignored():
    body = _body(version="5", futureField={"x": 1}, alerts=[_alert(brandNew=[1, 2])])
    [event] = parse_webhook(body)
    assert event.payload["brandNew"] == [1, 2]


def test_grafana_body_is_accepted_too():
    alert = _alert(values={"B": 44.2}, silenceURL="https://grafana/silence", dashboardURL="")
    [event] = parse_webhook(_body(alert, version="1", orgId=1, state="alerting", title="[FIRING:1]"))
    assert event.dedup_key == "am:1:c6eadffa33fcdf37"
    assert event.payload["values"] == {"B": 44.2}


@pytest.mark.parametrize("body,expected", [
    (None, ["body must be a JSON object"]),
    ([AM_FIRING], ["body must be a JSON object"]),
    ("firing", ["body must be a JSON object"]),
    ({"status": "firing"}, ["'alerts' must be a list"]),
    (_body(alerts={"0": {}}), ["'alerts' must be a list"]),
    (_body("alert"), ["alerts[0] must be an object"]),
    (_body(_alert(labels=None)), ["alerts[0].labels must be an object"]),
    (_body(_alert(labels=["a"])), ["alerts[0].labels must be an object"]),
    (_body(_alert(labels={"a": {"b": 1}, "c": [1]})), ["alerts[0].labels values must be scalars: a, c"]),
    (_body(_alert(status="pending")), ["alerts[0].status must be 'firing' or 'resolved'"]),
    (_body(_alert(status=None)), ["alerts[0].status must be 'firing' or 'resolved'"]),
    (_body(_alert(annotations="summary")), ["alerts[0].annotations must be an object"]),
    (_body(_alert(fingerprint=123)), ["alerts[0].fingerprint must be a string of at most 128 characters"]),
])
def test_invalid_bodies_are_rejected_with_the_reason(body, expected):
    assert _errors(body) == expected


def test_every_bad_alert_is_reported_by_index():
    body = _body(_alert(), _alert(status="weird"), _alert(labels=5, startsAt="noon"))
    assert _errors(body) == [
        "alerts[1].status must be 'firing' or 'resolved'",
        "alerts[2].labels must be an object",
        "alerts[2].startsAt: not an ISO 8601 timestamp: 'noon'",
    ]


def test_oversized_alert_is_rejected_by_index():
    big = _alert(annotations={"description": "x" * MAX_EVENT_BYTES})
    [error] = _errors(_body(_alert(), big))
    assert error.startswith("alerts[1] is ") and error.endswith("the limit is 512000")


def test_nul_characters_do_not_crash_and_are_made_storable():
    alert = _alert(labels={"alertname": "Bad\x00Name", "k\x00": "v"}, annotations={"summary": "a\x00b"})
    [event] = parse_webhook(_body(alert, groupKey="{}:\x00"))
    assert event.summary == "a\ufffdb"
    assert event.labels == {"alertname": "Bad\ufffdName", "k\ufffd": "v"}
    assert "\x00" not in event.payload["groupKey"]


def test_hostile_nesting_is_rejected_not_a_crash():
    deep: object = {}
    for _ in range(5_000):
        deep = {"d": deep}
    errors = _errors(_body(_alert(annotations={"deep": deep})))
    assert any("nests deeper" in error for error in errors)


def test_the_fast_path_for_bodies_without_nul_gives_the_same_events_and_still_bounds_nesting():
    """Ingest skips the cleaning copy when the raw bytes hold no `\\u0000` escape (`nul_free`):
    the events must be the ones the full pass makes, and hostile nesting is still refused."""
    raw = orjson.dumps(_body(_alert(), _alert(fingerprint="0000000000000002", labels={"alertname": "Other"})))
    assert nul_free(raw)
    assert parse_webhook(orjson.loads(raw), nul_free=True) == parse_webhook(orjson.loads(raw))
    assert not nul_free(orjson.dumps(_body(_alert(annotations={"summary": "a\x00b"}))))

    deep: object = {}
    for _ in range(100):
        deep = {"d": deep}
    with pytest.raises(Rejected) as info:
        parse_webhook(_body(_alert(annotations={"deep": deep})), nul_free=True)
    assert any("nests deeper" in error for error in info.value.errors)

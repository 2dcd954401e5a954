"""PagerDuty Events API v2 bodies, as PagerDuty's docs and Alertmanager send them."""

import copy
from datetime import UTC, datetime

import pytest

from tocsin.inbound.events_v2 import ChangeEvent, parse_change, parse_event
from tocsin.inbound.types import MAX_EVENT_BYTES, Action, AlertSeverity, Rejected

# PagerDuty developer docs, 02-Trigger-Events.md
PD_TRIGGER = {
    "payload": {
        "summary": "Example alert on host1.example.com",
        "timestamp": "2015-07-17T08:42:58.315+0000",
        "source": "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003",
        "severity": "info",
        "component": "postgres",
        "group": "prod-datapipe",
        "class": "deploy",
        "custom_details": {"ping time": "1500ms", "load avg": 0.75},
    },
    "routing_key": "samplekeyhere",
    "dedup_key": "samplekeyhere",
    "images": [{"src": "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png",
                "href": "https://example.com/", "alt": "Example text"}],
    "links": [{"href": "https://example.com/", "text": "Link text"}],
    "event_action": "trigger",
    "client": "Sample Monitoring Service",
    "client_url": "https://monitoring.example.com",
}

# Alertmanager pagerduty_configs (notify/pagerduty/pagerduty.go), default templates
AM_TRIGGER = {
    "routing_key": "R0UTINGKEY0000000000000000000000",
    "dedup_key": "5c3d0b1f8c6f1f4e0e9b8f7a6d5c4b3a2918f7e6d5c4b3a29180f7e6d5c4b3a2",
    "event_action": "trigger",
    "payload": {
        "summary": "[FIRING:1] HighErrorRate api (critical)",
        "source": "Alertmanager",
        "severity": "error",
        "custom_details": {
            "firing": [{"status": "firing", "labels": {"alertname": "HighErrorRate"}, "annotations": {},
                        "startsAt": "2024-05-01T12:00:00.123456789Z", "endsAt": "0001-01-01T00:00:00Z",
                        "generatorURL": "http://prometheus:9090/graph", "fingerprint": "c6eadffa33fcdf37"}],
            "resolved": [], "num_firing": 1, "num_resolved": 0,
        },
    },
    "client": "Alertmanager",
    "client_url": "http://alertmanager:9093/#/alerts?receiver=pd",
}


def _keys():
    issued = []

    def new_key():
        issued.append(f"generated-{len(issued)}")
        return issued[-1]

    return issued, new_key


def _rejected_errors(obj):
    with pytest.raises(Rejected) as info:
        parse_event(obj, new_key=lambda: "unused")
    assert info.value.status == 400
    assert info.value.message == "Event object is invalid"
    return info.value.errors


def test_pagerduty_docs_trigger():
    key, event = parse_event(copy.deepcopy(PD_TRIGGER), new_key=lambda: "unused")
    assert key == "samplekeyhere"
    assert event.action is Action.trigger
    assert event.dedup_key == "samplekeyhere"
    assert event.summary == "Example alert on host1.example.com"
    assert event.severity is AlertSeverity.info
    assert event.source.startswith("monitoringtool:")
    assert event.labels == {"component": "postgres", "group": "prod-datapipe", "class": "deploy"}
    assert event.details == {"ping time": "1500ms", "load avg": 0.75}
    assert event.occurred_at == datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)
    assert event.links == [{"href": "https://example.com/", "text": "Link text"},
                           {"href": "https://monitoring.example.com", "text": "Sample Monitoring Service"}]
    # the routing key is a credential: it never reaches storage
    assert "routing_key" not in event.payload
    assert "samplekeyhere" not in str({k: v for k, v in event.payload.items() if k != "dedup_key"})
    assert event.payload["images"] == PD_TRIGGER["images"]


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_pagerduty_docs_acknowledge_and_resolve(action):
    body = {"routing_key": "routingkeyhere", "dedup_key": "dedupkeyhere", "event_action": action}
    key, event = parse_event(body, new_key=lambda: "unused")
    assert (key, event.action, event.dedup_key) == ("routingkeyhere", Action(action), "dedupkeyhere")
    assert event.payload == {"dedup_key": "dedupkeyhere", "event_action": action}


def test_alertmanager_trigger_keeps_its_dedup_key_and_structured_details():
    _, event = parse_event(copy.deepcopy(AM_TRIGGER), new_key=lambda: "unused")
    assert event.dedup_key == AM_TRIGGER["dedup_key"]
    assert event.severity is AlertSeverity.error
    assert event.details["num_firing"] == 1
    assert event.links == [{"href": "http://alertmanager:9093/#/alerts?receiver=pd", "text": "Alertmanager"}]


@pytest.mark.parametrize("payload", [
    # Alertmanager's severity is a template: whatever it rendered must not block the resolve
    {"summary": "[RESOLVED] HighErrorRate api", "source": "Alertmanager", "severity": "P3-page-someone"},
    {"summary": "", "source": "", "severity": ""},
    {"summary": "x" * 5000, "severity": 7, "timestamp": "not a time", "custom_details": "text blob"},
    "not even an object",
])
def test_resolve_ignores_the_payload_alertmanager_always_sends(payload):
    body = {**copy.deepcopy(AM_TRIGGER), "event_action": "resolve", "payload": payload}
    key, event = parse_event(body, new_key=lambda: "unused")
    assert key == AM_TRIGGER["routing_key"]
    assert event.action is Action.resolve
    assert event.dedup_key == AM_TRIGGER["dedup_key"]


def test_trigger_without_dedup_key_gets_a_new_key_each_time():
    issued, new_key = _keys()
    body = {k: v for k, v in copy.deepcopy(PD_TRIGGER).items() if k != "dedup_key"}
    first = parse_event(body, new_key=new_key)[1]
    second = parse_event({**body, "dedup_key": ""}, new_key=new_key)[1]
    assert (first.dedup_key, second.dedup_key) == ("generated-0", "generated-1")
    assert issued == ["generated-0", "generated-1"]


def test_invalid_event_does_not_consume_a_key():
    issued, new_key = _keys()
    with pytest.raises(Rejected):
        parse_event({"routing_key": "k", "event_action": "trigger", "payload": {}}, new_key=new_key)
    assert issued == []


def _without(path):
    body = copy.deepcopy(PD_TRIGGER)
    target = body
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return body


def _with(path, value):
    body = copy.deepcopy(PD_TRIGGER)
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize("body,reason", [
    (_without(["routing_key"]), "routing_key"),
    (_with(["routing_key"], ""), "routing_key"),
    (_with(["routing_key"], 42), "routing_key"),
    (_without(["event_action"]), "event_action"),
    (_with(["event_action"], "TRIGGER"), "event_action"),
    (_with(["event_action"], ["trigger"]), "event_action"),
    (_with(["event_action"], {"a": 1}), "event_action"),
    (_with(["dedup_key"], 123), "dedup_key"),
    (_with(["dedup_key"], "k" * 256), "dedup_key"),
    (_without(["payload"]), "payload"),
    (_with(["payload"], ["summary"]), "payload"),
    (_without(["payload", "summary"]), "payload.summary"),
    (_with(["payload", "summary"], ""), "payload.summary"),
    (_with(["payload", "summary"], "s" * 1025), "payload.summary"),
    (_with(["payload", "summary"], 3.14), "payload.summary"),
    (_without(["payload", "source"]), "payload.source"),
    (_with(["payload", "source"], None), "payload.source"),
    (_without(["payload", "severity"]), "payload.severity"),
    (_with(["payload", "severity"], "high"), "payload.severity"),
    (_with(["payload", "severity"], ["critical"]), "payload.severity"),
    (_with(["payload", "component"], 5), "payload.component"),
    (_with(["payload", "class"], {"x": 1}), "payload.class"),
    (_with(["links"], {"href": "x"}), "links"),
    (_with(["links"], [{"text": "no href"}]), "links[0]"),
    (_with(["links"], [{"href": "https://x", "text": 5}]), "links[0].text"),
    (_with(["links"], ["https://x"]), "links[0]"),
    (_with(["images"], [{"href": "no src"}]), "images[0]"),
    (_with(["images"], "https://x/img.png"), "images"),
    (_with(["client_url"], 7), "client_url"),
])
def test_invalid_trigger_names_the_field(body, reason):
    errors = _rejected_errors(body)
    assert any(error.startswith(reason) for error in errors), errors


@pytest.mark.parametrize("stamp", ["last tuesday", 1437122578, "2024-13-45T99:00:00Z"])
def test_unparseable_timestamp_keeps_the_trigger_with_a_warning(stamp):
    # PagerDuty does not document refusing such an event; refusing would lose the alert.
    _, event = parse_event(_with(["payload", "timestamp"], stamp), new_key=lambda: "unused")
    assert event.action is Action.trigger and event.occurred_at is None
    [warning] = event.warnings
    assert warning.startswith(f"payload.timestamp {str(stamp)!r} could not be parsed") and "receive time" in warning


def test_parseable_timestamp_gives_no_warning():
    _, event = parse_event(_with(["payload", "timestamp"], "2015-07-17T08:42:58.315+0000"), new_key=lambda: "k")
    assert event.occurred_at is not None and event.warnings == ()


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
@pytest.mark.parametrize("dedup_key", [None, ""])
def test_acknowledge_and_resolve_need_a_dedup_key(action, dedup_key):
    body = {"routing_key": "k", "event_action": action}
    if dedup_key is not None:
        body["dedup_key"] = dedup_key
    assert _rejected_errors(body) == [f"dedup_key is required to {action}"]


def test_every_problem_is_reported_at_once():
    errors = _rejected_errors({"event_action": "explode", "dedup_key": 1, "payload": {"severity": "loud"}})
    # the payload of an event with an unknown action is not checked: its rules depend on the action
    assert [e.split(" ")[0] for e in errors] == ["routing_key", "event_action", "dedup_key"]
    errors = _rejected_errors({"routing_key": "k", "event_action": "trigger", "payload": {"severity": "loud"}})
    assert {e.split(" ")[0] for e in errors} == {"payload.summary", "payload.source", "payload.severity"}


@pytest.mark.parametrize("body", [None, [], [PD_TRIGGER], "trigger", 42, True])
def test_non_object_bodies_are_rejected(body):
    assert _rejected_errors(body) == ["event must be a JSON object"]


def test_summary_limit_counts_characters_not_bytes():
    summary = "\u00e9\U0001f525" * 512  # 1024 characters, 3072 bytes of UTF-8
    _, event = parse_event(_with(["payload", "summary"], summary), new_key=lambda: "unused")
    assert event.summary == summary


def test_dedup_key_of_255_characters_is_kept_exactly():
    key = "\u00fc" * 255
    _, event = parse_event(_with(["dedup_key"], key), new_key=lambda: "unused")
    assert event.dedup_key == key


def test_oversized_event_is_rejected():
    body = _with(["payload", "custom_details"], {"blob": "x" * MAX_EVENT_BYTES})
    assert any("limit is 512000" in error for error in _rejected_errors(body))


def test_nul_characters_and_lone_surrogates_are_made_storable():
    body = _with(["payload", "summary"], "disk\x00full \ud800")
    body["payload"]["custom_details"] = {"k\x00": "v\x00"}
    _, event = parse_event(body, new_key=lambda: "unused")
    assert event.summary == "disk\ufffdfull \ufffd"
    assert event.details == {"k\ufffd": "v\ufffd"}


def test_hostile_nesting_is_rejected_not_a_crash():
    deep: object = "bottom"
    for _ in range(10_000):
        deep = [deep]
    errors = _rejected_errors(_with(["payload", "custom_details"], deep))
    assert any("nests deeper" in error for error in errors)


def test_huge_integers_in_details_do_not_crash():
    _, event = parse_event(_with(["payload", "custom_details"], {"n": 10**40}), new_key=lambda: "unused")
    assert event.details == {"n": 10**40}


# PagerDuty developer docs, 03-Change-Events.md
PD_CHANGE = {
    "routing_key": "samplekeyhere",
    "payload": {
        "summary": "Build Success: Increase snapshot create timeout to 30 seconds",
        "timestamp": "2020-07-17T08:42:58.315+0000",
        "source": "acme-build-pipeline-tool-default-i-9999",
        "custom_details": {"build_state": "passed", "build_number": "2", "run_time": "1236s"},
    },
    "links": [{"href": "https://acme.pagerduty.dev/build/2", "text": "View more details in Acme!"}],
}


def test_pagerduty_docs_change_event():
    key, change = parse_change(copy.deepcopy(PD_CHANGE))
    assert key == "samplekeyhere"
    assert change == ChangeEvent(
        summary="Build Success: Increase snapshot create timeout to 30 seconds",
        source="acme-build-pipeline-tool-default-i-9999",
        occurred_at=datetime(2020, 7, 17, 8, 42, 58, 315000, tzinfo=UTC),
        details={"build_state": "passed", "build_number": "2", "run_time": "1236s"},
        links=[{"href": "https://acme.pagerduty.dev/build/2", "text": "View more details in Acme!"}],
        payload={k: v for k, v in PD_CHANGE.items() if k != "routing_key"},
    )


def test_minimal_change_event():
    _, change = parse_change({"routing_key": "k", "payload": {"summary": "deployed v2"}})
    assert (change.summary, change.source, change.occurred_at, change.links) == ("deployed v2", "", None, [])


@pytest.mark.parametrize("body,reason", [
    ("deploy", "event must be a JSON object"),
    ({"payload": {"summary": "s"}}, "routing_key"),
    ({"routing_key": "k"}, "payload"),
    ({"routing_key": "k", "payload": {}}, "payload.summary"),
    ({"routing_key": "k", "payload": {"summary": "s" * 1025}}, "payload.summary"),
    ({"routing_key": "k", "payload": {"summary": "s", "source": 1}}, "payload.source"),
    ({"routing_key": "k", "payload": {"summary": "s", "timestamp": "soon"}}, "payload.timestamp"),
    ({"routing_key": "k", "payload": {"summary": "s"}, "links": [{}]}, "links[0]"),
])
def test_invalid_change_event_names_the_field(body, reason):
    with pytest.raises(Rejected) as info:
        parse_change(body)
    assert any(error.startswith(reason) for error in info.value.errors), info.value.errors

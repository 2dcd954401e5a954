"""Per-integration mappings turn arbitrary JSON into events, safely."""

import pytest

from tocsin.inbound.generic import map_payload, validate_mapping
from tocsin.inbound.types import (
    MAX_DEDUP_KEY,
    MAX_SUMMARY,
    Action,
    AlertSeverity,
    Rejected,
)

# A typical home-grown monitor's webhook
CHECK = {
    "check": {"name": "checkout latency", "id": "chk-17"},
    "state": "ALERTING",
    "priority": "P1",
    "host": "web-3",
    "tags": {"team": "payments", "region": "eu", "shard": 4},
}

JMES = {"engine": "jmespath", "summary": "check.name", "dedup_key": "check.id", "status": "state",
        "severity": "priority", "labels": "tags"}
JINJA = {"engine": "jinja2", "summary": "{{ check.name }} on {{ payload.host }}", "dedup_key": "{{ check.id }}",
         "status": "{{ state | lower }}", "severity": "{{ priority }}", "labels": "{{ tags | tojson }}"}


def _map(config, body):
    return map_payload(validate_mapping(config), body)


def _reasons(config, body):
    with pytest.raises(Rejected) as info:
        _map(config, body)
    assert info.value.status == 400
    return info.value.errors


@pytest.mark.parametrize("config,summary", [(JMES, "checkout latency"), (JINJA, "checkout latency on web-3")])
def test_both_engines_map_the_same_body(config, summary):
    [event] = _map(config, CHECK)
    assert event.action is Action.trigger
    assert event.dedup_key == "generic:1:chk-17"
    assert event.summary == summary
    assert event.severity is AlertSeverity.critical
    assert event.labels == {"team": "payments", "region": "eu", "shard": "4"}
    assert event.payload == CHECK


@pytest.mark.parametrize("state,action", [
    ("firing", Action.trigger), ("Alerting", Action.trigger), ("TRIGGERED", Action.trigger),
    ("trigger", Action.trigger), ("problem", Action.trigger), ("critical", Action.trigger), ("open", Action.trigger),
    ("", Action.trigger), (None, Action.trigger),
    ("resolved", Action.resolve), ("OK", Action.resolve), ("normal", Action.resolve),
    ("recovered", Action.resolve), ("closed", Action.resolve), (" resolved\n", Action.resolve),
    ("acknowledged", Action.acknowledge), ("ack", Action.acknowledge),
])
def test_status_words(state, action):
    [event] = _map(JMES, {**CHECK, "state": state})
    assert event.action is action


def test_unknown_status_is_rejected_and_named():
    [reason] = _reasons(JMES, {**CHECK, "state": "snoozed"})
    assert reason.startswith("unknown status 'snoozed'")


@pytest.mark.parametrize("priority,severity", [
    ("critical", AlertSeverity.critical), ("high", AlertSeverity.critical), ("major", AlertSeverity.error),
    ("warn", AlertSeverity.warning), ("low", AlertSeverity.info), (None, AlertSeverity.error),
    ("whatever", AlertSeverity.error), (3, AlertSeverity.error),
])
def test_severity_words_match_alertmanager(priority, severity):
    [event] = _map(JMES, {**CHECK, "priority": priority})
    assert event.severity is severity


def test_alerts_expression_maps_each_item():
    config = {"engine": "jmespath", "alerts": "events[]", "summary": "msg", "dedup_key": "id", "status": "st"}
    body = {"events": [{"id": 1, "msg": "a", "st": "open"}, {"id": 2, "msg": "b", "st": "closed"}]}
    events = _map(config, body)
    assert [(e.dedup_key, e.summary, e.action) for e in events] == [
        ("generic:1:1", "a", Action.trigger), ("generic:1:2", "b", Action.resolve)]


def test_alerts_problems_are_reported_per_item():
    config = {"engine": "jinja2", "alerts": "events", "summary": "{{ msg }}", "status": "{{ st }}"}
    body = {"events": [{"msg": "ok", "st": "open"}, {"msg": "", "st": "open"}, {"msg": "x", "st": "??"}]}
    reasons = _reasons(config, body)
    assert reasons[0] == "alerts[1]: summary is empty after evaluating the mapping"
    assert reasons[1].startswith("alerts[2]: unknown status '??'")


@pytest.mark.parametrize("body,reason", [
    ({"events": "nope"}, "alerts expression selected a str, not a list"),
    ({}, "alerts expression selected null, not a list"),
    ({"events": list(range(1001))}, "alerts selected 1001 items; the limit is 1000"),
])
def test_alerts_must_select_a_list(body, reason):
    assert _reasons({"engine": "jmespath", "alerts": "events", "summary": "m"}, body) == [reason]


def test_empty_alerts_list_gives_no_events():
    assert _map({"engine": "jmespath", "alerts": "events", "summary": "m"}, {"events": []}) == []


def test_without_a_dedup_key_the_item_hash_is_stable():
    config = {"engine": "jmespath", "summary": "m"}
    [a] = _map(config, {"m": "disk full", "host": "a"})
    [b] = _map(config, {"host": "a", "m": "disk full"})
    [c] = _map(config, {"m": "disk full", "host": "b"})
    assert a.dedup_key == b.dedup_key != c.dedup_key
    assert a.dedup_key.startswith("generic:1:") and len(a.dedup_key) == len("generic:1:") + 32


def test_empty_rendered_key_falls_back_to_the_hash():
    [event] = _map(JINJA, {**CHECK, "check": {"name": "n"}})
    assert len(event.dedup_key) == len("generic:1:") + 32


def test_long_rendered_key_is_hashed_the_same_way_every_time():
    body = {**CHECK, "check": {"name": "n", "id": "k" * 1000}}
    [first], [again] = _map(JMES, body), _map(JMES, {**body, "state": "resolved"})
    assert len(first.dedup_key) <= MAX_DEDUP_KEY
    assert first.dedup_key == again.dedup_key


def test_summary_is_truncated_and_unicode_survives():
    [event] = _map(JMES, {**CHECK, "check": {"name": "\u00fc\U0001f525" * 2000, "id": 1}})
    assert len(event.summary) == MAX_SUMMARY


@pytest.mark.parametrize("config,body,reason", [
    (JMES, {**CHECK, "check": {"name": ""}}, "summary is empty after evaluating the mapping"),
    (JMES, {**CHECK, "check": {"name": "   "}}, "summary is empty after evaluating the mapping"),
    (JMES, {"state": "ok"}, "summary is empty after evaluating the mapping"),
    (JMES, {**CHECK, "tags": ["a", "b"]}, "labels expression gave a list, not an object"),
    (JINJA, {**CHECK, "tags": "team=payments"}, "labels expression gave a str, not an object"),
    ({**JINJA, "labels": "team={{ tags.team }}"}, CHECK, "labels template did not render a JSON object"),
    ({"engine": "jmespath", "summary": "abs(name)"}, {"name": "x"}, "summary could not be evaluated: JMESPathTypeError"),
    ({"engine": "jinja2", "summary": "{{ 1 / count }}"}, {"count": 0}, "summary could not be evaluated: ZeroDivisionError"),
    ({"engine": "jinja2", "summary": "{{ x.y.z + 1 }}"}, {}, "summary could not be evaluated: UndefinedError"),
])
def test_bad_results_are_rejected_with_a_reason(config, body, reason):
    reasons = _reasons(config, body)
    assert any(r.startswith(reason) for r in reasons), reasons


def test_missing_values_render_empty_in_jinja():
    config = {"engine": "jinja2", "summary": "{{ title }}[{{ payload.a.b.c }}]{{ nope['x'] }}"}
    [event] = _map(config, {"title": "T"})
    assert event.summary == "T[]"


def test_jinja_output_is_not_html_escaped():
    [event] = _map({"engine": "jinja2", "summary": "{{ m }}"}, {"m": "p99 < 200ms & \"fast\""})
    assert event.summary == "p99 < 200ms & \"fast\""


@pytest.mark.parametrize("template", [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ payload.__class__.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ range.__self__ }}",
    "{{ '{0.__class__}'.format(payload) }}",
    "{{ self._TemplateReference__context }}",
    "{% set x = payload.update({'m': 'pwned'}) %}{{ payload.m }}",
])
def test_sandbox_escapes_are_refused(template):
    # refused outright, or neutralised to nothing (then the empty summary is refused)
    reasons = _reasons({"engine": "jinja2", "summary": template}, {"m": "hello"})
    assert any("could not be evaluated" in r or "summary is empty" in r for r in reasons), reasons
    assert not any("<class" in r or "pwned" in r for r in reasons), reasons


@pytest.mark.parametrize("template", [
    "{{ 'x' * 1000000000 }}",
    "{{ 9 ** 999999999 }}",
    "{{ lipsum(1000000) }}",
    "{% for i in range(100000) %}xxxxxxxxxx{% endfor %}",
    "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "{{ 'x'.center(1000000000) }}",
    "{{ 'x' | center(1000000000) }}",
    "{{ 'x' | indent(1000000000, true) }}",
    "{{ '%999999999d' % 1 }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ '%999999999d' | format(1) }}",
    "{{ ('x' * 60000) | replace('x', 'x' * 60000) }}",
    "{{ ('x' * 60000).replace('x', 'yy') }}",
    "{{ (2 ** 60000) * (2 ** 60000) }}",
    "{{ [1] * 100000 }}",
    "{{ 'x' * 60000 + 'y' * 60000 }}",
    "{{ range(10) | slice(1000000000) | list }}",
])
def test_resource_exhaustion_is_refused(template):
    reasons = _reasons({"engine": "jinja2", "summary": template}, {})
    assert any("could not be evaluated" in r for r in reasons), reasons


@pytest.mark.parametrize("template,expected", [
    # large values from the payload are fine; only sizes a template asks for are bounded
    ("{{ ts }} {{ ts | int }} {{ ts | tojson }} {{ ts | string | length }}", "1772366400 1772366400 1772366400 10"),
    ("{{ '%05d' % n }} {{ '{:>4}'.format(n) }} {{ 'ab' | center(6) }}", "00042   42   ab"),
    ("{{ tags | dictsort | map('last') | join(',') }}", "x,y"),
    ("{{ msg | replace('disk', 'volume') | upper }}", "VOLUME FULL"),
])
def test_ordinary_templates_still_work(template, expected):
    body = {"ts": 1772366400, "n": 42, "tags": {"a": "x", "b": "y"}, "msg": "disk full"}
    [event] = _map({"engine": "jinja2", "summary": template}, body)
    assert event.summary == expected


def test_nul_characters_are_made_storable():
    [event] = _map(JINJA, {**CHECK, "check": {"name": "a\x00b", "id": "k\x00"}})
    assert event.summary == "a\ufffdb on web-3"
    assert event.dedup_key == "generic:1:k\ufffd"


@pytest.mark.parametrize("body", [["a", "b"], "just text", 42, None])
def test_non_object_bodies_do_not_crash(body):
    [event] = _map({"engine": "jinja2", "summary": "got {{ payload }}"}, body)
    assert event.summary.startswith("got")


@pytest.mark.parametrize("config,message", [
    ("jmespath", "mapping must be an object"),
    ({"summary": "a"}, "mapping engine must be one of"),
    ({"engine": "python", "summary": "a"}, "mapping engine must be one of"),
    ({"engine": "jmespath"}, "mapping summary is required"),
    ({"engine": "jmespath", "summary": "  "}, "mapping summary is required"),
    ({"engine": "jmespath", "summary": "a", "sumary": "b"}, "unknown mapping keys: sumary"),
    ({"engine": "jmespath", "summary": "a", "severity": 3}, "mapping severity must be a string"),
    ({"engine": "jmespath", "summary": "a[?"}, "mapping summary is not a valid JMESPath expression"),
    ({"engine": "jmespath", "summary": "a", "alerts": "]["}, "mapping alerts is not a valid JMESPath"),
    ({"engine": "jinja2", "summary": "{{ a"}, "mapping summary is not a valid Jinja2 template"),
    ({"engine": "jinja2", "summary": "a", "status": "{% if %}"}, "mapping status is not a valid Jinja2"),
    # alerts is JMESPath even when the engine is jinja2
    ({"engine": "jinja2", "summary": "a", "alerts": "{{ events }}"}, "mapping alerts is not a valid JMESPath"),
    ({"engine": "jmespath", "summary": "a" * 5000}, "mapping summary is longer than 4000 characters"),
])
def test_validate_mapping_explains_what_is_wrong(config, message):
    with pytest.raises(ValueError, match="^" + message.replace("[", r"\[").replace("?", r"\?")):
        validate_mapping(config)


def test_validated_mapping_keeps_its_configuration():
    mapping = validate_mapping(dict(JINJA))
    assert mapping.engine == "jinja2"
    assert mapping.config == JINJA

"""Presets for the generic integration: each maps its sender's documented payload to the alert a responder expects.

Each sample under tests/fixtures/presets/ follows the page named beside its case below.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tocsin.inbound.generic import map_payload, validate_mapping
from tocsin.inbound.presets import PRESETS, sns_confirmation
from tocsin.inbound.types import Action, AlertSeverity, Rejected

FIXTURES = Path(__file__).parent.parent / "fixtures" / "presets"


def _sample(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _one(name: str, body: Any, **overrides: Any):
    events = map_payload(validate_mapping({"preset": name, **overrides}), body)
    assert len(events) == 1
    return events[0]


def _sns_alarm(body: dict[str, Any], state: str) -> dict[str, Any]:
    message = json.loads(body["Message"])
    message["OldStateValue"], message["NewStateValue"] = message["NewStateValue"], state
    return {**body, "Message": json.dumps(message)}


def _set(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    target = out
    *parents, last = path.split(".")
    for part in parents:
        target = target[part]
    target[last] = value
    return out


# name, summary, severity, dedup key, and a change to the sample that makes it the matching resolve
CASES = [
    # https://docs.datadoghq.com/integrations/webhooks/ (default payload; titles as monitors render them)
    ("datadog", "CPU usage high", AlertSeverity.error, "on {host:web-1} CPU usage high",
     ("title", "[Recovered on {host:web-1}] CPU usage high")),
    # https://docs.newrelic.com/docs/alerts/get-notified/notification-integrations/#webhook (default template)
    ("newrelic", "Memory Used % > 90 for at least 2 minutes on 'checkout'", AlertSeverity.critical,
     "d1b1f3fd-995a-4066-88ab-8ce4f6960654", ("state", "CLOSED")),
    # https://docs.sentry.io/organization/integrations/integration-platform/webhooks/issue-alerts/
    # (issue alerts only fire; the resolve is a metric alert's `resolved`, checked separately below)
    ("sentry", "ReferenceError: heck is not defined", AlertSeverity.error, "1117540176", None),
    # https://docs.honeycomb.io/notify/alert/webhook/ (default webhook payload)
    ("honeycomb", "Slow checkout requests", AlertSeverity.error, "2t5jGKWqhBd", ("status", "OK")),
    # https://github.com/louislam/uptime-kuma/wiki/Notification-Methods (webhook, application/json)
    ("uptime-kuma", "Shop front: connect ECONNREFUSED 10.0.0.5:443", AlertSeverity.critical, "7",
     ("heartbeat.status", 1)),
    # https://github.com/TwiN/gatus#configuring-custom-alerts (body from the preset's template)
    ("gatus", "core/website - healthcheck failed 3 times in a row", AlertSeverity.critical, "core/website",
     ("status", "RESOLVED")),
    # https://www.zabbix.com/documentation/current/en/manual/config/notifications/media/webhook (macros)
    ("zabbix", "High CPU utilization (over 90% for 5m)", AlertSeverity.error, "3452", ("event_value", "0")),
    # https://www.elastic.co/guide/en/kibana/current/webhook-action-type.html (rule action variables)
    ("elastic", "Error rate above 5%: Document count is 42 in the last 5m. Alert when greater than 10.",
     AlertSeverity.error, "a6b1c2d3-0000-4000-8000-000000000001/query matched", ("action_group", "recovered")),
    # https://learn.microsoft.com/en-us/azure/azure-monitor/alerts/alerts-payload-samples (the sample is a resolve)
    ("azure-monitor", "WCUS-R2-Gen2", AlertSeverity.info,
     "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/"
     "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e", None),
    # https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html carrying
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html's alarm message
    ("aws-sns", "HighCPU", AlertSeverity.error, "arn:aws:cloudwatch:us-west-2:123456789012:alarm:HighCPU", None),
]


def test_every_preset_has_a_case_and_a_sample():
    assert sorted(PRESETS) == sorted(case[0] for case in CASES)
    assert all((FIXTURES / f"{name}.json").is_file() for name in PRESETS)


@pytest.mark.parametrize(("name", "summary", "severity", "key", "resolve"), CASES, ids=[c[0] for c in CASES])
def test_preset_maps_the_documented_payload(name, summary, severity, key, resolve):
    body = _sample(name)
    event = _one(name, body)
    assert event.summary == summary
    assert event.severity is severity
    assert event.dedup_key == "generic:1:" + key
    assert event.source  # every preset names where the alert comes from
    if name == "azure-monitor":
        assert event.action is Action.resolve  # Microsoft's sample is the alert's resolve
        fired = _one(name, _set(body, "data.essentials.monitorCondition", "Fired"))
        assert (fired.action, fired.dedup_key) == (Action.trigger, event.dedup_key)
        return
    assert event.action is Action.trigger
    if resolve is not None:
        resolved = _one(name, _set(body, *resolve))
        assert resolved.action is Action.resolve
        assert resolved.dedup_key == event.dedup_key  # the resolve closes the alert it triggered


def test_aws_sns_ok_resolves_and_insufficient_data_warns():
    body = _sample("aws-sns")
    alarm = _one("aws-sns", body)
    ok = _one("aws-sns", _sns_alarm(body, "OK"))
    assert (ok.action, ok.dedup_key) == (Action.resolve, alarm.dedup_key)
    missing = _one("aws-sns", _sns_alarm(body, "INSUFFICIENT_DATA"))
    assert (missing.action, missing.severity) == (Action.trigger, AlertSeverity.warning)
    assert alarm.details["alarm"]["Trigger"]["MetricName"] == "CPUUtilization"  # the alarm, decoded


def test_sentry_metric_alert_resolves_and_levels_map():
    metric = {"action": "critical", "data": {"description_title": "Too many errors", "web_url": "https://sentry.io/x",
                                             "metric_alert": {"id": "321", "alert_rule": {"name": "Errors"}}}}
    fired = _one("sentry", metric)
    assert (fired.action, fired.severity, fired.dedup_key) == (Action.trigger, AlertSeverity.critical,
                                                              "generic:1:321")
    assert _one("sentry", {**metric, "action": "resolved"}).action is Action.resolve
    fatal = _set(_sample("sentry"), "data.event.level", "fatal")
    assert _one("sentry", fatal).severity is AlertSeverity.critical


def test_datadog_warn_is_a_warning_and_unknown_transitions_still_page():
    body = _sample("datadog")
    assert _one("datadog", _set(body, "title", "[Warn on {host:web-1}] CPU usage high")).severity \
        is AlertSeverity.warning
    odd = _one("datadog", _set(body, "title", "[Something new] CPU usage high"))
    assert odd.action is Action.trigger  # a word no preset knows must not lose the alert


def test_overrides_replace_preset_fields_and_extend_its_maps():
    body = _sample("zabbix")
    event = _one("zabbix", body, severity="'critical'", summary="join(' on ', [event_name, host_name])")
    assert (event.summary, event.severity) == ("High CPU utilization (over 90% for 5m) on db-1",
                                               AlertSeverity.critical)
    mapped = _one("zabbix", _set(body, "event_severity", "Average"), severity_map={"average": "critical"})
    assert mapped.severity is AlertSeverity.critical
    assert validate_mapping({"preset": "zabbix", "severity": "'info'"}).config == {"preset": "zabbix",
                                                                                   "severity": "'info'"}


@pytest.mark.parametrize(("config", "reason"), [
    ({"preset": "nagios"}, "unknown preset"),
    ({"preset": "zabbix", "status_map": {"1": "exploded"}}, "status_map"),
    ({"preset": "zabbix", "severity": "[["}, "not a valid JMESPath"),
    ({"preset": "zabbix", "engine": "jinja2"}, "JMESPath"),
])
def test_bad_preset_configs_are_refused(config, reason):
    with pytest.raises(ValueError, match=reason):
        validate_mapping(config)


def test_links_keep_only_web_addresses():
    body = _set(_sample("zabbix"), "event_url", "javascript:alert(1)")
    assert _one("zabbix", body).links == []


@pytest.mark.parametrize("url", [
    "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=x",  # not https
    "https://sns.us-east-1.amazonaws.com.evil.example/?Action=ConfirmSubscription&Token=x",
    "https://evil.example/?Action=ConfirmSubscription&host=sns.us-east-1.amazonaws.com",
    "https://user@sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=x",
    "https://sns.us-east-1.amazonaws.com:8443/?Action=ConfirmSubscription&Token=x",
    "https://sns.us-east-1.amazonaws.com/?Action=Publish&Message=x",
    "https://127.0.0.1/?Action=ConfirmSubscription",
    "https://sns.us-east-1.amazonaws.com/?Action=Publish&x=Action=ConfirmSubscription",  # another SNS action
    "https://sns.us-east-1.amazonaws.com\n/?Action=ConfirmSubscription",  # urlsplit drops the \n, httpx does not
])
def test_sns_confirmation_refuses_addresses_off_sns(url):
    with pytest.raises(Rejected) as info:
        sns_confirmation({"Type": "SubscriptionConfirmation", "SubscribeURL": url})
    assert info.value.status == 400


def test_sns_confirmation_accepts_the_documented_subscribe_url():
    # https://docs.aws.amazon.com/sns/latest/dg/http-subscription-confirmation-json.html
    url = ("https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:"
           "123456789012:MyTopic&Token=2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba"
           "6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798")
    assert sns_confirmation({"Type": "SubscriptionConfirmation", "SubscribeURL": url}) == url

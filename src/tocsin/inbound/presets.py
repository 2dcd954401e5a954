"""Presets: named, shipped mappings for the generic integration, one per sending tool.

An integration's mapping may be `{"preset": "datadog"}`, or start from a preset and override
fields: `{"preset": "datadog", "severity": "'critical'"}`. The stored configuration keeps the
preset's name, not a copy, so a fixed preset reaches every integration that uses it.
Expressions are JMESPath with tocsin's few extra functions (`parse_json`, `tag`, `untagged`,
`words`, `lower`; see `generic.py`). Each preset was written against the payload its sender
documents; tests/inbound/test_presets.py holds one such payload per preset.
AWS SNS also needs its subscription confirmed: `sns_confirmation` checks the address SNS asks
us to visit; the ingest layer visits it (through the egress guard) after the request is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tocsin.inbound.types import Rejected


@dataclass(frozen=True)
class Preset:
    name: str  # the config value: {"preset": name}
    title: str  # for the console's picker
    docs: str  # the sender's page describing what it sends
    mapping: dict[str, Any]  # jmespath mapping fields; `engine` is implied
    setup: str = ""  # what to set in the sender, beyond pasting the URL
    body: dict[str, Any] | None = field(default=None)  # a body template to paste, where the sender needs one


_RESOLVED_FIRING = {"resolved": "resolved", "*": "firing"}

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset(
        "datadog", "Datadog (webhook, default payload)", "https://docs.datadoghq.com/integrations/webhooks/",
        {
            # The default payload's title is "[Triggered on {host:web-1}] CPU high"; the word in the
            # tag is the transition, the rest of the tag the scope (multi-alert monitors).
            "summary": "untagged(title) || title",
            "status": "alert_transition || words(tag(title))[0]",
            "severity": "alert_type || words(tag(title))[0]",
            "dedup_key": "alert_cycle_key || join(' ', [join(' ', words(tag(title))[1:]), untagged(title)])",
            "source": "hostname || org.name",
            "links": "link",
            "details": "@",
            "status_map": {"triggered": "firing", "re-triggered": "firing", "warn": "firing", "no": "firing",
                           "renotify": "firing", "recovered": "resolved", "success": "resolved", "*": "firing"},
            "severity_map": {"triggered": "error", "re-triggered": "error", "warn": "warning", "warning": "warning",
                             "no": "warning", "info": "info", "success": "info", "*": "error"},
        },
        "Integrations → Webhooks → New: paste the URL, keep the default payload, then mention "
        "@webhook-NAME in each monitor's message.",
    ),
    Preset(
        "newrelic", "New Relic (workflow webhook)",
        "https://docs.newrelic.com/docs/alerts/get-notified/notification-integrations/#webhook",
        {
            "summary": "title",
            "status": "state",
            "severity": "priority",
            "dedup_key": "id",
            "source": "join(', ', impactedEntities || `[]`) || join(', ', sources || `[]`)",
            "links": "issueUrl",
            "details": "@",
            "status_map": {"created": "firing", "activated": "firing", "acknowledged": "acknowledged",
                           "closed": "resolved", "*": "firing"},
            "severity_map": {"critical": "critical", "high": "error", "medium": "warning", "low": "info"},
        },
        "Alerts → Destinations → Webhook: paste the URL. In the workflow, add the destination and keep "
        "the default payload template.",
    ),
    Preset(
        "sentry", "Sentry (issue and metric alert webhooks)",
        "https://docs.sentry.io/organization/integrations/integration-platform/webhooks/issue-alerts/",
        {
            "summary": "data.event.title || data.description_title",
            "status": "action",
            "severity": "data.event.level || action",
            "dedup_key": "data.event.issue_id || data.metric_alert.id",
            "source": "data.event.culprit || data.metric_alert.alert_rule.name",
            "links": "data.event.web_url || data.web_url",
            "details": "data",
            "status_map": {"triggered": "firing", "critical": "firing", "warning": "firing",
                           "resolved": "resolved", "*": "firing"},
            "severity_map": {"fatal": "critical", "critical": "critical", "error": "error", "warning": "warning",
                             "info": "info", "debug": "info"},
        },
        "Settings → Developer Settings → New Internal Integration: paste the URL as Webhook URL, turn on "
        "Alert Rule Action, then pick the integration as an action of your alert rules.",
    ),
    Preset(
        "honeycomb", "Honeycomb (trigger webhook)", "https://docs.honeycomb.io/notify/alert/webhook/",
        {
            "summary": "name || summary",
            "status": "status",
            "severity": "'error'",
            "dedup_key": "id",
            "source": "name",
            "links": "[result_url, trigger_url][?@]",
            "details": "@",
            "status_map": {"triggered": "firing", "ok": "resolved", "*": "firing"},
        },
        "Team settings → Integrations → Webhook: paste the URL (no template needed), then add it as a "
        "recipient of the trigger.",
    ),
    Preset(
        "uptime-kuma", "Uptime Kuma (webhook notification)",
        "https://github.com/louislam/uptime-kuma/wiki/Notification-Methods",
        {
            "summary": "join(': ', [monitor.name, heartbeat.msg][?@]) || msg",
            "status": "heartbeat.status",
            "severity": "'critical'",
            "dedup_key": "monitor.id || monitor.name || msg",
            "source": "monitor.name",
            "links": "monitor.url",
            "details": "@",
            # heartbeat.status: 0 down, 1 up, 2 pending, 3 maintenance; a test notification has none
            "status_map": {"0": "firing", "1": "resolved", "2": "firing", "3": "resolved", "*": "firing"},
        },
        "Settings → Notifications → Setup Notification: type Webhook, paste the URL, Request Body "
        "\"Preset - application/json\".",
    ),
    Preset(
        "gatus", "Gatus (custom alerting provider)",
        "https://github.com/TwiN/gatus#configuring-custom-alerts",
        {
            "summary": "join(' - ', [[group, endpoint][?@] | join('/', @), description][?@])",
            "status": "status",
            "severity": "'critical'",
            "dedup_key": "join('/', [group, endpoint][?@])",
            "source": "endpoint",
            "links": "url",
            "details": "@",
            "status_map": _RESOLVED_FIRING,
        },
        "In gatus config.yaml: alerting.custom with url set to the URL, method POST and the body below; "
        "then alerts: [{type: custom, send-on-resolved: true}] on each endpoint.",
        {"status": "[ALERT_TRIGGERED_OR_RESOLVED]", "endpoint": "[ENDPOINT_NAME]", "group": "[ENDPOINT_GROUP]",
         "url": "[ENDPOINT_URL]", "description": "[ALERT_DESCRIPTION]", "errors": "[RESULT_ERRORS]"},
    ),
    Preset(
        "zabbix", "Zabbix (webhook media type)",
        "https://www.zabbix.com/documentation/current/en/manual/config/notifications/media/webhook",
        {
            "summary": "event_name",
            "status": "event_value",
            "severity": "event_severity",
            "dedup_key": "event_id",
            "source": "host_name",
            "links": "event_url",
            "details": "@",
            # {EVENT.VALUE}: 1 problem, 0 recovery (a recovery message carries the problem's {EVENT.ID})
            "status_map": {"1": "firing", "0": "resolved", "*": "firing"},
            "severity_map": {"disaster": "critical", "high": "error", "average": "warning", "warning": "warning",
                             "information": "info", "not classified": "info"},
        },
        "Alerts → Media types → Create: type Webhook, add one parameter per key of the body below (values "
        "are the macros), a parameter URL with the URL, and this script: "
        "var p = JSON.parse(value), r = new HttpRequest(); r.addHeader('Content-Type: application/json'); "
        "var url = p.URL; delete p.URL; r.post(url, JSON.stringify(p)); if (r.getStatus() >= 300) "
        "throw 'tocsin answered ' + r.getStatus(); return 'OK';",
        {"event_id": "{EVENT.ID}", "event_value": "{EVENT.VALUE}", "event_name": "{EVENT.NAME}",
         "event_severity": "{EVENT.SEVERITY}", "host_name": "{HOST.NAME}", "trigger_id": "{TRIGGER.ID}",
         "event_url": "{$ZABBIX.URL}/tr_events.php?triggerid={TRIGGER.ID}&eventid={EVENT.ID}",
         "event_tags": "{EVENT.TAGS}"},
    ),
    Preset(
        "elastic", "Elastic / Kibana (webhook connector)",
        "https://www.elastic.co/guide/en/kibana/current/webhook-action-type.html",
        {
            "summary": "join(': ', [rule_name, reason || message][?@])",
            "status": "action_group",
            "severity": "severity || 'error'",
            "dedup_key": "join('/', [rule_id, alert_id][?@])",
            "source": "rule_name",
            "links": "url",
            "details": "@",
            "status_map": {"recovered": "resolved", "*": "firing"},
        },
        "Stack Management → Connectors → Webhook: POST to the URL. In each rule, add two actions with this "
        "connector and the body below: one on the rule's action group, one on Recovered.",
        {"rule_id": "{{rule.id}}", "rule_name": "{{rule.name}}", "alert_id": "{{alert.id}}",
         "action_group": "{{alert.actionGroup}}", "reason": "{{context.reason}}", "message": "{{context.message}}",
         "url": "{{{rule.url}}}", "date": "{{date}}"},
    ),
    Preset(
        "azure-monitor", "Azure Monitor (common alert schema)",
        "https://learn.microsoft.com/en-us/azure/azure-monitor/alerts/alerts-common-schema",
        {
            "summary": "join(': ', [data.essentials.alertRule, data.essentials.description][?@])",
            "status": "data.essentials.monitorCondition",
            "severity": "data.essentials.severity",
            "dedup_key": "data.essentials.alertId",
            "source": "data.essentials.configurationItems[0] || data.essentials.monitoringService",
            "details": "data",
            "status_map": {"fired": "firing", "resolved": "resolved", "*": "firing"},
            "severity_map": {"sev0": "critical", "sev1": "error", "sev2": "warning", "sev3": "info", "sev4": "info"},
        },
        "Action group → Actions → Webhook: paste the URL and turn on \"Enable the common alert schema\".",
    ),
    Preset(
        "aws-sns", "AWS SNS / CloudWatch alarm",
        "https://docs.aws.amazon.com/sns/latest/dg/sns-http-https-endpoint-as-subscriber.html",
        {
            "summary": "parse_json(Message).AlarmName || Subject || Message",
            "status": "parse_json(Message).NewStateValue",
            "severity": "parse_json(Message).NewStateValue",
            "dedup_key": "parse_json(Message).AlarmArn || MessageId",
            "source": "parse_json(Message).Region || TopicArn",
            "details": "{sns: {TopicArn: TopicArn, MessageId: MessageId, Subject: Subject}, "
                       "alarm: parse_json(Message)}",
            "status_map": {"alarm": "firing", "insufficient_data": "firing", "ok": "resolved", "*": "firing"},
            "severity_map": {"alarm": "error", "insufficient_data": "warning", "ok": "info"},
        },
        "SNS → Topics → Create subscription: protocol HTTPS, endpoint the URL. tocsin confirms the "
        "subscription itself. Point the CloudWatch alarm's actions (ALARM and OK) at the topic.",
    ),
)}

# SNS asks for confirmation with a SubscribeURL on its own regional endpoint, e.g.
# https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=...&Token=...
_SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
MAX_SUBSCRIBE_URL = 4096


def preset_names() -> list[str]:
    return sorted(PRESETS)


def expand(config: dict[str, Any]) -> dict[str, Any]:
    """Return `config` with its preset's fields under its own; raise ValueError for an unknown preset."""
    name = config.get("preset")
    if name is None:
        return config
    preset = PRESETS.get(name) if isinstance(name, str) else None
    if preset is None:
        raise ValueError(f"unknown preset {str(name)[:50]!r} (known: {', '.join(preset_names())})")
    if config.get("engine", "jmespath") != "jmespath":
        raise ValueError("a preset's fields are JMESPath: leave engine out, or set it to jmespath")
    merged: dict[str, Any] = {"engine": "jmespath", **preset.mapping}
    for key, value in config.items():
        if key == "preset":
            continue
        if key in ("status_map", "severity_map") and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def is_sns(config: dict[str, Any]) -> bool:
    return config.get("preset") == "aws-sns"


def sns_message_type(payload: Any) -> str:
    """SNS's `Type`: Notification, SubscriptionConfirmation or UnsubscribeConfirmation ("" if absent)."""
    return str(payload.get("Type") or "") if isinstance(payload, dict) else ""


def sns_confirmation(payload: Any) -> str:
    """Return the SubscribeURL of an SNS SubscriptionConfirmation, if tocsin may visit it; raise Rejected.

    Only https on an SNS regional endpoint (sns.<region>.amazonaws.com), default port, no user
    information, with Action=ConfirmSubscription: anything else could make tocsin fetch an address
    of the sender's choosing.
    """
    url = payload.get("SubscribeURL") if isinstance(payload, dict) else None
    if not isinstance(url, str) or not url or len(url) > MAX_SUBSCRIBE_URL or not url.isprintable() or " " in url:
        raise Rejected("payload is invalid", ["SNS SubscriptionConfirmation without a usable SubscribeURL"])
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Rejected("payload is invalid", ["SubscribeURL is not a valid URL"]) from None
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or port not in (None, 443) or parts.username or parts.password \
            or not _SNS_HOST.match(host):
        raise Rejected("payload is invalid", ["SubscribeURL must be https on an Amazon SNS endpoint "
                                              "(sns.<region>.amazonaws.com); tocsin did not visit it"])
    if parse_qs(parts.query).get("Action") != ["ConfirmSubscription"]:  # not `x=Action=ConfirmSubscription`
        raise Rejected("payload is invalid", ["SubscribeURL is not an SNS ConfirmSubscription request"])
    return url

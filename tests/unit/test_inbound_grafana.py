"""Grafana unified alerting webhooks: parsing, and the optional HMAC signature."""

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from tocsin.inbound.grafana import parse_webhook, verify_signature
from tocsin.inbound.types import Action, AlertSeverity, Rejected

# Grafana docs example (webhook-notifier.md), wire-formats.md section 5
GRAFANA = {
    "receiver": "My Super Webhook",
    "status": "firing",
    "orgId": 1,
    "alerts": [{
        "status": "firing",
        "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
        "annotations": {"description": "The system has high memory usage",
                        "runbook_url": "https://myrunbook.com/runbook/1234",
                        "summary": "This alert was triggered for zone us-1"},
        "startsAt": "2021-10-12T09:51:03.157076+02:00",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
        "fingerprint": "c6eadffa33fcdf37",
        "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
        "dashboardURL": "",
        "panelURL": "",
        "values": {"B": 44.23943737541908, "C": 1},
    }],
    "groupLabels": {},
    "commonLabels": {"team": "blue"},
    "commonAnnotations": {},
    "externalURL": "https://play.grafana.org/",
    "version": "1",
    "groupKey": "{}:{}",
    "truncatedAlerts": 0,
    "title": "[FIRING:2]  (blue)",
    "state": "alerting",
    "message": "**Firing**\n\nLabels:\n - alertname = T2\n ...",
}

SECRET = "test-hmac-secret"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BODY = json.dumps(GRAFANA).encode()


def _sign(body: bytes, timestamp: str | None = None, secret: str = SECRET) -> str:
    message = body if timestamp is None else timestamp.encode() + b":" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_docs_example():
    [event] = parse_webhook(copy.deepcopy(GRAFANA))
    assert event.action is Action.trigger
    assert event.dedup_key == "grafana:1:c6eadffa33fcdf37"
    assert event.summary == "This alert was triggered for zone us-1"
    assert event.severity is AlertSeverity.error
    assert event.source == "grafana"
    assert event.occurred_at == datetime(2021, 10, 12, 7, 51, 3, 157076, tzinfo=UTC)
    # empty dashboard/panel URLs are not links
    assert [link["text"] for link in event.links] == ["Source", "Silence", "Runbook"]
    assert event.details["values"] == {"B": 44.23943737541908, "C": 1}
    assert event.details["description"] == "The system has high memory usage"
    assert event.payload["groupKey"] == "{}:{}"


def test_dashboard_panel_and_image_urls_become_links():
    body = copy.deepcopy(GRAFANA)
    body["alerts"][0].update(dashboardURL="https://g/d/abc", panelURL="https://g/d/abc?viewPanel=2",
                             imageURL="https://g/img.png")
    [event] = parse_webhook(body)
    assert [link["text"] for link in event.links] == ["Source", "Dashboard", "Panel", "Silence", "Image", "Runbook"]


def test_resolved_grafana_alert():
    body = copy.deepcopy(GRAFANA)
    body["alerts"][0].update(status="resolved", endsAt="2021-10-12T10:00:00+02:00")
    [event] = parse_webhook(body)
    assert event.action is Action.resolve
    assert event.dedup_key == "grafana:1:c6eadffa33fcdf37"
    assert event.occurred_at == datetime(2021, 10, 12, 8, 0, tzinfo=UTC)


def test_annotation_named_values_wins_over_the_extra():
    body = copy.deepcopy(GRAFANA)
    body["alerts"][0]["annotations"]["values"] = "see dashboard"
    [event] = parse_webhook(body)
    assert event.details["values"] == "see dashboard"
    assert event.payload["values"] == {"B": 44.23943737541908, "C": 1}


@pytest.mark.parametrize("body", [None, "x", [GRAFANA], {"alerts": "none"}, {"alerts": [{"status": "firing"}]}])
def test_invalid_bodies_are_rejected(body):
    with pytest.raises(Rejected) as info:
        parse_webhook(body)
    assert info.value.status == 400


@pytest.mark.parametrize("headers,kwargs", [
    ({"X-Grafana-Alerting-Signature": _sign(BODY)}, {}),
    ({"x-grafana-alerting-signature": _sign(BODY)}, {}),  # header names are case-insensitive
    ({"X-Grafana-Alerting-Signature": _sign(BODY).upper()}, {}),
    ({"X-Grafana-Alert-Signature": _sign(BODY)}, {}),  # grafana/alerting's fallback name
    ({"X-Sig": _sign(BODY)}, {"header": "X-Sig"}),
    ({"X-Grafana-Alerting-Signature": _sign(BODY, "1772366400"), "X-Grafana-Alerting-Timestamp": "1772366400"},
     {"timestamp_header": "X-Grafana-Alerting-Timestamp"}),
    # 299 s early and late are within the default window
    ({"X-Grafana-Alerting-Signature": _sign(BODY, "1772366101"), "x-grafana-alerting-timestamp": "1772366101"},
     {"timestamp_header": "X-Grafana-Alerting-Timestamp"}),
    ({"X-Grafana-Alerting-Signature": _sign(BODY, "1772366699"), "X-Grafana-Alerting-Timestamp": "1772366699"},
     {"timestamp_header": "X-Grafana-Alerting-Timestamp"}),
])
def test_valid_signatures_pass(headers, kwargs):
    assert NOW.timestamp() == 1772366400
    assert verify_signature(BODY, headers, secret=SECRET, now=NOW, **kwargs) is None


TS = "X-Grafana-Alerting-Timestamp"


@pytest.mark.parametrize("body,headers,kwargs,message", [
    (BODY, {}, {}, "missing signature"),
    (BODY, {"X-Grafana-Alerting-Signature": ""}, {}, "missing signature"),
    (BODY, {"X-Other": _sign(BODY)}, {}, "missing signature"),
    (BODY, {"X-Grafana-Alert-Signature": _sign(BODY)}, {"header": "X-Sig"}, "missing signature"),
    (BODY, {"X-Grafana-Alerting-Signature": _sign(BODY, secret="wrong")}, {}, "invalid signature"),
    (BODY + b" ", {"X-Grafana-Alerting-Signature": _sign(BODY)}, {}, "invalid signature"),
    (BODY, {"X-Grafana-Alerting-Signature": "sha256=" + _sign(BODY)}, {}, "invalid signature"),
    (BODY, {"X-Grafana-Alerting-Signature": "\u00e9" * 64}, {}, "invalid signature"),
    (BODY, {"X-Grafana-Alerting-Signature": "\x00"}, {}, "invalid signature"),
    # signed with a timestamp, but the integration does not expect one
    (BODY, {"X-Grafana-Alerting-Signature": _sign(BODY, "1772366400"), TS: "1772366400"}, {}, "invalid signature"),
    # the timestamp header is required once configured
    (BODY, {"X-Grafana-Alerting-Signature": _sign(BODY)}, {"timestamp_header": TS}, "missing timestamp"),
    (BODY, {"X-Grafana-Alerting-Signature": _sign(BODY, "soon"), TS: "soon"}, {"timestamp_header": TS},
     "missing timestamp"),
    (BODY, {"X-Grafana-Alerting-Signature": _sign(BODY, "-1"), TS: "-1"}, {"timestamp_header": TS},
     "missing timestamp"),
    (BODY, {"X-Grafana-Alerting-Signature": "00", TS: "9" * 5000}, {"timestamp_header": TS}, "missing timestamp"),
    (BODY, {"X-Grafana-Alerting-Signature": "00", TS: "\u0661\u0662"}, {"timestamp_header": TS},
     "missing timestamp"),
    # replay: a correctly signed request captured and sent again later (or a clock far ahead)
    (BODY, {"X-Grafana-Alerting-Signature": _sign(BODY, "1772366099"), TS: "1772366099"}, {"timestamp_header": TS},
     "stale timestamp"),
    (BODY, {"X-Grafana-Alerting-Signature": _sign(BODY, "1772366701"), TS: "1772366701"}, {"timestamp_header": TS},
     "stale timestamp"),
    # the timestamp is covered by the MAC: changing it breaks the signature
    (BODY, {"X-Grafana-Alerting-Signature": _sign(BODY, "1772366400"), TS: "1772366401"}, {"timestamp_header": TS},
     "invalid signature"),
])
def test_bad_signatures_are_refused_with_401(body, headers, kwargs, message):
    with pytest.raises(Rejected) as info:
        verify_signature(body, headers, secret=SECRET, now=NOW, **kwargs)
    assert info.value.status == 401
    assert info.value.message == message


def test_skew_window_is_configurable():
    stamp = str(int((NOW - timedelta(minutes=20)).timestamp()))
    headers = {"X-Grafana-Alerting-Signature": _sign(BODY, stamp), TS: stamp}
    verify_signature(BODY, headers, secret=SECRET, timestamp_header=TS, now=NOW, max_skew_seconds=3600)
    with pytest.raises(Rejected):
        verify_signature(BODY, headers, secret=SECRET, timestamp_header=TS, now=NOW)


def test_empty_secret_is_a_configuration_error():
    with pytest.raises(ValueError):
        verify_signature(BODY, {"X-Grafana-Alerting-Signature": _sign(BODY, secret="")}, secret="", now=NOW)

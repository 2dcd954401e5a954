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


NOW_TS = "1772366400"
TS = "X-Grafana-Alerting-Timestamp"


def _signed(body: bytes = BODY, stamp: str = NOW_TS, header: str = "X-Grafana-Alerting-Signature",
            secret: str = SECRET) -> dict[str, str]:
    return {header: _sign(body, stamp, secret), TS: stamp}


@pytest.mark.parametrize("headers,kwargs", [
    (_signed(), {}),
    ({k.lower(): v for k, v in _signed().items()}, {}),  # header names are case-insensitive
    ({"X-Grafana-Alerting-Signature": _sign(BODY, NOW_TS).upper(), TS: NOW_TS}, {}),
    (_signed(header="X-Grafana-Alert-Signature"), {}),  # grafana/alerting's fallback name
    (_signed(header="X-Sig"), {"header": "X-Sig"}),
    ({"X-Grafana-Alerting-Signature": _sign(BODY, NOW_TS), "X-When": NOW_TS}, {"timestamp_header": "X-When"}),
    # 299 s early and late are within the default window
    (_signed(stamp="1772366101"), {}),
    (_signed(stamp="1772366699"), {}),
])
def test_valid_signatures_pass(headers, kwargs):
    assert NOW.timestamp() == int(NOW_TS)
    assert verify_signature(BODY, headers, secret=SECRET, now=NOW, **kwargs) is None


@pytest.mark.parametrize("body,headers,kwargs,message", [
    (BODY, {TS: NOW_TS}, {}, "missing signature"),
    (BODY, {"X-Grafana-Alerting-Signature": "", TS: NOW_TS}, {}, "missing signature"),
    (BODY, {"X-Other": _sign(BODY, NOW_TS), TS: NOW_TS}, {}, "missing signature"),
    (BODY, _signed(header="X-Grafana-Alert-Signature"), {"header": "X-Sig"}, "missing signature"),
    (BODY, _signed(secret="wrong"), {}, "invalid signature"),
    (BODY + b" ", _signed(), {}, "invalid signature"),
    (BODY, {"X-Grafana-Alerting-Signature": "sha256=" + _sign(BODY, NOW_TS), TS: NOW_TS}, {}, "invalid signature"),
    (BODY, {"X-Grafana-Alerting-Signature": "\u00e9" * 64, TS: NOW_TS}, {}, "invalid signature"),
    (BODY, {"X-Grafana-Alerting-Signature": "\x00", TS: NOW_TS}, {}, "invalid signature"),
    # signed over the body alone (Grafana without timestampHeader): replayable forever, so refused
    (BODY, {"X-Grafana-Alerting-Signature": _sign(BODY)}, {}, "missing timestamp"),
    (BODY, {"X-Grafana-Alerting-Signature": _sign(BODY), TS: NOW_TS}, {}, "invalid signature"),
    # the timestamp is looked for in the header the integration names
    (BODY, _signed(), {"timestamp_header": "X-When"}, "missing timestamp"),
    (BODY, {"X-Grafana-Alerting-Signature": _sign(BODY, "soon"), TS: "soon"}, {}, "missing timestamp"),
    (BODY, {"X-Grafana-Alerting-Signature": _sign(BODY, "-1"), TS: "-1"}, {}, "missing timestamp"),
    (BODY, {"X-Grafana-Alerting-Signature": "00", TS: "9" * 5000}, {}, "missing timestamp"),
    (BODY, {"X-Grafana-Alerting-Signature": "00", TS: "\u0661\u0662"}, {}, "missing timestamp"),
    # replay: a correctly signed request captured and sent again later (or a clock far ahead)
    (BODY, _signed(stamp="1772366099"), {}, "stale timestamp"),
    (BODY, _signed(stamp="1772366701"), {}, "stale timestamp"),
    # the timestamp is covered by the MAC: changing it breaks the signature
    (BODY, {"X-Grafana-Alerting-Signature": _sign(BODY, NOW_TS), TS: "1772366401"}, {}, "invalid signature"),
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
        verify_signature(BODY, _signed(secret=""), secret="", now=NOW)
    with pytest.raises(ValueError):
        verify_signature(BODY, _signed(), secret=SECRET, timestamp_header="", now=NOW)

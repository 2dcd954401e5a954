"""Copy-ready sender configuration for a new integration key: what to paste into Alertmanager,
Grafana, a PagerDuty Events v2 client or a shell, built from the server's public address.

Pure: a function of the integration's type, the address, the key (and Grafana's signing secret).
The console shows these once, beside the key; nothing here is stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tocsin.inbound.presets import PRESETS

# The mapping a generic integration starts with in the console, and the body the curl snippet sends.
DEFAULT_GENERIC_MAPPING: dict[str, str] = {"engine": "jmespath", "summary": "title", "status": "state",
                                           "severity": "severity", "dedup_key": "id"}
_GENERIC_SAMPLE = {"title": "Disk almost full on db-1", "state": "firing", "severity": "critical",
                   "id": "db-1-disk"}


@dataclass(frozen=True)
class Snippet:
    title: str  # "Alertmanager receivers: block"
    language: str  # yaml | python | shell | text
    text: str
    note: str = ""


def ingest_url(base: str, kind: str, key: str) -> str:
    """The address a sender posts to (Events v2 carries the key in the body, Opsgenie in a header)."""
    base = base.rstrip("/")
    if kind == "opsgenie":
        return f"{base}/v2/alerts"
    return f"{base}/v2/enqueue" if kind == "events_v2" else f"{base}/integrations/{kind}/{key}"


def _receiver_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return "tocsin-" + ("-".join(part for part in cleaned.split("-") if part) or "receiver")[:40]


def _curl(url: str, body: Any, headers: tuple[str, ...] = ()) -> str:
    lines = [f"curl -sS -X POST '{url}' \\", "     -H 'Content-Type: application/json' \\"]
    lines += [f"     -H '{h}' \\" for h in headers]
    lines.append(f"     -d '{json.dumps(body)}'")
    return "\n".join(lines)


def _alertmanager(base: str, key: str, name: str) -> list[Snippet]:
    url = ingest_url(base, "alertmanager", key)
    block = (f"receivers:\n  - name: {_receiver_name(name)}\n    webhook_configs:\n      - url: {url}\n"
             "        send_resolved: true\n")
    sample = {"version": "4", "status": "firing", "receiver": _receiver_name(name), "groupKey": "{}:{alertname=\"Test\"}",
              "alerts": [{"status": "firing", "fingerprint": "test0001", "labels": {"alertname": "Test", "severity":
                                                                                     "critical"},
                          "annotations": {"summary": "A test alert from curl"}, "startsAt": "2026-01-01T00:00:00Z"}]}
    return [
        Snippet("Alertmanager receivers: block", "yaml", block,
                "tocsin takes the key in the URL: Alertmanager needs no http_config or Authorization header. "
                "Keep alertmanager.yml private, or put the URL in a file and use url_file: instead of url:. "
                "Route alerts to this receiver in the route: tree."),
        Snippet("Test with curl (an Alertmanager version 4 webhook)", "shell", _curl(url, sample)),
    ]


def _grafana(base: str, key: str, signing_secret: str | None, timestamp_header: str | None) -> list[Snippet]:
    url = ingest_url(base, "grafana", key)
    fields = ["Integration:  Webhook", f"URL:          {url}", "HTTP Method:  POST"]
    if signing_secret:
        fields += [f"HMAC secret:  {signing_secret}", "HMAC header:  X-Grafana-Alerting-Signature",
                   f"Timestamp header:  {timestamp_header or 'X-Grafana-Alerting-Timestamp'}"]
    note = ("Alerting → Contact points → Add contact point. Leave authentication empty: the key is in the URL.")
    if signing_secret:
        note += " tocsin refuses requests without a valid signature over the timestamp and body."
    out = [Snippet("Grafana contact point fields", "text", "\n".join(fields) + "\n", note)]
    if not signing_secret:  # a signed request cannot be written by hand in one line
        sample = {"receiver": "tocsin", "status": "firing", "alerts": [
            {"status": "firing", "fingerprint": "test0001", "labels": {"alertname": "Test"},
             "annotations": {"summary": "A test alert from curl"}}]}
        out.append(Snippet("Test with curl", "shell", _curl(url, sample)))
    return out


def _events_v2(base: str, key: str) -> list[Snippet]:
    url = ingest_url(base, "events_v2", key)
    base = base.rstrip("/")
    event = {"routing_key": key, "event_action": "trigger", "dedup_key": "db-1-disk",
             "payload": {"summary": "Disk almost full on db-1", "source": "db-1", "severity": "critical"}}
    pdpyras = (f"import pdpyras\n\nsession = pdpyras.EventsAPISession(\"{key}\")\nsession.url = \"{base}\"\n"
               "dedup_key = session.trigger(\"Disk almost full on db-1\", \"db-1\", severity=\"critical\")\n"
               "session.resolve(dedup_key)\n")
    requests_call = (f"import requests\n\nrequests.post(\"{url}\", json={{\n    \"routing_key\": \"{key}\",\n"
                     "    \"event_action\": \"trigger\",\n    \"dedup_key\": \"db-1-disk\",\n"
                     "    \"payload\": {\"summary\": \"Disk almost full on db-1\", \"source\": \"db-1\", "
                     "\"severity\": \"critical\"},\n}, timeout=10).raise_for_status()\n")
    am = (f"receivers:\n  - name: tocsin-pd\n    pagerduty_configs:\n      - routing_key: {key}\n"
          f"        url: {url}\n        send_resolved: true\n")
    return [
        Snippet("PagerDuty Events v2 with curl", "shell", _curl(url, event),
                "The answer is PagerDuty's: 202 {\"status\": \"success\", \"dedup_key\": ...}. "
                "Send event_action \"resolve\" with the same dedup_key to resolve."),
        Snippet("Python, with pdpyras", "python", pdpyras),
        Snippet("Python, with requests", "python", requests_call),
        Snippet("Alertmanager pagerduty_configs", "yaml", am),
        Snippet("Grafana PagerDuty contact point", "text",
                f"Integration:      PagerDuty\nIntegration Key:  {key}\nAPI URL:          {url}\n",
                "The API URL is under Optional PagerDuty settings."),
    ]


def _generic(base: str, key: str) -> list[Snippet]:
    url = ingest_url(base, "generic", key)
    return [Snippet("Send any JSON with curl", "shell", _curl(url, _GENERIC_SAMPLE),
                    "This body fits the default mapping (summary from title, status from state); "
                    "change the body if you changed the mapping.")]


def _opsgenie(base: str, key: str, name: str) -> list[Snippet]:
    base = base.rstrip("/")
    url = ingest_url(base, "opsgenie", key)
    am = (f"receivers:\n  - name: {_receiver_name(name)}\n    opsgenie_configs:\n      - api_key: {key}\n"
          f"        api_url: {base}/\n        send_resolved: true\n")
    sdk = ("import opsgenie_sdk\n\nconf = opsgenie_sdk.configuration.Configuration()\n"
           f"conf.host = \"{base}\"\nconf.api_key[\"Authorization\"] = \"{key}\"\n"
           "conf.api_key_prefix[\"Authorization\"] = \"GenieKey\"\n"
           "alerts = opsgenie_sdk.AlertApi(api_client=opsgenie_sdk.api_client.ApiClient(configuration=conf))\n"
           "alerts.create_alert(opsgenie_sdk.CreateAlertPayload(message=\"Disk almost full on db-1\", "
           "alias=\"db-1-disk\", priority=\"P2\"))\n"
           "alerts.close_alert(identifier=\"db-1-disk\", identifier_type=\"alias\", "
           "close_alert_payload=opsgenie_sdk.CloseAlertPayload())\n")
    curl = _curl(url, {"message": "Disk almost full on db-1", "alias": "db-1-disk", "priority": "P2"},
                 (f"Authorization: GenieKey {key}",))
    return [
        Snippet("Alertmanager opsgenie_configs", "yaml", am,
                "Only api_url and api_key change; keep your responders, priority and tags. The alias is the "
                "dedup key, so Alertmanager's close by alias resolves the alert."),
        Snippet("Grafana Opsgenie contact point", "text",
                f"Integration:  Opsgenie\nAPI key:      {key}\nAlert API URL:  {url}\n",
                "Alerting → Contact points: keep the Opsgenie integration, change only the URL and key."),
        Snippet("Python, with opsgenie-sdk", "python", sdk),
        Snippet("Test with curl", "shell", curl,
                "The answer is Opsgenie's: 202 {\"result\": \"Request will be processed\", \"requestId\": ...}. "
                f"Heartbeats: GET {base}/v2/heartbeats/<name>/ping with the same header pings the heartbeat of "
                "that name on this integration's service."),
    ]


def _preset(base: str, key: str, name: str) -> list[Snippet]:
    preset = PRESETS[name]
    url = ingest_url(base, "generic", key)
    out = [Snippet(f"{preset.title}: where the URL goes", "text", f"URL:  {url}\n",
                   f"{preset.setup} The sender's documentation: {preset.docs}")]
    if preset.body is not None:
        out.append(Snippet(f"{preset.title}: body to send", "text", json.dumps(preset.body, indent=2) + "\n",
                           "The sender fills in the placeholders; tocsin's preset reads these fields."))
    return out


def mail_address(key: str, domain: str | None) -> str:
    return f"{key}@{domain or 'TOCSIN_MAIL_DOMAIN-is-not-set'}"


def _email(key: str, domain: str | None) -> list[Snippet]:
    address = mail_address(key, domain)
    note = ("Point the sender's alert mail at this address. tocsin's SMTP listener (TOCSIN_MAIL_LISTEN) must "
            "receive mail for the domain: an MX record, or a route in your mail server. The address is the "
            "credential: share it like a key.")
    if not domain:
        note = "TOCSIN_MAIL_DOMAIN is not set: set it (and TOCSIN_MAIL_LISTEN) before mail can arrive. " + note
    test = (f"swaks --server MAILHOST:2525 --to {address} \\\n     --header 'Subject: PROBLEM: Disk full on db-1' "
            "--body 'Host: db-1'\n")
    return [Snippet("Alert address", "text", address + "\n", note), Snippet("Test with swaks", "shell", test)]


def snippets(kind: str, *, base_url: str, key: str, name: str = "", signing_secret: str | None = None,
             timestamp_header: str | None = None, preset: str | None = None,
             mail_domain: str | None = None) -> list[Snippet]:
    """The snippets for an integration of `kind` (events_v2, alertmanager, grafana, generic, email, opsgenie); [] otherwise."""
    if kind == "generic" and preset in PRESETS:
        return _preset(base_url, key, preset)
    if kind == "email":
        return _email(key, mail_domain)
    if kind == "alertmanager":
        return _alertmanager(base_url, key, name)
    if kind == "grafana":
        return _grafana(base_url, key, signing_secret, timestamp_header)
    if kind == "events_v2":
        return _events_v2(base_url, key)
    if kind == "generic":
        return _generic(base_url, key)
    if kind == "opsgenie":
        return _opsgenie(base_url, key, name)
    return []

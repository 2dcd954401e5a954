"""Per-endpoint decoding and answers: each tool gets the response shape it understands.

PagerDuty Events API v2 senders get PagerDuty's bodies (`202 {"status": "success", ...}`,
`400 {"status": "invalid event", ...}`); webhook senders get tocsin's error shape. Storage
failures answer 503 so that senders retry (Alertmanager retries 5xx, treats 4xx as final).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson

from tocsin.inbound import alertmanager, events_v2, generic, grafana, presets
from tocsin.inbound.common import nul_free
from tocsin.inbound.types import MAX_EVENT_BYTES, Event, Rejected
from tocsin.ingest import opsgenie
from tocsin.ingest.types import Job, Reply
from tocsin.keys import derived_secret

PD_ROUTES = ("events_v2", "change")


def _reply(status: int, body: dict[str, Any]) -> Reply:
    return Reply(status, body)


def decode(job: Job) -> None:
    """Decode the body into the job (for PagerDuty, the parsed event and `job.key`); raise Rejected."""
    if job.route in ("heartbeat", "email"):
        return
    if job.route == "opsgenie":
        opsgenie.decode(job)
        return
    if job.route in PD_ROUTES and len(job.body) > MAX_EVENT_BYTES:
        raise Rejected("Event object is too large", [f"the event is {len(job.body)} bytes; the limit is "
                                                      f"{MAX_EVENT_BYTES}"], status=413)
    try:
        obj = orjson.loads(job.body)
    except orjson.JSONDecodeError as exc:
        raise Rejected("Event object format is unrecognized" if job.route in PD_ROUTES else "the body is not valid JSON",
                       [f"JSON parse error: {exc}"]) from None
    if job.route == "events_v2":
        job.key, job.event = events_v2.parse_event(obj, new_key=lambda: uuid.uuid4().hex, nul_free=nul_free(job.body))
    elif job.route == "change":
        job.key, job.change = events_v2.parse_change(obj, nul_free=nul_free(job.body))
    else:
        job.payload = obj


def events_for(job: Job, server_secret: str, now: datetime) -> list[Event]:
    """Return the events in an authenticated job; raise Rejected."""
    route = job.route
    if route in ("events_v2", "opsgenie"):
        return [job.event] if job.event is not None else []
    if route in ("change", "heartbeat"):
        return []
    if route == "email":  # mapped by the mail listener, off this thread (operator regexes; inbound/mail.py)
        return list(job.mapped or [])
    if route == "alertmanager":
        return alertmanager.parse_webhook(job.payload, nul_free=nul_free(job.body))
    integ = job.bound()
    if route == "grafana":
        cfg = integ.config or {}
        if cfg.get("hmac"):
            grafana.verify_signature(job.body, job.headers, secret=signing_secret(server_secret, integ.id),
                                     timestamp_header=cfg.get("timestamp_header") or grafana.DEFAULT_TIMESTAMP_HEADER,
                                     now=now)
        return grafana.parse_webhook(job.payload, nul_free=nul_free(job.body))
    config = (integ.config or {}).get("mapping") or {}
    if presets.is_sns(config):
        kind = presets.sns_message_type(job.payload)
        if kind == "SubscriptionConfirmation":  # visited once the request is stored (writer.py)
            job.confirm_url = presets.sns_confirmation(job.payload)
            return []
        if kind == "UnsubscribeConfirmation":
            return []
    return generic.map_payload(_mapping(integ.id, config), job.payload, nul_free=nul_free(job.body))


def _clean(value: Any) -> Any:
    """Replace NUL, which PostgreSQL text cannot hold, in every string of a payload."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def storable(ev: Event) -> Event:
    """Return `ev` with NUL characters replaced (U+FFFD), so any event a sender gets 2xx for can be stored."""
    return replace(ev, dedup_key=_clean(ev.dedup_key), summary=_clean(ev.summary), source=_clean(ev.source),
                   labels=_clean(ev.labels), details=_clean(ev.details), links=_clean(ev.links),
                   payload=_clean(ev.payload))


_MAPPINGS: dict[tuple[uuid.UUID, bytes], generic.Mapping] = {}


def _mapping(integration_id: uuid.UUID, config: dict[str, Any]) -> generic.Mapping:
    """The compiled mapping, compiled once per integration and configuration (templates are slow to compile)."""
    key = (integration_id, orjson.dumps(config, option=orjson.OPT_SORT_KEYS))
    found = _MAPPINGS.get(key)
    if found is None:
        if len(_MAPPINGS) > 1000:
            _MAPPINGS.clear()
        try:
            found = _MAPPINGS[key] = generic.validate_mapping(config)
        except ValueError as exc:  # validated when saved; only a hand-edited row gets here
            raise Rejected("this integration's mapping is invalid; fix it in tocsin", [str(exc)]) from None
    return found


def signing_secret(server_secret: str, integration_id: uuid.UUID) -> str:
    """The Grafana HMAC secret of an integration: derived from the server key, never stored."""
    return derived_secret(server_secret, "grafana-hmac", str(integration_id))


def accepted(job: Job) -> Reply:
    """The answer once the job's events are journaled: each event's dedup key, not yet what it did."""
    if job.route == "events_v2":
        dedup_key = job.event.dedup_key if job.event is not None else None
        return _reply(202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key})
    if job.route == "change":
        return _reply(202, {"status": "success", "message": "Change event processed", "id": str(job.created_id)})
    if job.route == "opsgenie":
        request_id = job.items[0].event_id if job.items else uuid.uuid4()
        return opsgenie.accepted_reply(request_id, "PONG - Heartbeat received" if job.op == "ping"
                                       else "Request will be processed")
    if job.route == "heartbeat":
        return _reply(200, {"status": "ok", "heartbeat": job.heartbeat.name if job.heartbeat is not None else None})
    return _reply(202, {"status": "accepted", "events": len(job.items), "results": [
        {"dedup_key": i.event.dedup_key, "action": i.event.action.value, "event_id": str(i.event_id),
         "alert_id": None, "outcome": "accepted"} for i in job.items]})


def rejected(job: Job, exc: Rejected) -> Reply:
    if job.route == "opsgenie":
        return opsgenie.body(exc.status, exc.message, errors=exc.errors)
    if job.route in PD_ROUTES:
        return _reply(exc.status, {"status": "invalid event", "message": exc.message, "errors": exc.errors})
    code = {401: "bad_signature", 413: "payload_too_large"}.get(exc.status, "invalid_payload")
    return _reply(exc.status, {"error": {"code": code, "message": exc.message, "details": {"errors": exc.errors}}})


def unknown_key(job: Job) -> Reply:
    if job.route == "opsgenie":  # Opsgenie: 401 when the key is invalid or its integration disabled
        return opsgenie.body(401, "Could not authenticate: send 'Authorization: GenieKey <key>' with the key "
                                  "of an opsgenie integration")
    if job.route in PD_ROUTES:
        return _reply(400, {"status": "invalid event", "message": "Event object is invalid",
                            "errors": ["Invalid routing key: no events_v2 integration has this key"]})
    what = "heartbeat" if job.route == "heartbeat" else f"{job.route} integration"
    return _reply(404, {"error": {"code": "not_found", "message": f"no {what} with this key", "details": {}}})


def unavailable(job: Job) -> Reply:
    msg = "the event could not be stored; retry later"
    if job.route == "opsgenie":
        return opsgenie.body(503, msg)
    if job.route in PD_ROUTES:
        return _reply(503, {"status": "unavailable", "message": msg, "errors": [msg]})
    return _reply(503, {"error": {"code": "unavailable", "message": msg, "details": {}}})


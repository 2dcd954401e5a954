"""The Opsgenie Alert API drop-in at the ingest edge: decoding, the lookups an action needs, and
Opsgenie's answers.

A create, acknowledge or close is journaled like every other event (an accepted alert is never
lost) and answered `202 {"result": "Request will be processed", "took", "requestId"}`, the
request id being the event's id, so `GET /v2/alerts/requests/{requestId}` can report what it
became once applied. Adding a note and reading a request's status need the alert now: they are
done in the writer's transaction. A heartbeat ping names a heartbeat of the key's service.
Errors have Opsgenie's shape `{"message", "took", "requestId"}` (422 adds `errors`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert, AlertDecision, AlertEvent, IngestJournal
from tocsin.heartbeats.models import Heartbeat
from tocsin.ids import new_id
from tocsin.inbound import opsgenie
from tocsin.inbound.common import nul_free
from tocsin.inbound.types import Action, Event, Rejected
from tocsin.ingest.types import Job, Reply

ACTION_NAMES = {"create": "Create", "acknowledge": "Acknowledge", "close": "Close", "notes": "AddNote"}
MAX_NOTES = 500  # notes per alert (25,000 characters each at most)
_STATUS = {"created": "Created alert", "deduplicated": "Alert is deduplicated", "acknowledged": "Acknowledged",
           "resolved": "Closed"}


def key_from(headers: dict[str, str]) -> str | None:
    """The GenieKey of an `Authorization: GenieKey <key>` header (the scheme in any case), else None."""
    value = headers.get("authorization", "")
    scheme, _, key = value.strip().partition(" ")
    return key.strip() or None if scheme.lower() == "geniekey" else None


def body(status: int, message: str, *, errors: list[str] | None = None) -> Reply:
    out: dict[str, Any] = {"message": message, "took": 0.0, "requestId": str(uuid.uuid4())}
    if errors and status == 422:
        out["errors"] = {f"error{n}" if n else "message": e for n, e in enumerate(errors)}
    return Reply(status, out)


def accepted_reply(request_id: uuid.UUID, result: str = "Request will be processed") -> Reply:
    return Reply(202, {"result": result, "took": 0.0, "requestId": str(request_id)})


def decode(job: Job) -> None:
    """Set the job's key (from its header) and parse its body; raise Rejected."""
    job.key = key_from(dict(job.headers))
    if "\x00" in job.target:  # no identifier, heartbeat name or request id holds NUL (PostgreSQL refuses it)
        raise Rejected(opsgenie.UNPROCESSABLE, ["the identifier must not contain NUL"], status=422)
    if job.op in ("ping", "status"):
        return
    obj: Any = None
    if job.body.strip():
        try:
            obj = orjson.loads(job.body)
        except orjson.JSONDecodeError as exc:
            raise Rejected("Could not parse the request body as JSON", [f"JSON parse error: {exc}"]) from None
    if job.op == "create":
        job.event = opsgenie.parse_create(obj, new_key=lambda: uuid.uuid4().hex, nul_free=nul_free(job.body))
        return
    job.id_type = opsgenie.identifier_type(job.id_type or None)
    if job.id_type == "tiny":
        raise Rejected("tocsin alerts have no tiny id: address them by id or alias",
                       ["identifierType tiny is not supported"], status=422)
    job.action_body = opsgenie.parse_action(obj, required=job.op == "notes", nul_free=nul_free(job.body))


def resolve(session: Session, job: Job, now: datetime) -> None:
    """After authentication: find what an action, note, ping or status request is about.

    Sets `job.event` (acknowledge, close), `job.heartbeat` (ping) or `job.reply` (note added,
    status read, or a 404)."""
    integ = job.bound()
    if job.op == "create":
        return
    if job.op == "ping":
        job.heartbeat = session.execute(
            sa.select(Heartbeat).where(Heartbeat.service_id == integ.service_id, Heartbeat.name == job.target)
            .order_by(Heartbeat.created_at).limit(1).with_for_update()).scalars().first()
        if job.heartbeat is None:
            job.reply = body(404, f"Heartbeat with name [{job.target}] does not exist on this service")
        return
    if job.op == "status":
        job.reply = status(session, job)
        return
    alert = _find_alert(session, job)
    note = job.action_body.note.strip() if job.action_body is not None else ""
    if job.op == "notes":
        if alert is None:
            job.reply = body(404, f"Alert with {job.id_type} [{job.target}] does not exist")
            return
        if _notes_full(session, alert):
            job.reply = body(422, f"The alert has {MAX_NOTES} notes already; no more can be added",
                             errors=[f"at most {MAX_NOTES} notes per alert"])
            return
        note_id = _add_note(session, job, alert, note, now)
        job.reply = accepted_reply(note_id)
        return
    if job.id_type == "id":
        if alert is None:
            job.reply = body(404, f"Alert with id [{job.target}] does not exist")
            return
        if alert.status == "resolved":  # nothing left to do: the alert this id names is closed
            job.reply = accepted_reply(new_id())
            return
        key, named = alert.dedup_key, alert.id  # that alert, whatever else shares its key in another scope
    else:
        key, named = opsgenie.dedup_key(job.target), None
    if note and alert is not None and not _notes_full(session, alert):  # the action counts more than its note
        _add_note(session, job, alert, note, now)
    action = Action.acknowledge if job.op == "acknowledge" else Action.resolve
    source = job.action_body.source if job.action_body is not None else ""
    job.event = Event(action=action, dedup_key=key, source=source, alert_id=named,
                      payload={"identifier": job.target, "identifierType": job.id_type,
                               **({"user": job.action_body.user} if job.action_body and job.action_body.user else {})})


def _find_alert(session: Session, job: Job) -> Alert | None:
    """The alert an identifier names, among those of the key's service or sent by its integration.

    By alias, only alerts whose dedup scope is the service's (`pipeline.ingest.scope_of`: not another
    Events v2 integration's own keys), as the acknowledge or close by that alias applies to."""
    integ = job.bound()
    mine = sa.or_(Alert.service_id == integ.service_id, Alert.integration_id == integ.id)
    if job.id_type == "id":
        try:
            alert_id = uuid.UUID(job.target)
        except ValueError:
            return None
        return session.execute(sa.select(Alert).where(Alert.id == alert_id, mine)).scalars().first()
    # By alias: the open alert with that key, else the latest one (a note on a closed alert is kept).
    return session.execute(
        sa.select(Alert).where(Alert.dedup_key == opsgenie.dedup_key(job.target), Alert.dedup_scope == "", mine)
        .order_by((Alert.status == "resolved").asc(), Alert.first_seen_at.desc(), Alert.id.desc()).limit(1)
    ).scalars().first()


def _notes_full(session: Session, alert: Alert) -> bool:
    """True when the alert has MAX_NOTES notes: a sender looping on add-note cannot grow an alert's
    history (read whole by its page and API) without bound."""
    count = session.execute(sa.select(sa.func.count()).select_from(AlertDecision).where(
        AlertDecision.alert_id == alert.id, AlertDecision.kind == "note")).scalar_one()
    return count >= MAX_NOTES


def _add_note(session: Session, job: Job, alert: Alert, note: str, now: datetime) -> uuid.UUID:
    who = (job.action_body.user or job.action_body.source) if job.action_body is not None else ""
    note_id = new_id()
    data = {"via": "opsgenie", "integration_id": str(job.bound().id)}
    if who:
        data["user"] = who
    session.add(AlertDecision(id=note_id, alert_id=alert.id, at=now, kind="note",
                              reason=f"note{' by ' + who if who else ''}: {note}", data=data))
    return note_id


def status(session: Session, job: Job) -> Reply:
    """`GET /v2/alerts/requests/{requestId}`: what a create, acknowledge, close or note became."""
    integ = job.bound()
    try:
        request_id = uuid.UUID(job.target)
    except ValueError:
        return body(404, "Request not found. It might not be processed, yet.")
    data: dict[str, Any] = {"integrationId": str(integ.id)}
    ev = session.get(AlertEvent, request_id)
    if ev is not None and ev.integration_id == integ.id:
        ok = ev.outcome in _STATUS
        data.update(success=ok, isSuccess=ok, action={"trigger": "Create", "acknowledge": "Acknowledge",
                                                      "resolve": "Close"}.get(ev.action, ev.action),
                    processedAt=(ev.applied_at or ev.received_at).isoformat(),
                    status=_STATUS.get(ev.outcome or "", ev.outcome_reason or "Request is being processed"),
                    alertId=str(ev.alert_id) if ev.alert_id else "", alias=ev.dedup_key)
        return Reply(200, {"data": data, "took": 0.0, "requestId": str(uuid.uuid4())})
    note = session.get(AlertDecision, request_id)
    if note is not None and note.kind == "note" and (note.data or {}).get("integration_id") == str(integ.id):
        alert = session.get(Alert, note.alert_id)
        data.update(success=True, isSuccess=True, action="AddNote", processedAt=note.at.isoformat(),
                    status="Added note", alertId=str(note.alert_id), alias=alert.dedup_key if alert else "")
        return Reply(200, {"data": data, "took": 0.0, "requestId": str(uuid.uuid4())})
    if _journaled(session, request_id, integ.id):
        data.update(success=False, isSuccess=False, status="Request is being processed")
        return Reply(200, {"data": data, "took": 0.0, "requestId": str(uuid.uuid4())})
    return body(404, "Request not found. It might not be processed, yet.")


def _journaled(session: Session, request_id: uuid.UUID, integration_id: uuid.UUID) -> bool:
    """True when the request is accepted and still waiting in the ingest journal.

    Only the journal rows written within a minute after the request id's own time (both are UUIDv7,
    the row made just after the event) are read: a guessed id costs an index probe, not a scan."""
    since = (request_id.int >> 80) << 80
    until = since + (60_000 << 80)
    for (events,) in session.execute(sa.select(IngestJournal.events).where(
            IngestJournal.id >= uuid.UUID(int=since), IngestJournal.id < uuid.UUID(int=min(until, 2**128 - 1)))
            .order_by(IngestJournal.id).limit(2000)):
        for ev in events or []:
            if ev[0] == request_id.hex and ev[2] == integration_id.hex:
                return True
    return False

"""What the ingest edge passes around: a request's job (raw body in, reply out) and its reply."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tocsin.heartbeats.models import Heartbeat
from tocsin.inbound.events_v2 import ChangeEvent
from tocsin.inbound.opsgenie import ActionBody
from tocsin.inbound.types import Event
from tocsin.integrations.models import Integration
from tocsin.pipeline.ingest import Incoming

Route = Literal["events_v2", "change", "alertmanager", "grafana", "generic", "heartbeat", "email", "opsgenie"]


@dataclass(slots=True)
class Reply:
    status: int
    body: dict[str, Any]


@dataclass(slots=True)
class Job:
    """One request to an ingest endpoint: its raw body in, its reply out (see `writer.py`)."""

    route: Route
    body: bytes
    key: str | None = None  # the URL's key, or `routing_key` from a PagerDuty body
    headers: Mapping[str, str] = field(default_factory=dict)
    done: Callable[[Reply], None] | None = None  # called with the reply, from the writer thread
    mapped: list[Event] | None = None  # email: the events the mail listener made of the message (input, kept)
    # opsgenie: the operation (create, acknowledge, close, notes, ping, status), what its path names
    # (alert identifier, heartbeat name or request id) and the identifierType query value
    op: str = ""
    target: str = ""
    id_type: str = ""
    action_body: ActionBody | None = None
    # filled while the batch is processed: what the body decoded to (one of three, by route) ...
    event: Event | None = None  # events_v2: the PagerDuty event
    change: ChangeEvent | None = None  # change: the PagerDuty change event
    payload: Any = None  # alertmanager, grafana, generic: the JSON body, for the route's parser
    # ... what the key names (an integration of the route's type, or for `heartbeat` a heartbeat) ...
    integration: Integration | None = None
    heartbeat: Heartbeat | None = None
    # ... and what it became
    items: list[Incoming] = field(default_factory=list)
    created_id: uuid.UUID | None = None  # a change event's id, for the answer
    confirm_url: str | None = None  # an SNS SubscribeURL to visit once the request is stored
    reply: Reply | None = None

    def bound(self) -> Integration:
        """The integration of a job whose key was found (every job past authentication but a heartbeat's)."""
        if self.integration is None:
            raise AssertionError(f"{self.route} job used before its key was looked up")
        return self.integration

    def reset(self) -> None:
        """Forget what processing found, to process the job again on its own (after a failed batch)."""
        self.event = self.change = self.payload = self.integration = self.heartbeat = None
        self.action_body = None
        self.items, self.reply, self.created_id, self.confirm_url = [], None, None, None

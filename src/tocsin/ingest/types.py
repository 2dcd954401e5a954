"""What the ingest edge passes around: a request's job (raw body in, reply out) and its reply."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tocsin.pipeline.ingest import Incoming


@dataclass(slots=True)
class Reply:
    status: int
    body: dict[str, Any]


@dataclass(slots=True)
class Job:
    route: str  # events_v2 | change | alertmanager | grafana | generic | heartbeat
    body: bytes
    key: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    done: Callable[[Reply], None] | None = None  # called with the reply, from the writer thread
    # filled while the batch is processed
    parsed: Any = None
    integration: Any = None
    items: list[Incoming] = field(default_factory=list)
    created_id: uuid.UUID | None = None  # a change event's id, for the answer
    reply: Reply | None = None

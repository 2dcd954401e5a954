"""Approved actions: an admin's vetted webhooks and commands a responder runs from the room (issue 19). To be built."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.incidents.models import Incident
from tocsin.principal import Principal


def request_run(s: Session, *, incident: Incident, action: str, params: dict[str, Any], actor: Principal,
                now: datetime, dry_run: bool = False) -> uuid.UUID:
    """Ask for a run of the approved action `action` (its slug) for the incident; it runs at once or
    waits for a second person's approval, as the action says. Returns the run's id. NotFound for an
    unknown action, InvalidInput for parameters that do not fit its types."""
    raise NotImplementedError

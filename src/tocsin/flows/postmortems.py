"""Postmortems with their incident's action items: the postmortems package sits below the
actions package, so the draft and the export are given the items from here."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.actions.service import postmortem_lines
from tocsin.incidents.models import Incident
from tocsin.postmortems import service as postmortems
from tocsin.postmortems.models import Postmortem
from tocsin.principal import Principal


def start(session: Session, *, incident: Incident, actor: Principal, now: datetime,
          template_id: uuid.UUID | None = None, title: str | None = None) -> Postmortem:
    """Start the postmortem (see `postmortems.service.start`); its Action items section lists the
    incident's action items the starter may see."""
    return postmortems.start(session, incident=incident, actor=actor, now=now, template_id=template_id, title=title,
                             action_items=postmortem_lines(session, actor, incident.id))

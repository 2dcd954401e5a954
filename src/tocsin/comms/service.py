"""Communication: templates, stakeholder updates and update reminders (issue 19). To be built."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.incidents.models import Incident
from tocsin.principal import Principal


def post_template(s: Session, *, incident: Incident, template: str, actor: Principal, now: datetime) -> None:
    """Fill the internal-update template `template` (its slug) from the incident and post it as an
    internal update in the room, to its stakeholders (an incident workflow's "post a template" step).
    Raises NotFound for an unknown template."""
    raise NotImplementedError

"""The Communication panel: the next update due (cadence per severity), the templates to start an update from, the stakeholders who will receive it and the audience choice (issue 19).

`panel` returns the template's values, or None for no panel (then room_comms.html is not included).
Shown to responders of an open incident; a closed one has no updates due."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.comms import stakeholders
from tocsin.comms import templates as comms_templates
from tocsin.comms.types import CHANNEL_LABELS, Channel
from tocsin.config import Settings
from tocsin.incidents import cadence as cadences
from tocsin.incidents import timeline
from tocsin.incidents.lifecycle import ACTIVE_STATUSES
from tocsin.incidents.models import Incident
from tocsin.principal import OrgRole, Principal


def panel(s: Session, me: Principal, incident: Incident, tz: str, now: datetime, settings: Settings
          ) -> dict[str, Any] | None:
    if incident.status not in ACTIVE_STATUSES or not me.at_least(OrgRole.responder):
        return None
    cadence = cadences.parse(settings.update_cadence)
    due = cadences.next_update_due(incident.severity, timeline.last_update_at(s, incident=incident), cadence)
    offered = comms_templates.offered(s, incident, now)
    groups = [(CHANNEL_LABELS[c], [(t.slug, t.name) for t in offered if t.channel == c.value]) for c in Channel]
    return {
        "due": due, "overdue": now >= due, "every": cadences.target_label(incident.severity, cadence),
        "groups": [(label, items) for label, items in groups if items],
        "stakeholders": len(stakeholders.recipients(s, incident, author=me.user_id)),
        "drill": bool(incident.drill),
    }

"""The Roles panel: the handbook of each role the viewer holds (expanded), a link to every role's
handbook, the IC bench (who is trained) and, when TOCSIN_IC_SCHEDULE names a schedule, a "Page an
IC" button (it posts to the room's Add responders action with that schedule: the same paging).

`panel` returns the template's values, or None for no panel (then room_handbooks.html is not included)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.config import Settings
from tocsin.handbooks import bench
from tocsin.handbooks import service as handbooks
from tocsin.incidents import roles as roles_svc
from tocsin.incidents.lifecycle import ACTIVE_STATUSES
from tocsin.incidents.models import Incident
from tocsin.incidents.types import SECURITY_ONLY_ROLES, Kind, Role
from tocsin.oncall.service import get_schedule
from tocsin.principal import OrgRole, Principal


def panel(s: Session, me: Principal, incident: Incident, tz: str, now: datetime, settings: Settings
          ) -> dict[str, Any] | None:
    holders = roles_svc.current_assignments(s, [incident.id])
    mine = [Role(a.role) for a in holders if me.user_id is not None and a.user_id == me.user_id]
    shown = [r for r in Role if incident.kind == Kind.security.value or r not in SECURITY_ONLY_ROLES]
    has_ic = any(a.role == Role.incident_commander.value for a in holders)
    schedule = get_schedule(s, settings.ic_schedule) if settings.ic_schedule else None
    is_open = incident.status in {st.value for st in ACTIVE_STATUSES}
    return {
        "mine": [{"role": r.value, "label": roles_svc.ROLE_LABELS[r],
                  "html": handbooks.render(handbooks.get(s, r).body_md, below=2)}  # under the panel's h2
                 for r in dict.fromkeys(mine)],
        "others": [(r.value, roles_svc.ROLE_LABELS[r]) for r in shown if r not in mine],
        "bench": [{"name": b.user.name, "passed": len(b.passed)} for b in bench.bench(s) if b.trained],
        "has_ic": has_ic,
        "page_ic": ({"target": f"schedule:{schedule.slug}", "name": schedule.name}
                    if schedule is not None and is_open and me.at_least(OrgRole.responder) else None),
    }

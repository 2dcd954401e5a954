"""Which escalation policies page a schedule, so a schedule in use is not deleted from under them.

Lives here, not in `oncall`, because policies point at schedules (escalation imports oncall).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.errors import Conflict
from tocsin.escalation.models import EscalationLevel, EscalationPolicy
from tocsin.oncall.models import Schedule


def policies_using(session: Session, schedule: Schedule) -> list[str]:
    """The names of the policies with a level that targets this schedule, sorted."""
    rows = session.execute(sa.select(EscalationPolicy.name, EscalationLevel.targets)
                           .join(EscalationLevel, EscalationLevel.policy_id == EscalationPolicy.id)).all()
    wanted = str(schedule.id)
    return sorted({name for name, targets in rows
                   if any(t.get("type") == "schedule" and t.get("id") == wanted for t in targets or [])})


def refuse_if_used(session: Session, schedule: Schedule) -> None:
    """Raise Conflict naming the policies that page this schedule, if any."""
    names = policies_using(session, schedule)
    if names:
        raise Conflict(f"{schedule.name} is paged by the escalation {'policy' if len(names) == 1 else 'policies'} "
                       f"{', '.join(names)}: change {'it' if len(names) == 1 else 'them'} first",
                       details={"policies": names})

"""Communication: posting an incident update to an audience, and filling a template for it.

An update is what the room already knows as one: a note marked as a key event (it restarts the
update clock, `timeline.last_update_at`). Its audience is chosen when it is posted: the responders
(the timeline only) or the stakeholders too (`stakeholders.py`: queued to each who may see the
incident). A drill's update reaches no stakeholder; the timeline says how many were spared.
Status page and customer templates are not posted here: they prefill the room's public-update form
(the status page service posts them, with its legal gate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.comms import stakeholders
from tocsin.comms import templates as comms_templates
from tocsin.comms.render import Rendered, RenderError, context, render
from tocsin.comms.types import Audience, Channel
from tocsin.config import Settings
from tocsin.errors import InvalidInput
from tocsin.incidents import cadence as cadences
from tocsin.incidents import timeline
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.service import ref as incident_ref
from tocsin.incidents.types import TimelineKind
from tocsin.principal import Principal


@dataclass(frozen=True)
class Posted:
    entry: TimelineEntry
    sent: int  # stakeholders the update was queued to
    spared: int  # stakeholders of a drill, not sent to


def values_for(s: Session, incident: Incident, now: datetime, settings: Settings | None) -> dict[str, Any]:
    cadence = cadences.parse(settings.update_cadence) if settings is not None else None
    return context(s, incident, now=now, public_url=settings.resolved_public_url() if settings else "",
                   cadence=cadence)


def fill(s: Session, incident: Incident, slug: str, *, now: datetime, settings: Settings | None = None,
         channel: str | None = None) -> Rendered:
    """The template `slug` filled from the incident; InvalidInput (a 4xx) when it does not render now."""
    row = comms_templates.get(s, slug, now)
    if channel is not None and row.channel != channel:
        raise InvalidInput(f"template {slug!r} is not for {channel.replace('_', ' ')} updates",
                           details={"field": "template"})
    try:
        return render(row.subject, row.body, values_for(s, incident, now, settings))
    except RenderError as exc:
        raise InvalidInput(f"template {slug!r} does not render for this incident: {exc}",
                           details={"field": "template"}) from None


def post_update(s: Session, *, incident: Incident, actor: Principal, now: datetime, text: str, audience: str,
                settings: Settings | None = None, subject: str | None = None) -> Posted:
    """Post `text` as an update (a key-event note) and, for the stakeholders audience, queue it to them."""
    if audience not in {a.value for a in Audience}:
        raise InvalidInput("audience is responders or stakeholders", details={"field": "audience"})
    entry = timeline.add_note(s, incident=incident, actor=actor, now=now, text=text, key_event=True)
    entry.data = {**(entry.data or {}), "audience": audience}
    if audience != Audience.stakeholders.value:
        return Posted(entry=entry, sent=0, spared=0)
    people = stakeholders.recipients(s, incident, author=actor.user_id)
    if incident.drill:
        if people:
            timeline.append(s, incident=incident, kind=TimelineKind.comms, actor=actor, now=now,
                            text=f"(drill) update not sent to {len(people)} stakeholder{'s' if len(people) != 1 else ''}",
                            data={"drill": True, "spared": len(people), "entry": str(entry.id)})
        return Posted(entry=entry, sent=0, spared=len(people))
    ref = incident_ref(incident)
    # A restricted incident's subject names it by its reference alone (subjects show in notification
    # previews and mail logs); the body, for those who may see it, is the update itself.
    title = f"{ref} update (restricted incident)" if incident.restricted else \
        subject or f"{ref} update: {incident.title}"
    base = settings.resolved_public_url() if settings else ""
    body = f"{text}\n\n{ref} ({incident.severity}, {incident.status}): {base}/incidents/{ref}\n" \
           f"You receive this as a stakeholder of {ref}; manage your subscriptions at {base}/stakeholders."
    sent = stakeholders.send(s, incident, people, entry_id=entry.id, subject=title, body=body, now=now)
    if sent:
        timeline.append(s, incident=incident, kind=TimelineKind.comms, actor=actor, now=now,
                        text=f"Update sent to {sent} stakeholder{'s' if sent != 1 else ''}",
                        data={"sent": sent, "entry": str(entry.id)})
    return Posted(entry=entry, sent=sent, spared=0)


def post_template(s: Session, *, incident: Incident, template: str, actor: Principal, now: datetime,
                  settings: Settings | None = None) -> None:
    """Fill the internal-update template `template` (its slug) from the incident and post it as an
    internal update in the room, to its stakeholders (an incident workflow's "post a template" step).
    Raises NotFound for an unknown template, InvalidInput for one that is not internal or does not render."""
    filled = fill(s, incident, template, now=now, settings=settings, channel=Channel.internal.value)
    post_update(s, incident=incident, actor=actor, now=now, text=filled.body, audience=Audience.stakeholders.value,
                settings=settings, subject=filled.subject)

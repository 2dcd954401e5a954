"""The words of communication: channels, incident kinds a template is for, audiences of an update."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    internal = "internal"  # an update in the room (and to stakeholders)
    status_page = "status_page"  # prefills the room's public-update form
    customer_email = "customer_email"  # prefills the public-update form too (subscribers are emailed from there)


class TemplateKind(StrEnum):
    operational = "operational"
    security = "security"
    any = "any"


class Audience(StrEnum):
    responders = "responders"  # the timeline only
    stakeholders = "stakeholders"  # the timeline and the incident's stakeholders


CHANNEL_LABELS = {Channel.internal: "Internal update", Channel.status_page: "Status page update",
                  Channel.customer_email: "Customer email"}
MAX_BODY = 20_000

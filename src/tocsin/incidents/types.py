"""Enumerations users see in the API for incidents."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    operational = "operational"
    security = "security"


class Severity(StrEnum):
    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"

    @property
    def rank(self) -> int:
        """1 is the most severe."""
        return int(self.value[-1])


# P0..P3 are the PagerDuty-style names for the same scale.
SEVERITY_ALIASES = {"P0": Severity.SEV1, "P1": Severity.SEV2, "P2": Severity.SEV3, "P3": Severity.SEV4}


def parse_severity(text: str) -> Severity:
    """Return the severity named by `text` (SEV1..SEV4 or P0..P3, any case); raise ValueError."""
    key = text.strip().upper().replace(" ", "").replace("-", "")
    if key in SEVERITY_ALIASES:
        return SEVERITY_ALIASES[key]
    try:
        return Severity(key)
    except ValueError:
        raise ValueError(f"unknown severity {text!r}: use SEV1..SEV4 or P0..P3") from None


class Status(StrEnum):
    triage = "triage"
    investigating = "investigating"
    identified = "identified"
    mitigated = "mitigated"
    monitoring = "monitoring"
    resolved = "resolved"
    postmortem = "postmortem"
    closed = "closed"
    declined = "declined"


class DataSensitivity(StrEnum):
    none = "none"
    internal = "internal"
    confidential = "confidential"
    regulated = "regulated"


class Role(StrEnum):
    incident_commander = "incident_commander"
    scribe = "scribe"
    comms_lead = "comms_lead"
    sme = "sme"
    customer_liaison = "customer_liaison"
    forensics_lead = "forensics_lead"
    legal = "legal"
    privacy_officer = "privacy_officer"


SECURITY_ONLY_ROLES = frozenset({Role.forensics_lead, Role.legal, Role.privacy_officer})
MULTI_HOLDER_ROLES = frozenset({Role.sme})


class ParticipantKind(StrEnum):
    responder = "responder"
    observer = "observer"


class TimelineKind(StrEnum):
    declared = "declared"
    status_changed = "status_changed"
    severity_changed = "severity_changed"
    field_changed = "field_changed"
    impact_updated = "impact_updated"
    role_assigned = "role_assigned"
    role_unassigned = "role_unassigned"
    participant_joined = "participant_joined"
    participant_changed = "participant_changed"
    participant_left = "participant_left"
    visibility_changed = "visibility_changed"
    services_changed = "services_changed"
    note = "note"
    alert_attached = "alert_attached"
    paging = "paging"  # an escalation step: who was paged, escalated, stopped, and why
    postmortem = "postmortem"  # a postmortem started, went to review, was published, or was waived
    action_item = "action_item"  # an action item was created for this incident or changed status
    problem = "problem"  # linked to (or unlinked from) a problem record
    status_page = "status_page"  # a public update was posted from this incident to a status page

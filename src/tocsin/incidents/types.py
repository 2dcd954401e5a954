"""Enumerations users see in the API for incidents."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    operational = "operational"
    security = "security"


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
    responders = "responders"  # people asked to join ("add responders") and their replies
    phase_changed = "phase_changed"  # a security incident entered a NIST SP 800-61 phase (containment/)
    checklist = "checklist"  # a containment checklist step was added, done or un-done (containment/)
    forensics = "forensics"  # forensics first: a target investigated before it was preserved (containment/)
    indicator = "indicator"  # an indicator of compromise was recorded or removed (issue 17)
    asset = "asset"  # an affected asset was recorded, or its containment state changed (issue 17)
    clock_set = "clock_set"  # a regulatory clock (aware_at, ...) set or changed, with who and why
    obligation = "obligation"  # a regime chosen or dropped, an obligation filed or marked not applicable
    evidence = "evidence"  # an evidence item collected, or a custody entry (transferred, analysed...)
    # Preparation and practice (issue 19):
    runbook = "runbook"  # a runbook attached, or one of its steps marked done or skipped (runbooks/)
    automation = "automation"  # an approved action requested, approved, run (output, exit status) (automation/)
    workflow = "workflow"  # an incident workflow's step ran, or failed (workflows/)
    guardrail = "guardrail"  # a guardrail tripped (no IC, no containment, sprawl...) or cleared (guardrails/)
    comms = "comms"  # an update sent to stakeholders, or an update reminder (comms/)
    exercise = "exercise"  # an exercise inject arrived, or the facilitator advanced a step (exercises/)
    legal = "legal"  # an outside communication held for Legal, approved (with the text) or rejected
    guest = "guest"  # an outside responder invited, joined, revoked

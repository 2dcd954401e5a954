"""Enumerations users see in the containment API: the NIST SP 800-61 Rev. 2 phases and checklist step kinds."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    detection_analysis = "detection_analysis"
    containment = "containment"
    eradication = "eradication"
    recovery = "recovery"
    post_incident = "post_incident"


class StepKind(StrEnum):
    preserve = "preserve"
    investigate = "investigate"
    contain = "contain"
    eradicate = "eradicate"
    other = "other"

"""Enumerations of approved actions users see in the API: action kinds, parameter types, run states."""

from __future__ import annotations

from enum import StrEnum


class ActionKind(StrEnum):
    webhook = "webhook"  # a signed POST through the egress guard
    command = "command"  # an argv from the operator's allow-list file, run by the engine without a shell


class ParamType(StrEnum):
    string = "string"
    integer = "integer"
    boolean = "boolean"
    choice = "choice"


class RunStatus(StrEnum):
    requested = "requested"  # waits for a second person's approval
    approved = "approved"  # the engine picks it up at its next tick
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    refused = "refused"  # by a person, or by the configuration (not allow-listed, no signing secret, egress guard)
    timed_out = "timed_out"


FINISHED = frozenset({RunStatus.succeeded, RunStatus.failed, RunStatus.refused, RunStatus.timed_out})

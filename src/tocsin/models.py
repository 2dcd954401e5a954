"""Imports every table so that `Base.metadata` is complete (for Alembic and tests)."""

from tocsin.audit.models import AuditEntry
from tocsin.db.base import Base
from tocsin.db.counters import Counter
from tocsin.incidents.models import (
    Incident,
    IncidentService,
    Participant,
    RoleAssignment,
    TimelineEntry,
    TimelineRevision,
)
from tocsin.services.models import Service, ServiceDependency
from tocsin.teams.models import Team, TeamMember
from tocsin.users.models import ApiToken, User

__all__ = [
    "ApiToken", "AuditEntry", "Base", "Counter", "Incident", "IncidentService", "Participant", "RoleAssignment",
    "Service", "ServiceDependency", "Team", "TeamMember", "TimelineEntry", "TimelineRevision", "User",
]

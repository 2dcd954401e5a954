"""Imports every table so that `Base.metadata` is complete (for Alembic and tests)."""

from tocsin.actions.models import ActionItem, ActionSync
from tocsin.alerts.models import (
    Alert,
    AlertDecision,
    AlertEvent,
    AlertGroup,
    IngestJournal,
    PageRequest,
)
from tocsin.audit.models import AuditEntry
from tocsin.automation.models import ActionRun, ApprovedAction
from tocsin.chatops.models import ChatAccount, ChatChannel, ChatInstall, ChatMember, ChatOutbox, ChatReceipt
from tocsin.checks.models import Check, CheckAgent, CheckLocation, CheckResult
from tocsin.comms.models import CommsTemplate, StakeholderSubscription, UpdateReminder
from tocsin.configcode.models import ConfigSource
from tocsin.contacts.models import ContactMethod, NotificationRule, UsedLink
from tocsin.containment.models import ChecklistStep, ChecklistTemplate, IncidentPhase
from tocsin.db.base import Base
from tocsin.db.counters import Counter
from tocsin.escalation.models import (
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    Notification,
    ResponderRequest,
)
from tocsin.evidence.models import CustodyEntry, EvidenceItem
from tocsin.exercises.models import Exercise, ExerciseEvent, ExerciseParticipant
from tocsin.guardrails.models import GuardrailTrip
from tocsin.handbooks.models import ExerciseCredit, RoleHandbook, RoleTraining
from tocsin.heartbeats.models import Heartbeat
from tocsin.incidents.guest_models import GuestGrant
from tocsin.incidents.models import (
    Incident,
    IncidentService,
    Participant,
    RoleAssignment,
    TimelineEntry,
    TimelineRevision,
)
from tocsin.indicators.models import AffectedAsset, Indicator
from tocsin.integrations.models import ChangeEvent, Integration
from tocsin.legal.models import LegalDraft
from tocsin.obligations.models import IncidentRegime, Obligation, RegulatoryClock, SecurityExposure
from tocsin.oncall.models import (
    HandoffNotice,
    Schedule,
    ScheduleLayer,
    ScheduleLayerMember,
    ScheduleOverride,
)
from tocsin.postmortems.models import (
    Postmortem,
    PostmortemComment,
    PostmortemReviewer,
    PostmortemRevision,
    PostmortemTemplate,
)
from tocsin.problems.models import Problem, ProblemIncident
from tocsin.routing.models import (
    AutoIncidentRule,
    InhibitionRule,
    MaintenanceWindow,
    RoutingRule,
    Silence,
)
from tocsin.runbooks.models import Runbook, RunbookMatcher, RunbookProgress, RunbookService
from tocsin.services.models import Service, ServiceDependency
from tocsin.slo.models import Slo, SloBucket, SloEventKey
from tocsin.sso.models import ScimToken, SsoAccount
from tocsin.statuspage.models import (
    ComponentStatusChange,
    StatusComponent,
    StatusIncident,
    StatusIncidentComponent,
    StatusPage,
    StatusSubscriber,
    StatusUpdate,
    SubscriberDelivery,
)
from tocsin.teams.models import Team, TeamMember
from tocsin.users.models import ApiToken, Throttle, User, WebSession
from tocsin.web.models import UserInvite
from tocsin.workflows.models import IncidentType, IncidentWorkflow, WorkflowRun

__all__ = [
    "ChatAccount", "ChatChannel", "ChatInstall", "ChatMember", "ChatOutbox", "ChatReceipt",
    "AffectedAsset", "Indicator",
    "ActionRun", "ApprovedAction",
    "ActionItem", "ActionSync", "Postmortem", "PostmortemComment", "PostmortemReviewer", "PostmortemRevision",
    "PostmortemTemplate", "Problem", "ProblemIncident",
    "IncidentRegime", "Obligation", "RegulatoryClock", "SecurityExposure",
    "Alert", "AlertDecision", "AlertEvent", "AlertGroup", "AutoIncidentRule", "ChangeEvent", "Check", "CheckAgent", "CheckLocation", "CheckResult",
    "Exercise", "ExerciseEvent", "ExerciseParticipant", "Heartbeat", "IngestJournal", "InhibitionRule", "Integration", "MaintenanceWindow", "PageRequest", "RoutingRule",
    "Silence",
    "HandoffNotice", "Schedule", "ScheduleLayer", "ScheduleLayerMember", "ScheduleOverride",
    "ContactMethod", "NotificationRule", "UsedLink",
    "Escalation", "EscalationLevel", "EscalationPolicy", "Notification", "ResponderRequest",
    "ApiToken", "AuditEntry", "Base", "Counter", "Incident", "IncidentService", "Participant", "RoleAssignment",
    "ComponentStatusChange", "StatusComponent", "StatusIncident", "StatusIncidentComponent", "StatusPage",
    "StatusSubscriber", "StatusUpdate", "SubscriberDelivery", "UserInvite", "WebSession",
    "ChecklistStep", "ChecklistTemplate", "IncidentPhase",
    "GuardrailTrip",
    "CommsTemplate", "StakeholderSubscription", "UpdateReminder",
    "ConfigSource",
    "CustodyEntry", "EvidenceItem",
    "ExerciseCredit", "RoleHandbook", "RoleTraining",
    "ScimToken", "SsoAccount",
    "GuestGrant", "LegalDraft",
    "IncidentType", "IncidentWorkflow", "WorkflowRun",
    "Runbook", "RunbookMatcher", "RunbookProgress", "RunbookService",
    "Service", "ServiceDependency", "Slo", "SloBucket", "SloEventKey", "Team", "TeamMember", "Throttle", "TimelineEntry", "TimelineRevision", "User",
]

"""Who is acting: the authenticated user (or the operator at the CLI) and what they may do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from tocsin.errors import Forbidden


class OrgRole(StrEnum):
    """A user's role in the organisation (stored on the user row)."""

    admin = "admin"
    responder = "responder"
    viewer = "viewer"
    # An outside responder (IR firm, outside counsel): sees only the incidents of its live guest
    # grants (incidents/guests.py), in the console only; below viewer in every comparison.
    guest = "guest"


_RANK = {OrgRole.guest: -1, OrgRole.viewer: 0, OrgRole.responder: 1, OrgRole.admin: 2}
# The roles an admin may give a person; a guest account is made only by a guest invitation.
STAFF_ROLES = (OrgRole.admin, OrgRole.responder, OrgRole.viewer)


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID | None
    label: str  # email, or "system:<what>" for operator actions at the CLI
    org_role: OrgRole
    security_team: bool = False
    team_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    # a guest's incidents with a live grant, read at each request (expiry and revocation act at once)
    guest_incidents: frozenset[uuid.UUID] = field(default_factory=frozenset)

    @classmethod
    def system(cls, what: str) -> Principal:
        """The operator acting through the CLI with direct database access."""
        return cls(user_id=None, label=f"system:{what}", org_role=OrgRole.admin, security_team=True)

    @property
    def is_admin(self) -> bool:
        return self.org_role == OrgRole.admin

    @property
    def is_guest(self) -> bool:
        return self.org_role == OrgRole.guest

    @property
    def sees_all_restricted(self) -> bool:
        # a guest sees its live grants only, even if someone put it in the security team
        return self.is_admin or (self.security_team and not self.is_guest)

    def at_least(self, role: OrgRole) -> bool:
        return _RANK[self.org_role] >= _RANK[role]

    def require_user_id(self) -> uuid.UUID:
        """The acting user's id; raise Forbidden for the CLI operator, who acts as no user."""
        if self.user_id is None:
            raise Forbidden(f"{self.label} is not a user: this needs one")
        return self.user_id

    def require(self, role: OrgRole, action: str) -> None:
        """Raise Forbidden unless the principal's org role is at least `role`."""
        if not self.at_least(role):
            raise Forbidden(f"{action} needs the {role.value} role or higher", details={"required_role": role.value})

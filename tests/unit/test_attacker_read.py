"""Issue 17 read as an attacker would, the pure parts: a guest placed in the security team (by an
admin, a SCIM Groups PATCH or a team map) still sees only the incidents of its live grants."""

from __future__ import annotations

import uuid

from tocsin.actions.service import item_visibility
from tocsin.principal import OrgRole, Principal


def test_a_guest_in_the_security_team_does_not_see_all_restricted_incidents():
    guest = Principal(user_id=uuid.uuid4(), label="ivy@irfirm.example", org_role=OrgRole.guest, security_team=True)
    staff = Principal(user_id=uuid.uuid4(), label="sam@example.com", org_role=OrgRole.viewer, security_team=True)
    assert (guest.sees_all_restricted, staff.sees_all_restricted) == (False, True)
    # action items (problems and reports use the same rule) follow the guest's grants, not "everything"
    assert str(item_visibility(guest)) != "true" and str(item_visibility(staff)) == "true"

"""The group mapping of single sign-on (pure) and the signed sign-in cookie: what an IdP's groups make
of a user, and that a tampered, foreign or stale cookie is worth nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.principal import OrgRole
from tocsin.sso import mapping
from tocsin.sso.oidc import Pending
from tocsin.sso.state import seal, unseal

ROLES = mapping.parse_role_map("ops-admins=admin, oncall=responder, /staff/all=viewer, oncall=viewer")


@pytest.mark.parametrize(("groups", "default", "role", "reason"), [
    (["oncall"], "viewer", OrgRole.responder, "group 'oncall' maps to responder"),
    (["oncall", "ops-admins"], "viewer", OrgRole.admin, "group 'ops-admins' maps to admin"),  # the highest wins
    (["/staff/all"], "", OrgRole.viewer, "group '/staff/all' maps to viewer"),
    ([], "viewer", OrgRole.viewer, "no mapped group: the default role viewer"),
    (["marketing"], "responder", OrgRole.responder, "no mapped group: the default role responder"),
    (["marketing"], "", None, "in none of the groups that may log in"),  # empty default: refused
])
def test_the_highest_mapped_role_wins_else_the_default(groups, default, role, reason):
    assert mapping.decide_role(groups, ROLES, default) == mapping.RoleDecision(role, reason)


@pytest.mark.parametrize(("claim", "groups"), [
    (["a", "b", 3, ""], ["a", "b"]),
    ("a b,c", ["a", "b", "c"]),
    (None, []),
    ({"a": 1}, []),
])
def test_groups_claim_shapes(claim, groups):
    assert mapping.groups_of(claim) == groups


@pytest.mark.parametrize(("text", "error"), [
    ("ops-admins", "is not group=value"),
    ("=admin", "is not group=value"),
    ("ops=superuser", "must be admin, responder or viewer"),
])
def test_a_malformed_role_map_names_its_mistake(text, error):
    with pytest.raises(ValueError, match=error):
        mapping.parse_role_map(text)


def test_teams_named_in_the_map_follow_the_groups_and_others_are_left_alone():
    teams = mapping.parse_pairs("secops=security,secops=forensics,dba=databases", what="sso_team_map")
    decision = mapping.decide_teams(["secops", "unrelated"], teams)
    assert decision == mapping.TeamDecision(frozenset({"security", "forensics"}), frozenset({"databases"}))


NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
PENDING = Pending(state="st", nonce="no", verifier="v" * 64, next_path="/incidents/INC-1")


@pytest.mark.parametrize(("secret", "at", "tamper", "kept"), [
    ("server", NOW + timedelta(minutes=9), False, True),
    ("server", NOW + timedelta(minutes=10), False, False),  # ten minutes and the sign-in is stale
    ("another server", NOW, False, False),
    ("server", NOW, True, False),
])
def test_the_sign_in_cookie_is_signed_and_short_lived(secret, at, tamper, kept):
    value = seal(PENDING, server_secret="server", now=NOW)
    if tamper:  # the verifier swapped for one the attacker knows, signature kept
        data, _, mac = value.rpartition(".")
        value = seal(Pending("st", "no", "a" * 64, "/"), server_secret="other", now=NOW).rpartition(".")[0] + "." + mac
    assert unseal(value, server_secret=secret, now=at) == (PENDING if kept else None)
    assert unseal("garbage", server_secret="server", now=NOW) is None and unseal(None, server_secret="s", now=NOW) is None

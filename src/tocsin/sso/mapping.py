"""What an identity provider's groups mean in tocsin: an org role and team memberships. Pure.

The operator writes the maps as `group=value` pairs (settings `sso_role_map`, `sso_team_map`);
a group name may hold spaces or `/` (Keycloak's `/ops/admins`), not `=` or `,`. Each decision
comes with its reason, which the login audits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tocsin.principal import OrgRole

_RANK = {OrgRole.viewer: 0, OrgRole.responder: 1, OrgRole.admin: 2}


def parse_pairs(text: str, *, what: str) -> dict[str, list[str]]:
    """`a=x, b=y, a=z` -> {"a": ["x", "z"], "b": ["y"]}; ValueError naming `what` for a malformed pair."""
    out: dict[str, list[str]] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        group, sep, value = part.partition("=")
        if not sep or not group.strip() or not value.strip():
            raise ValueError(f"{what}: {part.strip()!r} is not group=value")
        out.setdefault(group.strip(), []).append(value.strip())
    return out


def parse_role_map(text: str) -> dict[str, list[OrgRole]]:
    """The role map with every value an OrgRole; ValueError for an unknown role."""
    out: dict[str, list[OrgRole]] = {}
    for group, values in parse_pairs(text, what="sso_role_map").items():
        try:
            out[group] = [OrgRole(v.lower()) for v in values]
            if OrgRole.guest in out[group]:  # guest accounts are made only by an invitation
                raise ValueError(group)
        except ValueError:
            raise ValueError(f"sso_role_map: the role of {group!r} must be admin, responder or viewer") from None
    return out


def groups_of(claim: object) -> list[str]:
    """The group names in an ID token's groups claim: a list of strings (Okta, Keycloak, Azure AD),
    or one space- or comma-separated string (some providers); anything else holds none."""
    if isinstance(claim, str):
        return [g for g in claim.replace(",", " ").split() if g]
    if isinstance(claim, list):
        return [g for g in claim if isinstance(g, str) and g]
    return []


@dataclass(frozen=True)
class RoleDecision:
    role: OrgRole | None  # None: the user may not log in
    reason: str


def decide_role(groups: Iterable[str], role_map: dict[str, list[OrgRole]], default: str) -> RoleDecision:
    """The highest role any of `groups` maps to; else `default` (a role name, or "" to refuse)."""
    found = [(role, group) for group in groups for role in role_map.get(group, [])]
    if found:
        role, group = max(found, key=lambda pair: _RANK[pair[0]])
        return RoleDecision(role, f"group {group!r} maps to {role.value}")
    if default:
        return RoleDecision(OrgRole(default), f"no mapped group: the default role {default}")
    return RoleDecision(None, "in none of the groups that may log in")


@dataclass(frozen=True)
class TeamDecision:
    join: frozenset[str]  # team slugs the user must be in
    leave: frozenset[str]  # mapped team slugs the user must not be in


def decide_teams(groups: Iterable[str], team_map: dict[str, list[str]]) -> TeamDecision:
    """Membership of the teams the map names follows the groups; teams it does not name are left alone."""
    held = set(groups)
    mapped = {slug for slugs in team_map.values() for slug in slugs}
    join = {slug for group, slugs in team_map.items() if group in held for slug in slugs}
    return TeamDecision(frozenset(join), frozenset(mapped - join))

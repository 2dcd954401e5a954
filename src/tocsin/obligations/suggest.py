"""Which regimes a security incident probably owes filings under, pure: from its data categories,
regions and affected count, each suggestion with the reasons for it. A suggestion, never a
decision: a person accepts it (and counsel verifies it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tocsin.obligations.catalog import RegimeSpec

EU_MEMBERS = frozenset({"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
                        "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"})
UK_ALIASES = frozenset({"GB", "UK"})


@dataclass(frozen=True)
class Exposure:
    """What the suggestion reads from the incident's record."""

    data: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    affected: int | None = None


@dataclass(frozen=True)
class Suggestion:
    regime: str
    name: str
    reasons: tuple[str, ...]


def _covers(rule_region: str, region: str) -> bool:
    """Does a regime's region cover an incident's region? EU covers its members; US covers US-NY."""
    if rule_region == region:
        return True
    if rule_region == "EU":
        return region == "EU" or region in EU_MEMBERS
    if rule_region == "GB":
        return region in UK_ALIASES
    return region.startswith(rule_region + "-")


def suggest(regimes: Iterable[RegimeSpec], exposure: Exposure, *, chosen: Sequence[str] = ()) -> list[Suggestion]:
    """The enabled regimes (not already chosen) whose `applies` rule matches `exposure`, in catalogue
    order, each with its reasons. An incident with no regions and no data categories gets none:
    there is nothing to go on yet."""
    if not exposure.regions and not exposure.data:
        return []
    out: list[Suggestion] = []
    for regime in regimes:
        if not regime.enabled or regime.id in chosen:
            continue
        rule = regime.applies
        reasons: list[str] = []
        if rule.regions:
            hits = sorted(r for r in exposure.regions if any(_covers(x, r) for x in rule.regions))
            if not hits:
                continue
            reasons.append(f"affects {', '.join(hits)} (the regime covers {', '.join(rule.regions)})")
        if rule.data:
            hits = sorted(set(rule.data) & exposure.data)
            if not hits:
                continue
            reasons.append(f"{', '.join(hits)} data involved")
        if rule.min_affected is not None:
            if exposure.affected is None or exposure.affected < rule.min_affected:
                continue
            reasons.append(f"{exposure.affected} people affected (threshold {rule.min_affected})")
        if not reasons:
            continue
        out.append(Suggestion(regime.id, regime.name, tuple(reasons)))
    return out

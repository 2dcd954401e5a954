"""The words of indicators and affected assets that users see in the API: indicator types, TLP 2.0
levels, asset kinds and containment states."""

from __future__ import annotations

from enum import StrEnum


class IndicatorType(StrEnum):
    ipv4 = "ipv4"
    ipv6 = "ipv6"
    domain = "domain"
    url = "url"
    md5 = "md5"
    sha1 = "sha1"
    sha256 = "sha256"
    account = "account"
    email = "email"
    host = "host"


class Tlp(StrEnum):
    """Traffic Light Protocol 2.0 (FIRST, 2022), least to most restrictive."""

    clear = "clear"
    green = "green"
    amber = "amber"
    amber_strict = "amber+strict"
    red = "red"


TLP_ORDER = {t: n for n, t in enumerate(Tlp)}


def strictest(levels: list[Tlp]) -> Tlp:
    """The most restrictive of `levels` (clear for none)."""
    return max(levels, key=TLP_ORDER.__getitem__, default=Tlp.clear)


class AssetKind(StrEnum):
    host = "host"
    account = "account"
    data_store = "data_store"
    service = "service"
    other = "other"


class ContainmentState(StrEnum):
    """Where an affected asset stands, in the order response usually moves it (any change is allowed:
    an asset found reinfected goes back to affected)."""

    suspected = "suspected"
    affected = "affected"
    contained = "contained"
    eradicated = "eradicated"
    recovered = "recovered"


TYPE_LABELS = {
    IndicatorType.ipv4: "IPv4 address", IndicatorType.ipv6: "IPv6 address", IndicatorType.domain: "Domain",
    IndicatorType.url: "URL", IndicatorType.md5: "MD5 hash", IndicatorType.sha1: "SHA-1 hash",
    IndicatorType.sha256: "SHA-256 hash", IndicatorType.account: "Account", IndicatorType.email: "Email address",
    IndicatorType.host: "Host name",
}
KIND_LABELS = {AssetKind.host: "Host", AssetKind.account: "Account", AssetKind.data_store: "Data store",
               AssetKind.service: "Service", AssetKind.other: "Other"}
TLP_LABELS = {t: f"TLP:{t.value.upper()}" for t in Tlp}

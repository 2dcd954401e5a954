"""Decide whether tocsin may open a connection to an address (the SSRF guard's rules).

Pure: no sockets, no DNS. `tocsin.net.http` resolves names and asks `EgressPolicy.check`
about every address before it connects, so the address checked is the address used.

Refused by default: loopback, private (RFC 1918), CGNAT and unique-local ranges
(`deny_private`, on unless a policy is built with it off), and always: cloud metadata
endpoints, link-local, "this network", multicast and reserved space, which no check or
webhook has a reason to reach and an attacker does. An explicit allow-list (the operator's
TOCSIN_OUTBOUND_ALLOW, TOCSIN_CHECK_ALLOW) overrides both. `tocsin.net.policy` builds the
policies tocsin uses from settings.

A URL's host may spell an address in forms a resolver accepts but `ipaddress` does not
(`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`): `literal_address` reads them all, so a
literal is judged as the address it is before anything is stored or sent. `localhost` and
`*.localhost` (RFC 6761) are judged as loopback without asking DNS.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from tocsin.errors import ProviderError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Blocked(ProviderError):
    """An outbound connection refused by the egress policy; never worth retrying."""

    code = "egress_blocked"

    def __init__(self, message: str, *, address: str | None = None, rule: str | None = None) -> None:
        super().__init__(message, retryable=False, details={"address": address, "rule": rule})
        self.address = address
        self.rule = rule


def _rules(*pairs: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(cidr), label) for cidr, label in pairs)


# Order matters only for the reason given: the most specific label comes first, so
# 169.254.169.254 is reported as metadata rather than as merely link-local.
ALWAYS_DENIED = _rules(
    ("169.254.169.254/32", "a cloud metadata address"),
    ("169.254.170.2/32", "a cloud metadata address (ECS)"),
    ("fd00:ec2::254/128", "a cloud metadata address (EC2 IPv6)"),
    ("100.100.100.200/32", "a cloud metadata address (Alibaba)"),
    ("192.0.0.192/32", "a cloud metadata address (Oracle)"),
    ("169.254.0.0/16", "link-local"),
    ("fe80::/10", "link-local"),
    ("0.0.0.0/8", "unspecified ('this network')"),
    ("::/128", "unspecified"),
    ("224.0.0.0/4", "multicast"),
    ("ff00::/8", "multicast"),
    ("240.0.0.0/4", "reserved (includes broadcast)"),
)

PRIVATE_DENIED = _rules(
    ("127.0.0.0/8", "loopback"),
    ("::1/128", "loopback"),
    ("10.0.0.0/8", "private (RFC 1918)"),
    ("172.16.0.0/12", "private (RFC 1918)"),
    ("192.168.0.0/16", "private (RFC 1918)"),
    ("100.64.0.0/10", "shared address space (CGNAT)"),
    ("fc00::/7", "a unique local address (ULA)"),
    ("fec0::/10", "site-local (deprecated, still routed in some networks)"),
    ("64:ff9b:1::/48", "local-use NAT64 (RFC 8215: its translator is in this network)"),
)

# Names that resolve to a metadata service inside the cloud; refused before DNS is asked,
# so a resolver we do not control cannot hand back an address the rules miss.
DENIED_HOSTNAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT (RFC 7915): ::ffff:0:a.b.c.d


def effective_address(ip: IPAddress) -> IPAddress:
    """Return the IPv4 address that an IPv6 address reaches, if it embeds one, else `ip`.

    ::ffff:a.b.c.d (IPv4-mapped) is the IPv4 host itself on a dual-stack socket, and
    64:ff9b::a.b.c.d (NAT64) reaches it through the translator; both must be judged as IPv4.
    The deprecated IPv4-compatible form ::a.b.c.d, SIIT's ::ffff:0:a.b.c.d and the 6to4 prefix
    2002:a.b.c.d::/48 are unwrapped too (except :: and ::1).
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    bare = ipaddress.IPv6Address(int(ip))  # drop any %scope before the range tests
    if bare in _NAT64 or bare in _IPV4_TRANSLATED or (bare in _IPV4_COMPATIBLE and int(bare) > 1):
        return ipaddress.IPv4Address(int(bare) & 0xFFFFFFFF)
    if bare.sixtofour is not None:  # 2002:AABB:CCDD::/48 is the 6to4 site of AA.BB.CC.DD
        return bare.sixtofour
    return ip


def parse_address(value: str | IPAddress) -> IPAddress:
    """Return `value` as an IP address; raise ValueError if it is not a literal address."""
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    return ipaddress.ip_address(value.strip().strip("[]"))


_INET_PART = re.compile(r"^(0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*)$")


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address `host` spells in inet_aton(3)'s forms, or None if it is not one.

    1 to 4 dot-separated parts, each decimal, octal (leading 0) or hex (0x); the last part
    fills the remaining bytes: "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "127.0.1".
    These are what getaddrinfo, and so every HTTP client, connect to.
    """
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_INET_PART.match(p) for p in parts):
        return None
    try:
        values = [int(p, 16) if p[:2].lower() == "0x" else int(p, 8) if p.startswith("0") else int(p) for p in parts]
    except ValueError:  # "0x" alone
        return None
    *head, last = values
    if any(v > 0xFF for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    number = last
    for i, value in enumerate(head):
        number |= value << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def literal_address(host: str) -> IPAddress | None:
    """Return the address a URL host names literally (any spelling), or None for a name.

    Brackets, surrounding space and one trailing dot are ignored; IPv6 forms as `ipaddress`
    reads them (an IPv4-mapped ::ffff:127.0.0.1 stays IPv6; `EgressPolicy.check` unwraps it).
    """
    text = host.strip().strip("[]")
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return _inet_aton(text)


def is_standard_literal(text: str) -> bool:
    """Return True when `text` is an address in the form `ipaddress` reads (dotted quad, IPv6)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def is_ip_literal(host: str) -> bool:
    """Return True when `host` is a literal IPv4/IPv6 address (any spelling) rather than a name."""
    return literal_address(host) is not None


def is_localhost_name(host: str) -> bool:
    """Return True for `localhost` and names under `.localhost` (RFC 6761: always loopback)."""
    name = host.strip().rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


@dataclass(frozen=True)
class EgressPolicy:
    """Which addresses outbound connections may reach. Immutable and safe to share."""

    allow: tuple[IPNetwork, ...] = ()
    deny_private: bool = True

    @classmethod
    def from_settings(cls, allow: str, *, deny_private: bool = True) -> EgressPolicy:
        """Return a policy from a comma-separated CIDR allow-list ("" for none).

        Raises ValueError naming the bad entry; host bits set ("10.0.0.1/8") count as bad,
        because such an entry is more likely a typo than an intent.
        """
        networks: list[IPNetwork] = []
        for part in allow.split(","):
            entry = part.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry))
            except ValueError as exc:
                raise ValueError(f"bad CIDR in egress allow-list: {entry!r} ({exc})") from None
        return cls(allow=tuple(networks), deny_private=deny_private)

    def _denied_by(self, ip: IPAddress) -> tuple[IPNetwork, str] | None:
        rules = ALWAYS_DENIED + PRIVATE_DENIED if self.deny_private else ALWAYS_DENIED
        for network, label in rules:
            if ip.version == network.version and ip in network:
                return network, label
        return None

    def check(self, ip: str | IPAddress, *, host: str | None = None) -> None:
        """Return None if connecting to `ip` is permitted; raise Blocked naming the rule.

        `host` is the name `ip` was resolved from, named in the refusal.
        Raises ValueError if `ip` is not a literal address.
        """
        address = parse_address(ip)
        target = effective_address(address)
        if any(target.version == net.version and target in net for net in self.allow):
            return
        hit = self._denied_by(target)
        if hit is None:
            return
        network, label = hit
        given = ip.strip() if isinstance(ip, str) else str(address)
        shown = given if target == address else f"{given} ({target})"
        reason = f"{shown} is {label} [{network}]"
        if host is not None and host.strip("[]") != given:
            reason = f"{host} resolves to {shown}, which is {label} [{network}]"
        raise Blocked(reason, address=str(address), rule=str(network))

    def check_host(self, host: str) -> None:
        """Return None if `host` (a name or literal address from a URL) may be contacted.

        Literal addresses (any spelling) are checked now; `localhost` names as loopback;
        other names only against the refused-name list, since their addresses are checked
        at connect time. Raises Blocked.
        """
        address = literal_address(host)
        if address is not None:
            text = host.strip().strip("[]")
            if is_standard_literal(text):
                self.check(text)
            else:  # "2130706433": named with the address it means
                self.check(address, host=host.strip())
            return
        name = host.strip().rstrip(".").lower()
        if name in DENIED_HOSTNAMES:
            raise Blocked(f"{host} is a cloud metadata hostname", address=host, rule="hostname")
        if is_localhost_name(name):  # its ::1 too, if it has one, is judged when it is resolved
            self.check(ipaddress.IPv4Address("127.0.0.1"), host=host)

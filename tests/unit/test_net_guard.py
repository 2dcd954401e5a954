"""The egress guard's rules: which addresses and names outbound connections may reach."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from tocsin.errors import ProviderError
from tocsin.net.guard import Blocked, EgressPolicy, effective_address, literal_address
from tocsin.net.http import resolve_checked

OPEN = EgressPolicy(deny_private=False)  # private ranges opened (what TOCSIN_OUTBOUND_ALLOW can do for some)
STRICT = EgressPolicy()  # the default: private ranges refused too

# (address, allowed with private ranges open, allowed by default, words the refusal must contain)
ADDRESSES = [
    # ordinary public addresses
    ("8.8.8.8", True, True, ""),
    ("1.1.1.1", True, True, ""),
    ("2001:4860:4860::8888", True, True, ""),
    # self-hosted targets: refused unless opened
    ("127.0.0.1", True, False, "loopback"),
    ("127.255.255.254", True, False, "loopback"),
    ("::1", True, False, "loopback"),
    ("10.0.0.1", True, False, "private"),
    ("172.16.0.1", True, False, "private"),
    ("172.31.255.255", True, False, "private"),
    ("172.32.0.1", True, True, ""),  # just outside 172.16/12
    ("192.168.1.10", True, False, "private"),
    ("100.64.0.1", True, False, "CGNAT"),
    ("100.127.255.255", True, False, "CGNAT"),
    ("100.128.0.1", True, True, ""),  # just outside 100.64/10
    ("fc00::1", True, False, "unique local"),
    ("fd12:3456::1", True, False, "unique local"),
    # cloud metadata: always refused, and named as such
    ("169.254.169.254", False, False, "cloud metadata"),
    ("169.254.170.2", False, False, "ECS"),
    ("fd00:ec2::254", False, False, "EC2"),
    ("100.100.100.200", False, False, "Alibaba"),
    ("192.0.0.192", False, False, "Oracle"),
    # link-local, unspecified, multicast, reserved
    ("169.254.0.1", False, False, "link-local"),
    ("169.254.255.255", False, False, "link-local"),
    ("fe80::1", False, False, "link-local"),
    ("fe80::1%eth0", False, False, "link-local"),
    ("0.0.0.0", False, False, "unspecified"),
    ("0.1.2.3", False, False, "unspecified"),
    ("::", False, False, "unspecified"),
    ("224.0.0.1", False, False, "multicast"),
    ("239.255.255.250", False, False, "multicast"),
    ("ff02::1", False, False, "multicast"),
    ("255.255.255.255", False, False, "reserved"),
    # IPv4 inside IPv6: judged as the IPv4 address they reach
    ("::ffff:169.254.169.254", False, False, "cloud metadata"),
    ("::ffff:a9fe:a9fe", False, False, "cloud metadata"),
    ("[::ffff:169.254.169.254]", False, False, "cloud metadata"),
    ("::ffff:0.0.0.0", False, False, "unspecified"),
    ("::ffff:169.254.1.1", False, False, "link-local"),
    ("::ffff:8.8.8.8", True, True, ""),
    ("::ffff:127.0.0.1", True, False, "loopback"),
    ("::ffff:10.1.2.3", True, False, "private"),
    ("64:ff9b::a9fe:a9fe", False, False, "cloud metadata"),  # NAT64 of 169.254.169.254
    ("64:ff9b::7f00:1", True, False, "loopback"),  # NAT64 of 127.0.0.1
    ("64:ff9b::808:808", True, True, ""),
    ("::169.254.169.254", False, False, "cloud metadata"),  # deprecated IPv4-compatible
]


@pytest.mark.parametrize(("address", "by_default", "when_strict", "words"), ADDRESSES)
def test_address_rules(address: str, by_default: bool, when_strict: bool, words: str) -> None:
    for policy, allowed in ((OPEN, by_default), (STRICT, when_strict)):
        if allowed:
            policy.check(address)
            continue
        with pytest.raises(Blocked) as info:
            policy.check(address)
        assert words in info.value.message
        assert address.strip("[]") in info.value.message  # the refusal names the address
        assert info.value.rule and info.value.rule in info.value.message  # ... and the rule


def test_blocked_is_a_permanent_provider_error() -> None:
    with pytest.raises(ProviderError) as info:
        OPEN.check("169.254.169.254")
    assert info.value.retryable is False
    assert info.value.details == {"address": "169.254.169.254", "rule": "169.254.169.254/32"}


def test_refusal_names_the_host_it_came_from() -> None:
    with pytest.raises(Blocked, match=r"^evil\.example resolves to 169\.254\.169\.254, which is a cloud metadata"):
        OPEN.check("169.254.169.254", host="evil.example")


def test_check_rejects_a_non_address() -> None:
    with pytest.raises(ValueError):
        OPEN.check("example.com")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("::ffff:1.2.3.4", "1.2.3.4"),
        ("64:ff9b::102:304", "1.2.3.4"),
        ("::102:304", "1.2.3.4"),
        ("::1", "::1"),
        ("::", "::"),
        ("2001:db8::1", "2001:db8::1"),
        ("1.2.3.4", "1.2.3.4"),
    ],
)
def test_effective_address(address: str, expected: str) -> None:
    assert effective_address(ipaddress.ip_address(address)) == ipaddress.ip_address(expected)


@pytest.mark.parametrize(
    ("setting", "address", "allowed"),
    [
        ("169.254.169.254/32", "169.254.169.254", True),  # an explicit allow beats the deny list
        ("169.254.169.254/32", "::ffff:169.254.169.254", True),
        ("169.254.169.254/32", "169.254.170.2", False),
        ("10.0.0.0/8", "10.9.8.7", True),
        ("10.0.0.0/8", "192.168.0.1", False),
        (" 127.0.0.0/8 , ::1 ", "::1", True),
        ("127.0.0.0/8,::1", "127.0.0.1", True),
        ("", "127.0.0.1", False),
    ],
)
def test_allow_list_overrides(setting: str, address: str, allowed: bool) -> None:
    policy = EgressPolicy.from_settings(setting, deny_private=True)
    if allowed:
        policy.check(address)
    else:
        with pytest.raises(Blocked):
            policy.check(address)


@pytest.mark.parametrize("setting", ["nope", "10.0.0.1/8", "10.0.0.0/33", "1.2.3.4,bad", "fe80::/129", "10.0.0.0/8/8"])
def test_from_settings_rejects_bad_cidrs(setting: str) -> None:
    with pytest.raises(ValueError, match="bad CIDR"):
        EgressPolicy.from_settings(setting)


def test_from_settings_empty_means_no_allow_list() -> None:
    assert EgressPolicy.from_settings(" , ") == EgressPolicy()
    assert EgressPolicy().deny_private  # private ranges are refused unless a policy opens them


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("metadata.google.internal", False),
        ("METADATA.Google.Internal.", False),
        ("metadata", False),
        ("metadata.goog", False),
        ("instance-data.ec2.internal", False),
        ("169.254.169.254", False),
        ("::ffff:169.254.169.254", False),
        ("example.com", True),
        ("metadata.example.com", True),
        ("localhost", True),  # names other than metadata are judged by their addresses
        ("127.0.0.1", True),
    ],
)
def test_check_host(host: str, allowed: bool) -> None:
    if allowed:
        OPEN.check_host(host)
    else:
        with pytest.raises(Blocked):
            OPEN.check_host(host)


def test_metadata_names_are_refused_whatever_the_allow_list() -> None:
    with pytest.raises(Blocked, match="metadata hostname"):
        EgressPolicy.from_settings("0.0.0.0/0,::/0").check_host("metadata.google.internal")


# Spellings of 169.254.169.254 that inet_aton-style parsers (getaddrinfo) accept. httpx's URL
# parser rejects some of them outright; the guard must catch the rest after resolution.
@pytest.mark.parametrize(
    "host", ["0251.0376.0251.0376", "2852039166", "0xa9.0xfe.0xa9.0xfe", "169.254.43518", "0xA9FEA9FE"]
)
def test_numeric_spellings_are_judged_by_what_they_resolve_to(host: str) -> None:
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(host, 80, type=socket.SOCK_STREAM)}
    except socket.gaierror:
        pytest.skip(f"this resolver does not parse {host}")
    assert resolved == {"169.254.169.254"}
    with pytest.raises(Blocked, match=f"{host} resolves to 169.254.169.254"):
        resolve_checked(host, 80, OPEN)


# Every spelling of a loopback or metadata address a resolver accepts is read as the address it is,
# so a URL host is judged before anything is stored or sent.
@pytest.mark.parametrize("host, address", [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("0X7F.0.0.1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("017700000001", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("127.0.1", "127.0.0.1"),
    ("127.0.0.1.", "127.0.0.1"),
    ("2852039166", "169.254.169.254"),
    ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
    ("10.1", "10.0.0.1"),
    ("[::1]", "::1"),
    ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
    ("[::ffff:7f00:1]", "::ffff:127.0.0.1"),
])
def test_literal_addresses_in_every_spelling(host: str, address: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)
    with pytest.raises(Blocked):
        STRICT.check_host(host)


@pytest.mark.parametrize("host", ["example.com", "127.0.0.1.nip.io", "0x7g.0.0.1", "256.0.0.1", "1.2.3.4.5",
                                  "4294967296", "08.0.0.1", "0x", "1..1", ""])
def test_names_and_non_addresses_are_not_literals(host: str) -> None:
    assert literal_address(host) is None


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "api.localhost"])
def test_localhost_names_are_loopback_without_asking_dns(host: str) -> None:
    with pytest.raises(Blocked, match="loopback"):
        STRICT.check_host(host)
    EgressPolicy.from_settings("127.0.0.0/8,::1/128").check_host(host)  # opened deliberately


def test_an_allow_list_opens_only_its_ranges() -> None:
    policy = EgressPolicy.from_settings("10.1.0.0/16")
    policy.check("10.1.2.3")
    with pytest.raises(Blocked, match="private"):
        policy.check("10.2.0.1")
    with pytest.raises(Blocked, match="loopback"):
        policy.check_host("0x7f000001")

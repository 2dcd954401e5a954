"""Indicator values (issue 17): each type's one canonical spelling, defanged input, and the refusals
a responder sees (with their reason) instead of a silently stored typo. Pure."""

from __future__ import annotations

import pytest

from tocsin.errors import InvalidInput
from tocsin.indicators.types import IndicatorType as T
from tocsin.indicators.types import Tlp, strictest
from tocsin.indicators.values import candidates, normalise


@pytest.mark.parametrize(("kind", "raw", "stored"), [
    (T.ipv4, " 198.51.100.7 ", "198.51.100.7"),
    (T.ipv4, "198.51.100[.]7", "198.51.100.7"),
    (T.ipv6, "2001:DB8:0:0::1", "2001:db8::1"),
    (T.domain, "Evil.Example.COM.", "evil.example.com"),
    (T.domain, "evil(.)example[.]com", "evil.example.com"),
    (T.domain, "bücher.example", "xn--bcher-kva.example"),
    (T.host, "WEB-7", "web-7"),
    (T.url, "hxxps://EVIL.example:443/Login?next=A#F", "https://evil.example/Login?next=A#F"),
    (T.url, "http://evil.example:8080", "http://evil.example:8080/"),
    (T.url, "http://[2001:DB8::1]/x", "http://[2001:db8::1]/x"),
    (T.md5, "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"),
    (T.sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    (T.sha256, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    (T.email, "Mallory@Evil.Example", "mallory@evil.example"),
    (T.email, "mallory[@]evil[.]example", "mallory@evil.example"),
    (T.account, "  CORP\\jdoe ", "CORP\\jdoe"),  # accounts keep their case
])
def test_values_are_stored_in_one_spelling(kind, raw, stored):
    assert normalise(kind, raw) == stored


@pytest.mark.parametrize(("kind", "raw", "reason"), [
    (T.ipv4, "198.51.100.300", "not a valid IPv4 address"),
    (T.ipv4, "010.1.1.1", "not a valid IPv4 address"),  # leading zeros: octal to some tools, decimal to others
    (T.ipv4, "2001:db8::1", "choose the type ipv6"),
    (T.ipv6, "198.51.100.7", "choose the type ipv4"),
    (T.domain, "localhost", "it needs a dot"),
    (T.domain, "evil..example", "not a valid domain"),
    (T.domain, "-evil.example", "not a valid domain"),
    (T.domain, "1.2.3.4", "looks like an IP address"),
    (T.url, "evil.example/path", "needs a scheme"),
    (T.url, "javascript:alert(1)", "needs a scheme"),
    (T.url, "http://evil.example/a b", "cannot contain spaces"),
    (T.url, "http://evil.example:99999/", "not a valid URL"),
    (T.md5, "d41d8cd98f00b204e9800998ecf8427", "32 hexadecimal digits"),
    (T.sha256, "z" * 64, "64 hexadecimal digits"),
    (T.email, "mallory.evil.example", "not a valid email address"),
    (T.email, "mallory@localhost", "it needs a dot"),
    (T.account, "   ", "give the indicator's value"),
    (T.account, "a\x07b", "control characters"),
    (T.account, "x" * 257, "at most 256 characters"),
])
def test_bad_values_are_refused_with_the_reason(kind, raw, reason):
    with pytest.raises(InvalidInput, match=reason) as caught:
        normalise(kind, raw)
    assert caught.value.details == {"field": "value"}


def test_a_search_without_a_type_tries_every_type():
    assert candidates("WEB-7") == {T.host: "web-7", T.account: "WEB-7"}
    assert candidates("198.51.100[.]7")[T.ipv4] == "198.51.100.7"
    assert strictest([Tlp.green, Tlp.amber_strict, Tlp.amber]) is Tlp.amber_strict
    assert strictest([]) is Tlp.clear

"""Checking and normalising indicator values, pure: one canonical spelling per type, so that the
same indicator seen in two incidents is found by an exact match (and exported once).

Analysts paste defanged values (`hxxp://evil[.]example`, `198.51.100[.]7`); they are refanged
first. Every refusal is an InvalidInput naming the field, with the reason in words.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

from tocsin.errors import InvalidInput
from tocsin.indicators.types import IndicatorType

MAX_VALUE = 2000
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_HEX = {IndicatorType.md5: 32, IndicatorType.sha1: 40, IndicatorType.sha256: 64}
_HEXCHARS = re.compile(r"^[0-9a-f]+$")
_EMAIL_LOCAL = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_DEFANG = (("[.]", "."), ("(.)", "."), ("{.}", "."), ("[dot]", "."), ("[:]", ":"), ("[@]", "@"), ("[at]", "@"))
_URL_SCHEMES = {"http", "https", "ftp", "ftps", "sftp", "ws", "wss", "smb", "ldap", "ldaps"}
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message, details={"field": "value"})


def refang(text: str) -> str:
    """Undo the usual defanging: [.] (.) [dot] [:] [@] and hxxp(s)."""
    out = text
    for old, new in _DEFANG:
        out = out.replace(old, new)
    return re.sub(r"^hxxp", "http", out, flags=re.IGNORECASE)


def _domain(text: str, *, what: str, single_label: bool = False) -> str:
    name = text.strip().lower().rstrip(".")
    try:
        name = name.encode("idna").decode("ascii")  # Unicode names are stored in their punycode (xn--) form
    except UnicodeError:
        raise _bad(f"{text!r} is not a valid {what}") from None
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise _bad(f"{text!r} is not a valid {what}: letters, digits, hyphens and dots only, "
                   "labels of 1 to 63 characters")
    if len(labels) < 2 and not single_label:
        raise _bad(f"{text!r} is not a valid {what}: it needs a dot (example.com)")
    if labels[-1].isdigit():
        raise _bad(f"{text!r} looks like an IP address, not a {what}")
    return name


def _url(text: str) -> str:
    if any(c.isspace() for c in text):
        raise _bad("a URL cannot contain spaces (percent-encode them as %20)")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise _bad(f"{text!r} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _URL_SCHEMES or not parts.hostname:
        raise _bad(f"{text!r} is not a URL: it needs a scheme such as http:// or https:// and a host")
    host = parts.hostname
    try:
        addr = ipaddress.ip_address(host)
        host = f"[{addr.compressed}]" if addr.version == 6 else addr.compressed
    except ValueError:
        host = _domain(host, what="host in the URL", single_label=True)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (userinfo + "@" if userinfo else "") + host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    # The path, query and fragment keep their case: servers tell /Admin from /admin.
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, parts.fragment))


def normalise(kind: IndicatorType, raw: str) -> str:
    """The canonical spelling of `raw` as an indicator of `kind`; raise InvalidInput saying why not."""
    text = raw.strip()
    if not text:
        raise _bad("give the indicator's value")
    if len(text) > MAX_VALUE:
        raise _bad(f"an indicator value may have at most {MAX_VALUE} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise _bad("an indicator value cannot contain control characters")
    text = refang(text)
    if kind in (IndicatorType.ipv4, IndicatorType.ipv6):
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            raise _bad(f"{raw.strip()!r} is not a valid {'IPv4' if kind == IndicatorType.ipv4 else 'IPv6'} address") \
                from None
        if (addr.version == 4) != (kind == IndicatorType.ipv4):
            raise _bad(f"{raw.strip()!r} is an IPv{addr.version} address: choose the type ipv{addr.version}")
        return addr.compressed
    if kind in _HEX:
        digest = text.lower()
        if len(digest) != _HEX[kind] or not _HEXCHARS.match(digest):
            raise _bad(f"a {kind.value} hash is {_HEX[kind]} hexadecimal digits")
        return digest
    if kind == IndicatorType.domain:
        return _domain(text, what="domain")
    if kind == IndicatorType.host:
        return _domain(text, what="host name", single_label=True)
    if kind == IndicatorType.url:
        url = _url(text)
        if len(url) > MAX_VALUE:
            raise _bad(f"an indicator value may have at most {MAX_VALUE} characters")
        return url
    if kind == IndicatorType.email:
        local, at, domain = text.lower().rpartition("@")
        if not at or not _EMAIL_LOCAL.match(local) or local.startswith(".") or local.endswith("."):
            raise _bad(f"{raw.strip()!r} is not a valid email address")
        return f"{local}@{_domain(domain, what='email domain')}"
    # account: names are matched as written (DOMAIN\\user, user@realm, an AWS ARN), trimmed only.
    if len(text) > 256:
        raise _bad("an account name may have at most 256 characters")
    return text


def candidates(raw: str) -> dict[IndicatorType, str]:
    """Every type `raw` is a valid value of, with its canonical spelling there (for a search that
    names no type). Empty when it is valid as none."""
    found: dict[IndicatorType, str] = {}
    for kind in IndicatorType:
        try:
            found[kind] = normalise(kind, raw)
        except InvalidInput:
            continue
    return found

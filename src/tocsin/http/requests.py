"""Checks on a request both HTTP edges make: no NUL bytes in the URL, is a form POST from our own site,
and which address the request came from.

`same_origin` is the check for forms that carry no CSRF token: console login and invite
acceptance (no session yet) and the public subscription confirmation (the token in the URL is
the secret, but a cross-site page must not press the button for someone).
"""

from __future__ import annotations

import functools
import ipaddress
from urllib.parse import urlsplit

from fastapi import Request

from tocsin.errors import InvalidInput


def reject_nul(request: Request) -> None:
    """Refuse NUL (%00) in the path or query: it is in no key, and PostgreSQL cannot compare text holding it."""
    if "\x00" in request.scope.get("path", ""):
        raise InvalidInput("the URL path must not contain NUL (%00) characters", details={"field": "path"})
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise InvalidInput("query parameters must not contain NUL (%00) characters",
                               details={"field": name.replace("\x00", "")})


def same_origin(request: Request) -> bool:
    """False when the browser says the request came from another site or an opaque origin
    (`Origin: null`, sent by sandboxed frames and data: URLs); True without an Origin header
    (not a browser form post) or when it names this server as the request reached it or as its
    public URL (behind a reverse proxy that rewrites Host)."""
    if request.headers.get("sec-fetch-site", "").strip().lower() == "cross-site":
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    ours = {request.headers.get("host", "").lower(),
            urlsplit(request.app.state.settings.resolved_public_url()).netloc.lower()}
    ours.discard("")
    try:
        theirs = urlsplit(origin.strip()).netloc.lower()
    except ValueError:
        return False
    return origin.strip().lower() != "null" and theirs in ours


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(spec: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(request: Request) -> str:
    """The address a request came from, for throttles and rate limits: the socket peer, unless the
    peer is one of the `trusted_proxies`; then the right-most X-Forwarded-For entry that is not a
    trusted proxy itself (entries further left are whatever the client chose to send)."""
    peer = request.client.host if request.client else "unknown"
    networks = _networks(request.app.state.settings.trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for value in request.headers.getlist("x-forwarded-for") for h in value.split(",")]
    for hop in reversed([h for h in hops if h]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a mangled header: trust nothing in it
        if not _trusted(hop, networks):
            return hop
    return peer


def public_url_for(request: Request, name: str, **params: str) -> str:
    """The absolute URL of route `name` as people outside reach it: under TOCSIN_PUBLIC_URL when it
    is set (behind a reverse proxy the request's own Host is not the public address, and a link
    handed out for later use, such as a calendar feed, must not depend on a request header), else as
    the request reached this server."""
    public = request.app.state.settings.public_url
    if public:
        return public.rstrip("/") + str(request.app.url_path_for(name, **params))
    return str(request.url_for(name, **params))

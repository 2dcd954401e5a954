"""Checks on a request both HTTP edges make: no NUL bytes in the URL, and is a form POST from our own site.

`same_origin` is the check for forms that carry no CSRF token: console login and invite
acceptance (no session yet) and the public subscription confirmation (the token in the URL is
the secret, but a cross-site page must not press the button for someone).
"""

from __future__ import annotations

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

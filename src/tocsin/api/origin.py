"""Is this POST from our own site? The check for forms that carry no CSRF token: console login
and invite acceptance (no session yet) and the public subscription confirmation (the token in
the URL is the secret, but a cross-site page must not press the button for someone)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request


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

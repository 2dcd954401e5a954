"""A stand-in OpenID Connect provider that speaks the protocol, for driving tocsin's real Authlib client.

No OIDC provider installs here from the package registries in a practical way, so this is a small
Starlette app served by a real uvicorn on a loopback port (`served` from tests/harness/console.py):

- `/.well-known/openid-configuration`: the discovery document (issuer = the base URL);
- `/jwks`: the public half of an RSA key (kid `k1`);
- `GET /authorize`: a login page listing the provider's users (the browser test clicks one);
  `POST /authorize`: issues a one-time code bound to the client, redirect URI, nonce and PKCE
  challenge, and redirects back with `code` and `state`;
- `POST /token`: checks client authentication (Basic or post), the code, the redirect URI and
  the PKCE `code_verifier` (S256 only), and answers an RS256-signed ID token.

`Provider.fault` makes one kind of bad ID token: `wrong_nonce`, `bad_signature` (signed by another
key under the same kid), `wrong_audience`, `expired`. `Provider.users` maps a login name to the
claims its ID token carries (email, name, groups). Times come from `now` (the test's ManualClock).

    with oidc_provider(clock) as idp:
        idp.users["ada"] = {"email": "ada@example.test", "groups": ["ops-admins"]}
        ... Settings(sso_issuer=idp.issuer, sso_client_id=CLIENT_ID, sso_client_secret=CLIENT_SECRET)
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.harness.console import served

CLIENT_ID = "tocsin-console"
CLIENT_SECRET = "stand-in-client-secret"


@functools.cache
def _key(name: str) -> RSAKey:
    """An RSA key per name, made once per process (2048-bit generation is the slow part)."""
    return RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})


async def _form(request: Request) -> dict[str, str]:
    """An url-encoded body (python-multipart, which Starlette's own parser needs, is not installed)."""
    return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str
    user: str


@dataclass
class Provider:
    now: Callable[[], datetime]
    issuer: str = ""
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    fault: str | None = None
    codes: dict[str, _Code] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    # --- endpoints ---------------------------------------------------------------------------------
    async def discovery(self, _request: Request) -> Response:
        return JSONResponse({
            "issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "email", "profile", "groups"],
        })

    async def jwks(self, _request: Request) -> Response:
        return JSONResponse({"keys": [_key("real").as_dict(private=False)]})

    async def authorize_page(self, request: Request) -> Response:
        q = request.query_params
        if q.get("response_type") != "code" or q.get("client_id") != CLIENT_ID or "openid" not in q.get("scope", ""):
            return HTMLResponse("<p>bad authorization request</p>", status_code=400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return HTMLResponse("<p>PKCE (S256) is required</p>", status_code=400)
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in q.items())
        buttons = "".join(f'<button type="submit" name="login" value="{html.escape(u)}">Continue as {html.escape(u)}'
                          "</button>" for u in self.users)
        return HTMLResponse('<!doctype html><html lang="en"><head><title>Stand-in identity provider</title></head>'
                            f'<body><main><h1>Stand-in identity provider</h1><form method="post">{hidden}{buttons}'
                            "</form></main></body></html>")

    async def authorize(self, request: Request) -> Response:
        form = await _form(request)
        user, redirect_uri = str(form.get("login", "")), str(form.get("redirect_uri", ""))
        if user not in self.users or form.get("client_id") != CLIENT_ID:
            return HTMLResponse("<p>unknown user or client</p>", status_code=400)
        code = secrets.token_urlsafe(24)
        self.codes[code] = _Code(CLIENT_ID, redirect_uri, str(form.get("nonce")) if form.get("nonce") else None,
                                 str(form.get("code_challenge", "")), user)
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': form.get('state', '')})}",
                                status_code=302)

    async def token(self, request: Request) -> Response:
        form = await _form(request)
        self.token_requests.append(form)
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.codes.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code" or grant is None or grant.client_id != client_id:
            return JSONResponse({"error": "invalid_grant", "error_description": "unknown or used code"}, status_code=400)
        if form.get("redirect_uri") != grant.redirect_uri:
            return JSONResponse({"error": "invalid_grant", "error_description": "redirect_uri"}, status_code=400)
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not verifier or digest != grant.challenge:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE verification failed"},
                                status_code=400)
        return JSONResponse({"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 300,
                             "id_token": self._id_token(grant)})

    def _id_token(self, grant: _Code) -> str:
        now = self.now()
        claims: dict[str, Any] = {"iss": self.issuer, "sub": f"sub-{grant.user}", "aud": CLIENT_ID,
                                  "iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=5)).timestamp()),
                                  **self.users[grant.user]}
        if grant.nonce:
            claims["nonce"] = grant.nonce
        key = _key("real")
        if self.fault == "wrong_nonce":
            claims["nonce"] = "not-the-nonce-tocsin-sent"
        elif self.fault == "wrong_audience":
            claims["aud"] = "some-other-application"
        elif self.fault == "expired":
            claims["iat"] = int((now - timedelta(hours=2)).timestamp())
            claims["exp"] = int((now - timedelta(hours=1)).timestamp())
        elif self.fault == "bad_signature":
            key = _key("attacker")
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery), Route("/jwks", self.jwks),
            Route("/authorize", self.authorize_page, methods=["GET"]), Route("/authorize", self.authorize,
                                                                              methods=["POST"]),
            Route("/token", self.token, methods=["POST"]),
        ])


@contextmanager
def oidc_provider(now: Callable[[], datetime] | Any) -> Iterator[Provider]:
    """Serve a stand-in provider; `now` is a callable or a clock with `.now()`."""
    provider = Provider(now=now.now if hasattr(now, "now") else now)
    with served(provider.app()) as base:
        provider.issuer = base
        yield provider


def callback_query(location: str) -> str:
    """The path + query of a redirect back to tocsin's callback (any host)."""
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"

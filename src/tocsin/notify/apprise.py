"""Deliver a message through Apprise to the services it knows, named by an Apprise URL.

`message.to` is one Apprise URL (https://github.com/caronc/apprise/wiki). The subject is the
notification's title and the body its body.

Apprise URLs carry their service's credentials, so nothing here repeats a URL: a refusal
names only the scheme. A failure's detail is tocsin's own words; Apprise's log lines (which
can quote what the far end answered) go to tocsin's log, secrets masked, never to users.

Egress: only the schemes in `SCHEMES` are accepted, each one whose every connection target
tocsin knows and checks. Self-hosted services (json, xml, form, ntfy, gotify, mattermost,
rocket.chat, the Apprise API) connect to the URL's own host and port, and nowhere else
whatever the query says: that host is resolved and every address checked with the
EgressPolicy when the method is saved (literal addresses) and before each send. SaaS services
(discord, tgram, pover, slack) connect to their fixed public API host, which no part of the URL
changes. Everything else is refused, because its targets come from elsewhere: mailto's
`smtp=` and its guess of a mail server from the address, Matrix's `.well-known` discovery,
Zulip's and Nostr's derived hosts, local desktop and D-Bus plugins. Redirects are never
followed, whatever the URL says. What remains: Apprise (requests) resolves the checked name
again when it connects, so a name re-pointed in between (DNS rebinding) is not caught as
`tocsin.net.http` catches it; use a `json://` URL with a literal address when that matters.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise
import httpcore

from tocsin.net.guard import Blocked, EgressPolicy
from tocsin.net.http import resolve_checked
from tocsin.notify.types import Message, Outcome, Result, status_words

_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]{0,31})://")

# The schemes tocsin accepts: each connects only to the URL's own host (None) or to a fixed
# public host (a str, not looked up here: the plugin builds the address from a constant).
_OWN_HOST = None
SCHEMES: dict[str, str | None] = {
    **dict.fromkeys(("json", "jsons", "xml", "xmls", "form", "forms", "gotify", "gotifys", "mmost", "mmosts",
                     "rocket", "rockets", "apprise", "apprises", "ntfy", "ntfys"), _OWN_HOST),
    "discord": "discord.com",
    "tgram": "api.telegram.org",
    "pover": "api.pushover.net",
    "slack": "slack.com",
}
_DETAIL_CHARS = 512  # how much of Apprise's log lines is logged
log = logging.getLogger("tocsin.notify.apprise")
_STATUS = re.compile(r"\berror=([1-5][0-9]{2})\b")  # how Apprise's http plugins log a reply's status
_SECRET_MIN_CHARS = 6  # URL parts at least this long are masked in details


def _scheme(url: str) -> str:
    match = _SCHEME.match(url)
    return f"scheme {match.group(1).lower()}://" if match else "no scheme"


def _load(url: str) -> tuple[apprise.Apprise, Any] | str:
    """Return (an Apprise holding the one service `url` names, that service's plugin),
    or why `url` cannot be used."""
    if not url.strip():
        return "no Apprise URL given"
    match = _SCHEME.match(url)
    if match is None:
        return "not a valid Apprise URL (no scheme)"
    if match.group(1).lower() not in SCHEMES:
        return (f"not an Apprise service tocsin can check ({_scheme(url)}); use one of "
                f"{', '.join(sorted(SCHEMES))}")
    # Redirects off by default and, below, on the plugin itself: `?redirect=yes` in a URL
    # overrides the asset, and a followed redirect would go where no check has looked.
    service = apprise.Apprise(asset=apprise.AppriseAsset(http_redirects=False))
    try:
        added = service.add(url)
    except Exception:  # a plugin's constructor raising is a bad URL too
        added = False
    if not added:
        return f"not a valid Apprise URL ({_scheme(url)})"
    if len(service) != 1:
        # Apprise splits on spaces and commas; one destination is one send, so a failure
        # can be retried without repeating deliveries that succeeded.
        return f"one Apprise URL per destination, got {len(service)}"
    plugin = service[0]
    if hasattr(plugin, "redirects"):
        plugin.redirects = False
    return service, plugin


def _network_host(url: str, plugin: Any) -> tuple[str, int] | None:
    """Return (host, port) when the plugin connects to its URL's own host, else None (a fixed
    public host, or ntfy:// without a host, which goes to ntfy.sh)."""
    match = _SCHEME.match(url)
    if match is None or SCHEMES.get(match.group(1).lower(), "") is not _OWN_HOST:
        return None
    host = getattr(plugin, "host", None)
    if not isinstance(host, str) or not host.strip():
        return None
    port = getattr(plugin, "port", None)
    return host.strip().strip("[]"), port if isinstance(port, int) else 0


def validate_apprise_url(url: str, *, policy: EgressPolicy | None = None) -> str | None:
    """Return why `url` cannot be used as an Apprise destination, or None if it can.

    For validating contact methods in the API: it does not touch the network, so only
    literal addresses and refused host names are judged against `policy` (the default
    policy when None); names are resolved and checked at send time. The message never
    repeats the URL.
    """
    loaded = _load(url)
    if isinstance(loaded, str):
        return loaded
    target = _network_host(url, loaded[1])
    if target is not None:
        try:
            (policy or EgressPolicy()).check_host(target[0])
        except Blocked as exc:
            return f"blocked by the egress policy: {exc.message}"
    return None


def _secrets(url: str, network_host: str | None) -> list[str]:
    """Return the parts of `url` that may be credentials, longest first.

    Everything but the scheme and the server's own host name counts: services put tokens
    in the user, password, path, query and, for some (tgram's bot token), the host slot.
    """
    try:
        parts = urlsplit(url.strip())
        userinfo = parts.netloc.rpartition("@")[0]
        candidates = [userinfo, *userinfo.split(":", 1), *re.split(r"[:@]", parts.netloc)]
        candidates += [*parts.path.split("/"), parts.fragment]
        candidates += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    except ValueError:
        return []
    found = {c for raw in candidates for c in (raw, unquote(raw)) if len(c) >= _SECRET_MIN_CHARS}
    found.discard(network_host or "")
    return sorted(found, key=len, reverse=True)


def _mask(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _failure_detail(outcome: Any, secrets: list[str], url: str) -> str:
    status = getattr(getattr(outcome, "status", None), "name", "FAILURE")
    try:
        lines = [
            " ".join(str(entry.message).split())
            for entry in outcome.logs()
            if str(getattr(entry, "level", "")).upper() in ("WARNING", "ERROR", "CRITICAL")
        ]
    except Exception:  # the logs are a nicety; their absence must not lose the outcome
        lines = []
    finally:
        if hasattr(outcome, "close"):
            outcome.close()
    if lines:  # for operators: Apprise's words can quote the far end's reply, so never shown to users
        text = _mask("; ".join(dict.fromkeys(lines)), secrets)
        log.info("Apprise (%s) failed: %s", _scheme(url), text[:_DETAIL_CHARS])
    # Only what tocsin can say in its own words: the status code Apprise reports ("error=503")
    # or that it could not connect.
    code = next((m.group(1) for line in lines for m in [_STATUS.search(line)] if m), None)
    if status == "TIMEOUT":
        reason = "Apprise timed out"
    elif code is not None:
        reason = f"Apprise: the service answered {status_words(int(code))}"
    elif any("connection error" in line.lower() for line in lines):
        reason = f"Apprise could not connect ({_scheme(url)})"
    else:
        reason = f"Apprise could not deliver ({_scheme(url)})"
    # Apprise does not tell a refusal from an outage, so every failure may be worth a retry.
    return reason + " (Apprise does not say whether trying again could help)"


class AppriseProvider:
    """Sends each message to the Apprise URL in `message.to`."""

    name = "apprise"

    def __init__(self, *, policy: EgressPolicy | None = None) -> None:
        """`policy` judges the hosts Apprise URLs name (the default policy when None)."""
        self.policy = policy or EgressPolicy()

    def __repr__(self) -> str:
        return f"AppriseProvider(policy={self.policy!r})"

    def send(self, message: Message) -> Result:
        """Return delivered when Apprise reports success; retryable when it reports failure
        (it does not say whether trying again could help) or a host does not resolve;
        permanent for an unusable URL or a host the egress policy refuses."""
        loaded = _load(message.to)
        if isinstance(loaded, str):
            return Result(Outcome.permanent, loaded)
        service, plugin = loaded
        target = _network_host(message.to, plugin)
        secrets = _secrets(message.to, target[0] if target else None)
        if target is not None:
            host, port = target
            try:
                resolve_checked(host, port, self.policy)
            except Blocked as exc:
                return Result(Outcome.permanent, f"blocked by the egress policy: {exc.message}")
            except httpcore.ConnectError as exc:
                return Result(Outcome.retryable, str(exc))

        try:
            outcome = service.notify(title=message.subject, body=message.body)
        except Exception as exc:  # a plugin bug; its message may quote the URL, so only the type
            return Result(Outcome.retryable, f"Apprise raised {type(exc).__name__}")
        if outcome:
            if hasattr(outcome, "close"):
                outcome.close()
            return Result(Outcome.delivered, f"sent by Apprise ({_scheme(message.to)})")
        return Result(Outcome.retryable, _failure_detail(outcome, secrets, message.to))


"""The egress policies tocsin uses, built from settings: one for every destination a user or
admin points tocsin at, and one for synthetic checks.

- `user_policy(settings)`: contact methods (webhook, Slack webhook, Apprise), status-page
  webhooks, the tracker sync URL. Loopback, private, CGNAT and unique-local ranges are refused,
  and always link-local, metadata, multicast and reserved space; TOCSIN_OUTBOUND_ALLOW (CIDRs)
  opens ranges deliberately.
- `check_policy(settings)`: synthetic checks (HTTP and TCP). The same rules, opened by
  TOCSIN_OUTBOUND_ALLOW and, for checks only, TOCSIN_CHECK_ALLOW: checks that watch internal
  services are a legitimate use an admin opts into, without opening webhooks to the same ranges.

- `operator_policy(settings)`: servers the operator names in settings that may well sit on the
  operator's own network (the OIDC issuer, the Mattermost server): private ranges allowed, but
  never cloud metadata, link-local, multicast or reserved space (a misconfigured or hijacked
  name must not reach the metadata service).

Other operator endpoints from the environment (the SMTP server, the Twilio and Slack API base
URLs) are not user input and do not pass these policies: the operator chose them.

`settings` is anything with `outbound_allow` (and `check_allow`) strings, so callers without a
full Settings (tests, the CLI) can pass a namespace. A bad CIDR raises ValueError naming it.
"""

from __future__ import annotations

from typing import Any

from tocsin.net.guard import EgressPolicy


def _allow(settings: Any, *names: str) -> str:
    return ",".join(str(getattr(settings, name, "") or "") for name in names)


def user_policy(settings: Any) -> EgressPolicy:
    """The policy for destinations users and admins choose (everything but checks)."""
    return EgressPolicy.from_settings(_allow(settings, "outbound_allow"), deny_private=True)


def check_policy(settings: Any) -> EgressPolicy:
    """The policy for synthetic checks: the user policy, opened further by TOCSIN_CHECK_ALLOW."""
    return EgressPolicy.from_settings(_allow(settings, "outbound_allow", "check_allow"), deny_private=True)


def operator_policy(settings: Any) -> EgressPolicy:
    """The policy for operator-configured servers (OIDC issuer, Mattermost): private allowed, metadata not."""
    return EgressPolicy.from_settings(_allow(settings, "outbound_allow"), deny_private=False)

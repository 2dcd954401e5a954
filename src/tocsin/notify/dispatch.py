"""One place that knows every channel: the provider for each, configured from settings.

`Dispatcher.send(channel, message)` returns a Result for every channel, including the ones
not configured here (a permanent failure naming the setting to set), so the delivery engine
and contact-method verification treat all channels the same way.

Webhook contact methods are signed with a secret derived from the server key and the
contact method's id (`webhook_secret`), so no signing secret is stored: the owner reads it
from the API.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import uuid
from typing import Any

from tocsin.clock import Clock, SystemClock
from tocsin.config import Settings
from tocsin.net.guard import EgressPolicy
from tocsin.net.http import make_client
from tocsin.net.policy import user_policy
from tocsin.notify.teams import TeamsProvider
from tocsin.notify.types import Message, Outcome, Provider, Result
from tocsin.notify.webhook import WebhookProvider

log = logging.getLogger("tocsin.notify.dispatch")

CHANNELS = ("email", "sms", "voice", "webhook", "slack", "mattermost", "teams", "apprise", "push")


def webhook_secret(server_key: str, contact_method_id: uuid.UUID) -> str:
    """The signing secret of one webhook contact method."""
    return "whsec_" + hmac.new(server_key.encode(), f"webhook:{contact_method_id}".encode(),
                               hashlib.sha256).hexdigest()[:40]


class Dispatcher:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings, self.clock = settings, clock or SystemClock()
        self._cache: dict[str, Provider | Result] = {}
        self._http: Any = None
        self._lock = threading.Lock()  # the engine sends from several threads
        self._server_secret: str | None = None  # read once: it may live in a file (data_dir/secret_key)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        mattermost = self._cache.get("mattermost")
        if mattermost is not None and not isinstance(mattermost, Result):
            getattr(mattermost, "close", lambda: None)()  # its own client (the operator's server, another policy)

    def _policy(self) -> EgressPolicy:
        # Every destination a dispatcher reaches is user-chosen (contact methods, status-page
        # webhooks, the tracker sync URL): private ranges refused unless TOCSIN_OUTBOUND_ALLOW opens them.
        return user_policy(self.settings)

    def client(self) -> Any:
        with self._lock:
            if self._http is None:
                self._http = make_client(self._policy())
            return self._http

    def _make(self, channel: str) -> Provider | Result:
        st = self.settings
        if channel == "email":
            if not st.smtp_url:
                return Result(Outcome.permanent, "no email server configured (set TOCSIN_SMTP_URL)")
            from tocsin.notify.email import (
                EmailProvider,  # lazy: a provider's library loads only once its channel is configured and used
            )

            return EmailProvider(st.smtp_url, st.smtp_from)
        if channel in ("sms", "voice"):
            sid, token, sender = st.twilio_account_sid, st.twilio_auth_token, st.twilio_from
            if not (sid and token and sender):
                return Result(Outcome.permanent, "SMS and voice are not configured (set TOCSIN_TWILIO_ACCOUNT_SID, "
                                                 "TOCSIN_TWILIO_AUTH_TOKEN and TOCSIN_TWILIO_FROM)")
            from tocsin.notify.twilio import (
                TwilioProvider,  # lazy: a provider's library loads only once its channel is configured and used
            )

            try:
                callback = f"{st.public_url.rstrip('/')}/integrations/twilio/status" if st.public_url else None
                return TwilioProvider(sid, token, sender, st.twilio_base_url,
                                      kind=channel, status_callback=callback)
            except ValueError as exc:
                return Result(Outcome.permanent, f"SMS and voice are misconfigured: {exc}")
        if channel == "slack":
            from tocsin.notify.slack import (
                SlackProvider,  # lazy: a provider's library loads only once its channel is configured and used
            )

            return SlackProvider(st.slack_bot_token, st.slack_base_url, policy=self._policy(),
                                 interactive=st.slack_app_enabled())
        if channel == "mattermost":
            from tocsin.notify.mattermost import (  # lazy: a provider loads only once its channel is used
                MattermostClient,
                MattermostProvider,
            )

            client = MattermostClient.from_settings(st)
            if client is None:
                return Result(Outcome.permanent, "Mattermost is not configured (set TOCSIN_MATTERMOST_URL and "
                                                 "TOCSIN_MATTERMOST_BOT_TOKEN)")
            return MattermostProvider(client, server_key=st.resolved_secret_key(),
                                      public_url=st.resolved_public_url())
        if channel == "teams":
            return TeamsProvider(self.client)  # the guarded client, asked for at send time (we hold the lock)
        if channel == "apprise":
            from tocsin.notify.apprise import (
                AppriseProvider,  # lazy: a provider's library loads only once its channel is configured and used
            )

            return AppriseProvider(policy=self._policy())
        if channel == "push":
            subject = st.resolved_vapid_subject()
            if not subject:
                return Result(Outcome.permanent, "Web Push is not configured (set TOCSIN_VAPID_SUBJECT to a mailto: "
                                                 "address push services can write to)")
            from tocsin.notify.webpush import (
                WebPushProvider,  # lazy: a provider's library loads only once its channel is configured and used
            )

            try:  # the client is asked for at send time: `_make` runs under the lock `client` takes
                return WebPushProvider(self.client, st.resolved_vapid_key(), subject, clock=self.clock)
            except ValueError as exc:
                return Result(Outcome.permanent, f"Web Push is misconfigured: {exc}")
        return Result(Outcome.permanent, f"unknown channel {channel!r}")

    def send(self, channel: str, message: Message, *, contact_method_id: uuid.UUID | None = None) -> Result:
        """Deliver `message` through `channel`; never raises for a delivery failure."""
        if channel == "webhook":
            if contact_method_id is None:
                return Result(Outcome.permanent, "a webhook needs its contact method (for the signing secret)")

            if self._server_secret is None:  # not per send: reading the key file cost a stat and a read each
                self._server_secret = self.settings.resolved_secret_key()
            secret = webhook_secret(self._server_secret, contact_method_id)
            return WebhookProvider(self.client(), secret, clock=self.clock).send(message)
        with self._lock:
            if channel not in self._cache:
                self._cache[channel] = self._make(channel)
            provider = self._cache[channel]
        if isinstance(provider, Result):
            return provider
        try:
            return provider.send(message)
        except Exception as exc:  # a provider bug must not take the engine down; retry it
            # Only the type: a library's exception text can quote what the far end answered.
            log.exception("%s provider raised", channel)
            return Result(Outcome.retryable, f"{channel} provider error: {type(exc).__name__}")

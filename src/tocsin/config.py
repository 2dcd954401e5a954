"""Settings, read once from `TOCSIN_*` environment variables (CLI flags override them).

The secret key is generated on first start and kept in the data directory when
`TOCSIN_SECRET_KEY` is unset, so restarts keep signed links and sessions valid. The audit key
(`TOCSIN_AUDIT_KEY`, else `data_dir/audit_key`) is the same kind of secret, kept apart so that
rotating the server key never breaks the audit chain. The Web Push (VAPID) key
(`TOCSIN_VAPID_PRIVATE_KEY`, else `data_dir/vapid_private_key`) is generated the same way: browsers
tie each push subscription to its public half, so it must outlive restarts too. No secret has a
default in code.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import argon2
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tocsin.severities import parse_severity

_CADENCE_PART = re.compile(r"^SEV[1-4]=[1-9][0-9]{0,4}(m|h|d|bd)$", re.IGNORECASE)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOCSIN_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Where the SQLite file and generated secret live")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default sqlite file in data_dir")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    secret_key: str | None = Field(default=None, description="Signs links, sessions and webhooks; default: "
                                                             "generated into data_dir/secret_key")
    audit_key: str | None = Field(default=None, description="Keys the audit chain (HMAC); default: generated into "
                                                            "data_dir/audit_key. Keep it outside the database")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest accepted request body")
    max_ingest_bytes: int = Field(default=8_388_608, ge=1024,
                                  description="Largest accepted webhook body (an Alertmanager group can be large)")
    outbound_allow: str = Field(default="", description="CIDRs (comma-separated) that webhooks, Slack and Apprise "
                                                        "contact methods, status-page webhooks, tracker sync and "
                                                        "checks may reach although the SSRF guard refuses them "
                                                        "(loopback, private, CGNAT, ULA, link-local, metadata)")
    check_allow: str = Field(default="", description="CIDRs (comma-separated) that synthetic checks alone may reach "
                                                     "although the SSRF guard refuses them (internal services)")
    trusted_proxies: str = Field(default="", description="Comma-separated addresses or CIDRs of reverse proxies "
                                                         "whose X-Forwarded-For names the client (login throttling, "
                                                         "rate limits); default: none, the socket peer is the client")
    workers: int = Field(default=1, ge=1, le=64,
                         description="Server processes; more than one uses more cores (the engine runs once)")
    engine: bool = Field(default=True, description="Run the engine (checks, heartbeats, unsuppression) in serve")
    ingest_apply: bool = Field(default=True, description="Apply the ingest journal in this server process right "
                                                          "behind its answers; off: the process only journals and "
                                                          "an engine (`tocsin engine`, or serve's own) applies")
    engine_interval: float = Field(default=1.0, gt=0, le=60, description="Seconds between engine ticks")
    smtp_url: str | None = Field(default=None, description="SMTP server for email notifications, e.g. "
                                                            "smtp://user:pass@mail:587?starttls=true")
    smtp_from: str = Field(default="tocsin@localhost", description="From address of notification emails")
    mail_listen: str | None = Field(default=None, description="host:port for the inbound SMTP listener (email "
                                    "integrations); `tocsin serve` starts it when set, e.g. 0.0.0.0:2525")
    mail_domain: str | None = Field(default=None, description="Domain of email integration addresses "
                                    "(<key>@DOMAIN); mail to any other domain is refused")
    mail_max_bytes: int = Field(default=10_485_760, ge=1024, le=104_857_600,
                                description="Largest inbound message accepted (SMTP SIZE; larger gets 552)")
    public_url: str | None = Field(default=None, description="Address people reach tocsin at, for links in "
                                                             "notifications; default http://HOST:PORT")
    twilio_account_sid: str | None = Field(default=None, description="Twilio account SID for SMS and voice")
    twilio_auth_token: str | None = Field(default=None, description="Twilio auth token (also checks inbound replies)")
    twilio_from: str | None = Field(default=None, description="The number SMS and calls come from (E.164)")
    twilio_base_url: str = Field(default="https://api.twilio.com", description="A Twilio-compatible API")
    slack_bot_token: str | None = Field(default=None, description="Slack bot token (xoxb-...) for chat.postMessage")
    slack_base_url: str = Field(default="https://slack.com/api/", description="The Slack Web API")
    # chat-ops (issue 18): the Slack app, Mattermost, Microsoft Teams
    slack_signing_secret: str | None = Field(default=None, description="The Slack app's signing secret: turns on "
                                             "the slash command, interactivity, events and incident channels "
                                             "(with TOCSIN_SLACK_BOT_TOKEN)")
    slack_command: str = Field(default="/incident", pattern=r"^/[a-z0-9_-]{1,31}$",
                               description="The Slack (and Mattermost) slash command, as in the app manifest")
    slack_workspace_url: str | None = Field(default=None, pattern=r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$",
                                            description="The Slack workspace (https://acme.slack.com): the incident "
                                                        "room links its channel there")
    chat_channel_pattern: str = Field(default="inc-{number}-{slug}", max_length=80,
                                      description="Incident channel names: {number}, {slug} (from the title; "
                                                  "left out for restricted incidents), {severity}, {date}")
    chat_channel_severities: str = Field(default="SEV1,SEV2,SEV3,SEV4",
                                         description="Severities whose incidents get a chat channel (empty: none)")
    chat_capture_emoji: str = Field(default="memo", pattern=r"^[a-z0-9_+-]{1,64}$",
                                    description="The reaction that copies a chat message to the incident timeline")
    slo_prometheus_url: str | None = Field(default=None, description="Prometheus server (http://prometheus:9090) "
                                           "that SLOs with source `prometheus` query (/api/v1/query)")
    mattermost_url: str | None = Field(default=None, description="Mattermost server (https://mm.example.com): "
                                       "turns on Mattermost incident channels (with the bot token and team id)")
    mattermost_bot_token: str | None = Field(default=None, description="Mattermost bot access token")
    mattermost_team_id: str | None = Field(default=None, description="Mattermost team that incident channels go in")
    mattermost_command_token: str | None = Field(default=None, description="The token Mattermost sends with the "
                                                 "slash command (checks that a command came from Mattermost)")
    mattermost_email_linking: bool = Field(default=False, description="Link a Mattermost user to the tocsin user "
                                           "with the same email (else only by the one-time link). Turn on only "
                                           "if Mattermost verifies every email (RequireEmailVerification, or "
                                           "SSO/LDAP accounts): a Mattermost user may otherwise set any address")
    mattermost_outgoing_token: str | None = Field(default=None, description="The token Mattermost sends with the "
                                                  "outgoing webhook (#timeline and #incident in a channel)")
    teams_webhook_url: str | None = Field(default=None, description="Microsoft Teams Workflows webhook URL that "
                                          "incident updates are posted to (a secret: its sig parameter is the key)")
    vapid_private_key: str | None = Field(default=None, description="Web Push (VAPID) private key: a P-256 key as "
                                                                    "base64url (the raw 32 bytes) or PEM; default: "
                                                                    "generated into data_dir/vapid_private_key")
    vapid_subject: str | None = Field(default=None, description="Web Push contact (mailto: or https:) push services "
                                                                "may write to about tocsin's pushes; default: "
                                                                "mailto:TOCSIN_SMTP_FROM unless that is @localhost")
    # learning: postmortems, action items, reports, /metrics
    postmortem_required_severities: str = Field(
        default="SEV1,SEV2", description="Severities whose incidents close only with a published postmortem "
                                         "or a waiver reason; empty: none")
    # security incidents (issue 17): the legal gate on communications, outside responders
    legal_gate_severities: str = Field(
        default="SEV1,SEV2,SEV3,SEV4", description="Severities of security incidents whose status page updates "
                                                   "and public postmortems wait for the Legal role holder's "
                                                   "approval (empty: none; operational incidents never wait)")
    update_cadence: str = Field(default="SEV1=30m,SEV2=60m,SEV3=4h,SEV4=1d", max_length=200,
                                description="How often an open incident is updated, per severity (m, h, d, bd = "
                                            "business days): the room's next-update clock, the chat channel's "
                                            "reminder and the IC's and Comms Lead's update reminders")
    guest_max_days: int = Field(default=30, ge=1, le=365,
                                description="Longest access an outside (guest) responder may be given, in days")
    # roles (issue 19): the schedule whose on-call the room's "Page an IC" pages
    ic_schedule: str | None = Field(default=None, description="Slug of the on-call schedule paged for an Incident "
                                                              "Commander from the room (empty: no such button)")
    action_reminder_days_before: int = Field(default=2, ge=0, le=60,
                                             description="Days before an action item is due to remind its owner")
    action_overdue_every_days: int = Field(default=7, ge=1, le=90,
                                           description="Days between reminders about an overdue action item")
    regimes_file: Path | None = Field(default=None, description="Your notification regimes (YAML, the shape of "
                                      "the shipped obligations/regimes.yaml): added to and overriding the shipped ones")
    holidays_file: Path | None = Field(default=None, description="Holidays for business-day deadlines (YAML: "
                                       "calendar name -> list of dates)")
    obligation_reminder_leads: str = Field(default="24h,4h,1h", max_length=200,
                                           description="When the Legal and Privacy roles are reminded of a "
                                           "regulatory deadline, before it is due (comma-separated, e.g. 24h,4h,1h)")
    action_sync_url: str | None = Field(default=None, description="Webhook that receives action item changes "
                                                                  "(for Jira, GitHub Issues...)")
    responder_hourly_rate: float = Field(default=100.0, ge=0, description="Cost of one responder hour, for "
                                                                          "incident cost in reports")
    cost_currency: str = Field(default="", max_length=8, pattern=r"^[A-Za-z$€£¥₹ ]*$",
                               description="Currency shown after costs in reports (EUR, USD, €...); empty: none")
    # security incidents (containment/): warn when a host is investigated before it was preserved
    forensics_nudge: bool = Field(default=True, description="Forensics first: warn on the timeline and in the room "
                                                            "when a checklist step or note investigates a host or "
                                                            "system before its preserve step is done (on|off)")
    # guardrails (issue 19, docs/guardrails.md): the classic incident mistakes, caught live by the engine
    guardrail_off: str = Field(default="", max_length=400,
                               description="Guardrails turned off (comma-separated rule keys, e.g. sprawl,"
                                           "quiet_timeline; docs/guardrails.md lists them)")
    guardrail_no_commander_minutes: int = Field(default=5, ge=1, le=1440,
                                                description="Minutes an active incident may go without an "
                                                            "Incident Commander")
    guardrail_containment_minutes: int = Field(default=30, ge=1, le=1440,
                                               description="Minutes a SEV1/SEV2 may go unmitigated (no mitigated "
                                                           "status, no done containment step) while notes pile up")
    guardrail_containment_notes: int = Field(default=5, ge=0, le=1000,
                                             description="Notes that count as piling up for the containment "
                                                         "guardrail")
    guardrail_severity_minutes: int = Field(default=15, ge=1, le=1440,
                                            description="Minutes the severity may differ from the one the impact "
                                                        "suggests")
    guardrail_responder_limit: int = Field(default=8, ge=1, le=1000,
                                           description="Active responders in one incident before it counts as "
                                                       "war-room sprawl")
    guardrail_scribe_minutes: int = Field(default=10, ge=1, le=1440,
                                          description="Minutes a SEV1/SEV2 may go without a scribe")
    guardrail_quiet_minutes: int = Field(default=30, ge=1, le=1440,
                                         description="Minutes an active incident's timeline may go without an "
                                                     "entry by a person")
    guardrail_postmortem_days: int = Field(default=5, ge=1, le=365,
                                           description="Days after resolution by which a required postmortem "
                                                       "should be published")
    guardrail_notify_severities: str = Field(default="SEV1,SEV2",
                                             description="Severities whose Incident Commander is told of a trip "
                                                         "through their notification rules (empty: nobody)")
    # approved actions (issue 19): the operator's allow-list of commands, and the webhooks' signing secret
    automation_commands: Path | None = Field(default=None, description="YAML file mapping a command name to its "
                                             "argv (placeholders {param} as whole items): the only commands "
                                             "approved actions may run; unset: no command actions")
    automation_signing_secret: str | None = Field(default=None, description="Signs approved actions' webhooks "
                                                  "(HMAC-SHA256, X-Tocsin-Signature); unset: webhook actions refuse "
                                                  "to run")
    metrics_enabled: bool = Field(default=True, description="Serve Prometheus metrics at /metrics")
    metrics_public: bool = Field(default=False, description="Serve /metrics without an API token")
    # evidence locker (issue 17): uploaded files, content-addressed and write-once
    evidence_dir: Path | None = Field(default=None, description="Where uploaded evidence files are stored (by "
                                                                "SHA-256, read-only); default: data_dir/evidence")
    evidence_max_bytes: int = Field(default=0, ge=0, description="Largest evidence upload in bytes; 0: no limit "
                                                                 "(uploads are streamed to disk, never held in memory)")
    evidence_s3_bucket: str | None = Field(default=None, description="Store evidence files in this S3-compatible "
                                                                     "bucket instead of the directory (credentials: "
                                                                     "boto3's usual AWS_* variables or role)")
    evidence_s3_prefix: str = Field(default="", max_length=200, description="Key prefix inside the bucket")
    evidence_s3_endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (MinIO, Ceph...); "
                                                                           "default: AWS")
    evidence_s3_region: str | None = Field(default=None, description="The bucket's region")
    # console (web UI) sessions
    session_idle_minutes: int = Field(default=720, ge=1, le=525_600,
                                      description="Minutes without a request after which a console session ends")
    session_max_hours: int = Field(default=168, ge=1, le=8_760,
                                   description="Hours after login after which a console session ends regardless")
    statuspage_publish_dir: Path | None = Field(
        default=None, description="Directory the public status pages are written to as static files after every "
                                  "change, for hosting them apart from tocsin")
    # retention (engine job `retention`): days a finished row is kept; 0 keeps it forever. What an open
    # alert or incident still needs, and unsent outbox rows, are never deleted (docs/operations.md).
    retention_alert_days: int = Field(default=90, ge=0, le=36_500,
                                      description="Days the events and decisions of a resolved alert are kept "
                                                  "after it resolved (not while its incident is open)")
    retention_check_result_days: int = Field(default=30, ge=0, le=36_500,
                                             description="Days synthetic check results are kept")
    retention_notification_days: int = Field(default=90, ge=0, le=36_500,
                                             description="Days sent, failed or cancelled notifications are kept "
                                                         "(not those of an open alert or incident)")
    retention_delivery_days: int = Field(default=90, ge=0, le=36_500,
                                         description="Days sent or failed status page subscriber deliveries are kept")
    retention_batch: int = Field(default=1000, ge=1, le=100_000,
                                 description="Rows deleted per transaction (a few transactions per engine tick)")
    # argon2id cost of new password hashes (existing hashes verify with the parameters they carry);
    # the defaults are argon2-cffi's (RFC 9106 low-memory profile). Lower them only for tests.
    password_time_cost: int = Field(default=argon2.DEFAULT_TIME_COST, ge=1,
                                    description="argon2 passes over memory per password hash")
    password_memory_kib: int = Field(default=argon2.DEFAULT_MEMORY_COST, ge=8,
                                     description="argon2 memory per password hash, in KiB")
    password_parallelism: int = Field(default=argon2.DEFAULT_PARALLELISM, ge=1,
                                      description="argon2 lanes per password hash")
    # single sign-on (sso/, docs/sso.md): OIDC login for the console, SCIM provisioning
    sso_issuer: str | None = Field(default=None, description="OIDC issuer URL (its /.well-known/openid-configuration "
                                                             "is read); set with the client id to offer SSO login")
    sso_client_id: str | None = Field(default=None, description="OIDC client id registered at the provider")
    sso_client_secret: str | None = Field(default=None, description="OIDC client secret; or a 0600 file named by "
                                                                    "TOCSIN_SSO_CLIENT_SECRET_FILE")
    sso_client_secret_file: Path | None = Field(default=None, description="File holding the OIDC client secret")
    sso_scopes: str = Field(default="openid email profile", description="Scopes asked for (openid is added)")
    sso_email_claim: str = Field(default="email", description="ID token claim holding the user's email")
    sso_groups_claim: str = Field(default="groups", description="ID token claim holding the user's groups")
    sso_role_map: str = Field(default="", description="IdP group -> org role, e.g. 'ops-admins=admin,"
                                                      "oncall=responder'; the highest matching role wins")
    sso_default_role: str = Field(default="viewer", description="Org role of a user in none of the mapped groups; "
                                                                "empty: such users may not log in")
    sso_team_map: str = Field(default="", description="IdP group -> tocsin team slug, e.g. 'secops=security'; "
                                                      "membership of the named teams follows the groups at login")
    sso_email_domains: str = Field(default="", description="Email domains (comma-separated) that may sign in by "
                                                           "SSO; empty: any the provider vouches for")
    sso_jit: bool = Field(default=False, description="Create a user at first SSO login; off: only existing users "
                                                     "(matched by email) may log in")
    sso_only: bool = Field(default=False, description="Turn email + password login off once SSO is configured "
                                                    "(the CLI still works for an operator locked out)")
    sso_button_label: str = Field(default="Sign in with SSO", max_length=80, description="The login page's SSO button")
    log_level: str = "info"

    @field_validator("outbound_allow", "check_allow")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        # Refused at start rather than at the first send: a typo must not look like a blocked host.
        parts = [part.strip() for part in value.split(",") if part.strip()]
        for part in parts:
            try:
                ipaddress.ip_network(part)
            except ValueError as exc:
                raise ValueError(f"bad CIDR {part!r} ({exc})") from None
        return ",".join(parts)

    @field_validator("obligation_reminder_leads")
    @classmethod
    def _leads(cls, value: str) -> str:
        parts = [part.strip().lower() for part in value.split(",") if part.strip()]
        for part in parts:
            if not re.fullmatch(r"[1-9][0-9]{0,4}[mhd]", part):
                raise ValueError(f"reminder lead {part!r}: use minutes, hours or days such as 30m, 4h, 2d")
            if int(part[:-1]) * {"m": 1, "h": 60, "d": 1440}[part[-1]] > 60 * 24 * 60:
                raise ValueError(f"reminder lead {part!r}: at most 60 days")
        return ",".join(parts)

    @field_validator("guardrail_off")
    @classmethod
    def _guardrails_off(cls, value: str) -> str:
        # The keys live with the rules (guardrails/rules.py, above this layer): /configure/guardrails
        # names any key here that is no rule.
        parts = [part.strip().lower() for part in value.split(",") if part.strip()]
        for part in parts:
            if not re.fullmatch(r"[a-z_]{1,40}", part):
                raise ValueError(f"guardrail {part!r}: a rule key such as no_scribe or sprawl")
        return ",".join(parts)

    @field_validator("sso_default_role")
    @classmethod
    def _sso_role(cls, value: str) -> str:
        value = value.strip().lower()
        if value and value not in ("admin", "responder", "viewer"):
            raise ValueError("must be admin, responder, viewer or empty")
        return value

    @field_validator("postmortem_required_severities", "legal_gate_severities", "chat_channel_severities",
                     "guardrail_notify_severities")
    @classmethod
    def _severities(cls, value: str) -> str:
        return ",".join(parse_severity(part).value for part in value.split(",") if part.strip())

    @field_validator("update_cadence")
    @classmethod
    def _cadence(cls, value: str) -> str:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not parts or not all(_CADENCE_PART.match(p) for p in parts):
            raise ValueError("write it as SEV1=30m,SEV2=60m,SEV3=4h,SEV4=1d (units m, h, d, bd = business days)")
        return ",".join(parts)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)  # ValueError: pydantic reports the setting
        return value

    def postmortem_severities(self) -> frozenset[str]:
        """The severities (SEV1..SEV4) whose incidents need a published postmortem to close."""
        return frozenset(s for s in self.postmortem_required_severities.split(",") if s)

    def chat_severities(self) -> frozenset[str]:
        return frozenset(part for part in self.chat_channel_severities.split(",") if part)

    def slack_app_enabled(self) -> bool:
        """Whether the Slack app is configured: its signing secret (inbound) and bot token (outbound)."""
        return bool(self.slack_signing_secret and self.slack_bot_token)

    def mattermost_enabled(self) -> bool:
        return bool(self.mattermost_url and self.mattermost_bot_token and self.mattermost_team_id)

    def legal_gate(self) -> frozenset[str]:
        """The severities (SEV1..SEV4) of security incidents whose outside communications wait for Legal."""
        return frozenset(s for s in self.legal_gate_severities.split(",") if s)

    def password_hashing(self) -> dict[str, int]:
        """The keyword arguments of `users.service.configure_password_hashing`."""
        return {"time_cost": self.password_time_cost, "memory_kib": self.password_memory_kib,
                "parallelism": self.password_parallelism}

    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tocsin.db').resolve()}"

    def resolved_evidence_dir(self) -> Path:
        return self.evidence_dir or self.data_dir / "evidence"

    def resolved_secret_key(self) -> str:
        """Return the configured secret, or read/create `data_dir/secret_key` (mode 0600)."""
        return self.secret_key or kept_secret(self.data_dir / "secret_key")

    def resolved_audit_key(self) -> str:
        """Return the configured audit key, or read/create `data_dir/audit_key` (mode 0600)."""
        return self.audit_key or kept_secret(self.data_dir / "audit_key")

    def sso_enabled(self) -> bool:
        """Whether OIDC login is configured (issuer and client id; the secret is read when used)."""
        return bool(self.sso_issuer and self.sso_client_id)

    def resolved_sso_client_secret(self) -> str:
        """The OIDC client secret: TOCSIN_SSO_CLIENT_SECRET, else the file TOCSIN_SSO_CLIENT_SECRET_FILE (which
        must not be readable by group or others). ValueError when neither holds one; never a default."""
        if self.sso_client_secret:
            return self.sso_client_secret
        path = self.sso_client_secret_file
        if path is None:
            raise ValueError("set TOCSIN_SSO_CLIENT_SECRET or TOCSIN_SSO_CLIENT_SECRET_FILE")
        try:
            if path.stat().st_mode & 0o077:
                raise ValueError(f"{path} is readable by others: chmod 600 it")
            secret = path.read_text().strip()
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror}") from None
        if not secret:
            raise ValueError(f"{path} is empty")
        return secret

    def resolved_vapid_key(self) -> str:
        """Return the configured VAPID private key, or read/create `data_dir/vapid_private_key` (mode 0600)."""
        return self.vapid_private_key or kept_secret(self.data_dir / "vapid_private_key", make=new_p256_key)

    def resolved_vapid_subject(self) -> str | None:
        """The VAPID `sub` claim: TOCSIN_VAPID_SUBJECT, else mailto: the email sender; None when neither
        names a reachable address (push services such as Apple's refuse a @localhost subject)."""
        if self.vapid_subject:
            return self.vapid_subject.strip()
        domain = self.smtp_from.rpartition("@")[2].strip().lower()
        return None if not domain or domain == "localhost" or "." not in domain else f"mailto:{self.smtp_from.strip()}"


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def new_p256_key() -> str:
    """A random P-256 private key as base64url of its 32 raw bytes (the form `web-push` tools print)."""
    while True:  # a scalar must be in [1, n): rejecting the rare draw outside keeps the key uniform
        raw = secrets.token_bytes(32)
        if 0 < int.from_bytes(raw, "big") < P256_ORDER:
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def kept_secret(path: Path, *, make: Callable[[], str] | None = None) -> str:
    """Return the secret kept in `path`, generating it (random, or `make()`; mode 0600, directory 0700) on
    first use.

    A file found empty (a crash while it was written by hand, `touch`) raises ValueError rather than
    keying with the empty string. Several processes may start at once (a server and a CLI command): the file appears whole or not
    at all (written aside, then linked into place), and whoever loses the race reads the winner's.
    """
    if path.exists():
        kept = path.read_text().strip()
        if not kept:  # an empty key would sign links and sessions anyone can forge
            raise ValueError(f"{path} is empty: delete it to have a new secret generated, or write one into it")
        return kept
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write((make() if make is not None else secrets.token_urlsafe(48)) + "\n")
    try:
        os.link(aside, path)
    except FileExistsError:
        pass
    finally:
        aside.unlink()
    return path.read_text().strip()


def load_settings(**overrides: object) -> Settings:
    """Return settings from the environment with non-None `overrides` applied."""
    # Field values of any type: pydantic validates and coerces them (a str data_dir becomes a Path).
    values: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**values)

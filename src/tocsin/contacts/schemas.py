"""API shapes for contact methods, notification rules and a person's notifications."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from tocsin.schemas import Out, StrictIn

ContactType = Literal["email", "sms", "voice", "webhook", "slack", "mattermost", "teams", "apprise"]
Urgency = Literal["any", "high", "low"]


class ContactMethodIn(StrictIn):
    type: ContactType
    address: Annotated[str, Field(min_length=1, max_length=1000,
                                  description="Email address, E.164 number (+14155550100), webhook URL, Slack "
                                              "channel/user id or incoming-webhook URL, Mattermost channel id or "
                                              "@username / @user id, Teams Workflows webhook URL (https), or "
                                              "Apprise URL")]
    label: Annotated[str, Field(max_length=200)] = ""


class ContactMethodOut(Out):
    id: uuid.UUID
    user_id: uuid.UUID
    type: str
    address: str
    label: str
    verified: bool
    verified_at: datetime | None
    created_at: datetime
    webhook_secret: str | None = Field(default=None, description="Webhook methods: the HMAC-SHA256 signing secret "
                                                                 "(see docs/paging.md); shown to the owner and admins")


class VerifyIn(StrictIn):
    code: Annotated[str, Field(min_length=1, max_length=12, description="The code the method received")]


class VerifyOut(Out):
    verified: bool


class SendOut(Out):
    sent: bool = Field(description="Whether the provider accepted the message")
    detail: str = Field(description="The provider's answer, or why it was not sent")


class RuleIn(StrictIn):
    contact_method_id: uuid.UUID
    delay_minutes: Annotated[int, Field(ge=0, le=1440, description="Minutes after the page, if still unacknowledged")] = 0
    urgency: Urgency = "any"


class RuleOut(Out):
    id: uuid.UUID
    user_id: uuid.UUID
    contact_method_id: uuid.UUID
    channel: str
    delay_minutes: int
    urgency: str
    created_at: datetime


class DeliveryOut(Out):
    id: uuid.UUID
    user_id: uuid.UUID
    alert_id: uuid.UUID | None
    incident_id: uuid.UUID | None
    kind: str
    channel: str
    destination: str
    subject: str
    status: str = Field(description="queued, sending, sent, delivered, failed, cancelled or bundled")
    last_error: str | None = Field(description="Why it failed, was cancelled, or is waiting")
    attempts: int
    created_at: datetime
    send_after: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    bundle_id: uuid.UUID | None


class PushKeysIn(StrictIn):
    p256dh: Annotated[str, Field(min_length=80, max_length=100, description="The browser's P-256 public key, base64url")]
    auth: Annotated[str, Field(min_length=16, max_length=32, description="The subscription's 16-byte secret, base64url")]


class PushSubscriptionIn(StrictIn):
    """A browser's `PushSubscription.toJSON()` (extra members such as expirationTime are ignored), a name for
    the device, and whether to add the rule "page this device at once"."""

    model_config = ConfigDict(extra="ignore")

    endpoint: Annotated[str, Field(min_length=1, max_length=900, description="The push service URL")]
    keys: PushKeysIn
    label: Annotated[str, Field(max_length=200, description="A name for the device")] = ""
    page_at_once: bool = Field(default=False, description="Also add the notification rule 'page this device at "
                                                          "once' (and keep the account email paging if the person "
                                                          "had no rules)")


class PushKeyOut(Out):
    public_key: str = Field(description="The VAPID public key: PushManager.subscribe's applicationServerKey")
    ready: bool = Field(description="Whether pushes can be sent (TOCSIN_VAPID_SUBJECT or a real email sender set)")
    detail: str = Field(description="What is missing when not ready")

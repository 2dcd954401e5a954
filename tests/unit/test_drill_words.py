"""Drill mode's words (issue 19), pure cores: a drill's page starts with "[DRILL]" on every channel
(notify.compose; the Teams card keeps the mark ahead of the severity), and its chat channel's name
starts with "drill-" (chatops.compose)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tocsin.chatops import compose as chat
from tocsin.notify.compose import Row, compose
from tocsin.notify.push_subscription import payload
from tocsin.notify.teams import page_card

NOW = datetime(2026, 12, 6, 18, 5, tzinfo=UTC)


def _row(drill: bool = True, **kw) -> Row:
    base = dict(id=uuid.uuid4(), idempotency_key="k1", kind="page", subject="[critical] Checkout database down",
                body="Checkout database down", created_at=NOW, alert_id=uuid.uuid4(), reply_code="4821", drill=drill)
    return Row(**{**base, **kw})


def _send(rows: list[Row], channel: str):
    return compose(rows, channel, to="x", public_url="https://t", secret="server-key-0123456789", now=NOW)


@pytest.mark.parametrize("channel", ["email", "webhook", "slack", "mattermost", "teams", "push", "apprise"])
def test_a_drill_page_starts_with_drill_on_every_channel(channel):
    m = _send([_row()], channel)
    assert m.subject == "[DRILL] [critical] Checkout database down" and m.data["drill"] is True
    assert not _send([_row(drill=False)], channel).subject.startswith("[DRILL]")


def test_sms_voice_bundles_and_cards_keep_the_mark():
    sms = _send([_row()], "sms").body
    assert sms.startswith("[DRILL] tocsin: [critical] Checkout database down") and sms.endswith("'4821 close'.")
    assert _send([_row()], "voice").body.startswith("This is a drill. This is tocsin. [DRILL]")
    bundle = _send([_row(drill=False), _row(idempotency_key="k2")], "sms").body
    assert bundle.startswith("[DRILL] tocsin: 2 pages:")
    assert payload(_send([_row()], "push"))["title"].startswith("[DRILL]")
    card = str(page_card(_send([_row()], "teams")))
    assert "[DRILL] Checkout database down" in card and "critical" in card
    assert _send([_row(subject="[DRILL] already marked")], "email").subject == "[DRILL] already marked"


def test_a_drill_chat_channel_is_named_drill():
    def name(**kw) -> str:
        return chat.channel_name("inc-{number}-{slug}", number=7, severity="SEV2", date=NOW,
                                 **{"restricted": False, "title": "Database down", **kw})

    assert name(drill=True) == "drill-inc-7-database-down" and name() == "inc-7-database-down"
    assert name(drill=True, restricted=True) == "drill-inc-7"
    assert len(name(drill=True, title="x" * 200, limit=chat.MATTERMOST_NAME)) <= chat.MATTERMOST_NAME

"""What a page posted to Slack carries: action buttons (acting as the clicker) once the Slack app is
installed, link buttons otherwise, and for anything that is not one alert page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from tocsin.notify.slack import content
from tocsin.notify.types import Message

NID = str(uuid.uuid4())
LINKS = {"ack": "https://t.test/n/a", "resolve": "https://t.test/n/r", "view": "https://t.test/api/v1/alerts/1"}


def _message(**data: object) -> Message:
    return Message(idempotency_key="k", to="C0123", subject="checkout-5xx is failing", body="5xx > 2%",
                   data={"kind": "page", "links": LINKS, "notification_id": NID, **data},
                   created_at=datetime(2026, 1, 1, tzinfo=UTC))


def _buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    return list(actions["elements"])


def test_an_installed_app_gets_action_buttons_with_the_notification_id() -> None:
    _text, blocks = content(_message(), interactive=True)
    buttons = _buttons(blocks)
    assert [b["action_id"] for b in buttons] == ["tocsin_ack", "tocsin_resolve", "tocsin_escalate", "tocsin_view"]
    assert [b.get("value") for b in buttons[:3]] == [NID] * 3 and not any("url" in b for b in buttons[:3])
    assert buttons[3]["url"] == LINKS["view"]


def test_without_the_app_and_for_other_messages_the_buttons_stay_links() -> None:
    for message, interactive in ((_message(), False), (_message(kind="incident"), True),
                                 (_message(notification_id=None), True)):
        buttons = _buttons(content(message, interactive=interactive)[1])
        assert all("url" in b and "value" not in b for b in buttons)

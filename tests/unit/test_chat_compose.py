"""What chat-ops says (chatops/compose.py, a pure core): channel names that fit each platform and never
carry a restricted incident's title, the topic, which timeline entries are posted, bursts merged."""

from __future__ import annotations

from datetime import UTC, datetime

from tocsin.chatops import compose

AT = datetime(2026, 12, 6, 18, 5, tzinfo=UTC)


def _name(pattern: str = "inc-{number}-{slug}", title: str = "Checkout 5xx errors!", restricted: bool = False,
          limit: int = compose.SLACK_NAME, number: int = 42) -> str:
    return compose.channel_name(pattern, number=number, title=title, severity="SEV2", date=AT, restricted=restricted,
                                limit=limit)


def test_channel_names():
    assert _name() == "inc-42-checkout-5xx-errors"
    assert _name("{date}-{severity}-{number}") == "20261206-sev2-42"
    long = "Everything is on fire " * 10
    slack, mm = _name(title=long), _name(title=long, limit=compose.MATTERMOST_NAME)
    assert len(slack) <= 80 and len(mm) <= 64 and slack.startswith("inc-42-everything-is-on-fire")
    assert not slack.endswith("-") and "--" not in slack
    assert _name(restricted=True) == "inc-42", "a restricted incident's name never carries its title"
    assert _name("{slug}", restricted=True) == "inc-42"
    assert _name(title="Ünïcode 💥 ---") == "inc-42-n-code"
    assert compose.with_suffix("inc-42-" + "x" * 73, 3, 80).endswith("x-3") and \
        len(compose.with_suffix("inc-42-" + "x" * 73, 3, 80)) == 80


def test_topic():
    url = "https://tocsin.example/incidents/INC-42"
    assert compose.topic(severity="SEV2", status="investigating", commander="Alice", url=url) == \
        f"SEV2 · Investigating · IC: Alice · {url}"
    assert "IC: none yet" in compose.topic(severity="SEV1", status="triage", commander=None, url=url)
    long = compose.topic(severity="SEV1", status="triage", commander="A" * 300, url=url)
    assert len(long) <= compose.TOPIC_CHARS


def _line(kind: str, key_event: bool = False, data: dict | None = None, platform: str = "slack") -> str | None:
    return compose.entry_line(kind=kind, text="x  y", data=data or {}, key_event=key_event, platform=platform,
                              when=AT)


def test_which_entries_are_posted():
    assert _line("status_changed") == "🔄 18:05 x y"
    assert _line("note", key_event=True) == "📣 18:05 Update: x y"
    assert _line("note") is None, "a working note stays on the timeline"
    assert _line("note", key_event=True, data={"chat": {"platform": "slack"}}) is None, "it came from this channel"
    assert _line("note", key_event=True, data={"chat": {"platform": "slack"}}, platform="mattermost") is not None
    assert _line("note", key_event=True, data={"captured": {"platform": "slack", "ts": "1.2"}}) is None
    assert _line("field_changed") is None and _line("alert_attached") is None
    for kind in ("declared", "severity_changed", "role_assigned", "status_page", "paging", "responders"):
        assert _line(kind) is not None


def test_a_burst_is_one_message_within_the_limit():
    lines = [f"line {n} " + "z" * 50 for n in range(200)]
    text = compose.merge(lines, limit=1000)
    assert len(text) <= 1000
    assert text.splitlines()[0] == lines[0] and text.endswith("more on the timeline")
    shown = len(text.splitlines()) - 1
    assert text.splitlines()[-1] == f"… and {200 - shown} more on the timeline"
    assert compose.merge(["a", "b"]) == "a\nb"


def test_words_people_wrote_cannot_ping_a_channel_or_forge_a_link():
    line = compose.entry_line(kind="note", text="<!channel> see <https://evil.example|the runbook> & go",
                              data={}, key_event=True, platform="slack", when=AT)
    assert line == "📣 18:05 Update: &lt;!channel&gt; see &lt;https://evil.example|the runbook&gt; &amp; go"
    mm = compose.entry_line(kind="note", text="@channel [runbook](https://evil.example) ~town-square",
                            data={}, key_event=True, platform="mattermost", when=AT)
    assert mm is not None and "@channel" not in mm and "~town" not in mm and "\\[runbook\\]" in mm
    assert compose.summary(ref="INC-1", title="<b>", severity="SEV1", status="triage", commander="<@U1>",
                           url="https://x").splitlines()[:2] == ["🚨 INC-1 · SEV1: &lt;b&gt;",
                                                                  "Status: Triage · IC: &lt;@U1&gt;"]

"""What chat users type after /incident, read into commands (chatops/parse.py)."""

import pytest

from tocsin.chatops import parse as p
from tocsin.incidents.types import Role, Status
from tocsin.severities import Severity


@pytest.mark.parametrize("text, expected", [
    ("", p.Declare(None, "")),
    ("declare", p.Declare(None, "")),
    ("declare SEV2", p.Declare(Severity.SEV2, "")),
    ("declare SEV2 checkout errors", p.Declare(Severity.SEV2, "checkout errors")),
    ("declare p0 checkout down", p.Declare(Severity.SEV1, "checkout down")),
    ("declare checkout errors for EU", p.Declare(None, "checkout errors for EU")),
    ("help", p.Help()),
    ("HELP", p.Help()),
    ("status identified", p.SetStatus(Status.identified)),
    ("status monitor", p.SetStatus(Status.monitoring)),
    ("status Resolved", p.SetStatus(Status.resolved)),
    ("identified", p.SetStatus(Status.identified)),
    ("sev SEV1", p.SetSeverity(Severity.SEV1, "")),
    ("sev P1 revenue at risk", p.SetSeverity(Severity.SEV2, "revenue at risk")),
    ("severity sev3", p.SetSeverity(Severity.SEV3, "")),
    ("note rolled back deploy 4812", p.Note("rolled back deploy 4812")),
    ("update   EU traffic recovered  ", p.Update("EU traffic recovered")),
    ("resolve", p.Resolve()),
    ("link", p.Link()),
])
def test_commands(text, expected):
    assert p.parse(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("role ic <@U0123|alice>", p.AssignRole(Role.incident_commander, p.Person("chat_id", "U0123"))),
    ("role scribe <@W0456>", p.AssignRole(Role.scribe, p.Person("chat_id", "W0456"))),
    ("role comms_lead me", p.AssignRole(Role.comms_lead, p.Person("me"))),
    ("role forensics-lead bob@example.test", p.AssignRole(Role.forensics_lead, p.Person("email", "bob@example.test"))),
    ("role sme <mailto:Bob@Example.test|Bob@Example.test>", p.AssignRole(Role.sme, p.Person("email", "bob@example.test"))),
])
def test_slack_roles(text, expected):
    assert p.parse(text, slack=True) == expected


def test_mattermost_mentions_are_usernames():
    assert p.parse("role incident_commander @Alice.B") == p.AssignRole(
        Role.incident_commander, p.Person("username", "alice.b"))
    assert p.parse("page @carol") == p.Page(p.PageTarget(person=p.Person("username", "carol")))


@pytest.mark.parametrize("text, target", [
    ("page <@U0999|carol>", p.PageTarget(person=p.Person("chat_id", "U0999"))),
    ("page carol@example.test", p.PageTarget(person=p.Person("email", "carol@example.test"))),
    ("page payments", p.PageTarget(name="payments")),
    ("page Primary on-call", p.PageTarget(name="Primary on-call")),
])
def test_page_targets(text, target):
    assert p.parse(text, slack=True) == p.Page(target)


def test_slack_text_reads_as_written():
    assert p.parse("note asked <@U1|ann> in <#C9|ops> about &lt;html&gt; &amp; <https://x.test/a|x.test>",
                   slack=True) == p.Note("asked @ann in #ops about <html> & https://x.test/a")
    assert p.parse("declare SEV2 5xx &gt; 10% on <!here>", slack=True) == p.Declare(Severity.SEV2, "5xx > 10% on @here")


@pytest.mark.parametrize("text, words", [
    ("status", "Usage: `/incident status <"),
    ("status sideways", "unknown status 'sideways'"),
    ("status identified now", "Usage: `/incident status"),
    ("sev", "Usage: `/incident sev"),
    ("sev SEV9", "unknown severity 'SEV9'"),
    ("role", "Usage: `/incident role"),
    ("role ic", "Usage: `/incident role"),
    ("role pilot me", "unknown role 'pilot'"),
    ("role ic someone", "'someone' names nobody"),
    ("note", "Usage: `/incident note <text>"),
    ("note    ", "Usage: `/incident note"),
    ("update", "Usage: `/incident update <text>"),
    ("page", "Usage: `/incident page"),
    ("resolve now please", "Usage: `/incident resolve"),
    ("frobnicate", "unknown command 'frobnicate'"),
    ("note " + "x" * 4001, "at most 4000"),
    ("declare SEV2 " + "t" * 301, "at most 300"),
])
def test_usage_errors(text, words):
    with pytest.raises(p.BadCommand) as err:
        p.parse(text, slack=True)
    assert words in str(err.value)


def test_help_lists_every_command_with_the_configured_name():
    text = p.help_text("/inc")
    for name in ("declare", "status", "sev", "role", "note", "update", "page", "resolve", "link", "help"):
        assert f"`/inc {name}" in text
    assert "incident_commander" in text and "investigating" in text

"""What chat users type after the slash command (`/incident sev SEV1 checkout is down`), as a typed
command: pure, so every platform (Slack, Mattermost) parses the same words the same way.

`parse(text, slack=...)` returns one of the command dataclasses below or raises `BadCommand` with
the usage line of the command that was meant. Slack escapes `&`, `<` and `>` and sends mentions as
`<@U123|name>` (with the command's "escape" option on) or `<@U123>`; Mattermost sends `@username`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tocsin.incidents.types import Role, Status
from tocsin.severities import Severity, parse_severity


class BadCommand(ValueError):
    """The text is not a command: the message says what was wrong and how to write it."""


@dataclass(frozen=True)
class Person:
    """Who a command names: `me`, a chat user id (a Slack mention), a chat username (a Mattermost
    `@name`) or an email address."""

    kind: str  # me | chat_id | username | email
    value: str = ""


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Declare:
    severity: Severity | None
    title: str  # empty: ask for it (Slack opens the declare form)


@dataclass(frozen=True)
class SetStatus:
    status: Status


@dataclass(frozen=True)
class SetSeverity:
    severity: Severity
    reason: str


@dataclass(frozen=True)
class AssignRole:
    role: Role
    person: Person


@dataclass(frozen=True)
class Note:
    text: str


@dataclass(frozen=True)
class Update:
    """An incident update: a key-event note (it resets the update-cadence clock)."""

    text: str


@dataclass(frozen=True)
class PageTarget:
    """A person (`person` set), or a team slug / schedule name (`name` set) to page."""

    person: Person | None = None
    name: str = ""


@dataclass(frozen=True)
class Page:
    target: PageTarget


@dataclass(frozen=True)
class Resolve:
    pass


@dataclass(frozen=True)
class Link:
    pass


Command = Help | Declare | SetStatus | SetSeverity | AssignRole | Note | Update | Page | Resolve | Link

USAGE: dict[str, str] = {
    "declare": "declare [SEV1..SEV4] <title>: declare an incident (SEV3 unless given)",
    "status": "status <" + "|".join(s.value for s in Status if s not in (Status.triage, Status.declined)) + ">",
    "sev": "sev <SEV1..SEV4|P0..P3> [reason]: change the severity",
    "role": "role <" + "|".join(r.value for r in Role) + "> <@person|email|me>",
    "note": "note <text>: add a note to the timeline",
    "update": "update <text>: post an incident update (a key event; it resets the update clock)",
    "page": "page <@person|email|team slug|schedule name>: page someone into the incident",
    "resolve": "resolve: mark the incident resolved",
    "link": "link: connect your chat account to your tocsin account",
    "help": "help: this list",
}
_CHANNEL_ONLY = ("status", "sev", "role", "note", "update", "page", "resolve")

_ROLE_ALIASES = {"ic": Role.incident_commander, "commander": Role.incident_commander,
                 "lead": Role.incident_commander, "comms": Role.comms_lead, "liaison": Role.customer_liaison,
                 "forensics": Role.forensics_lead, "privacy": Role.privacy_officer, "expert": Role.sme}
_SLACK_USER = re.compile(r"^<@([UW][A-Z0-9]{1,30})(?:\|[^>]*)?>$")
_SLACK_ANY = re.compile(r"<([@#!]?)([^<>|]*)(?:\|([^<>]*))?>")
_USERNAME = re.compile(r"^@([a-z0-9._-]{1,64})$", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
MAX_TEXT = 4000


def help_text(command: str = "/incident") -> str:
    lines = [f"`{command} {USAGE[name]}`" for name in ("declare", "link", "help")]
    lines += [f"`{command} {USAGE[name]}`" for name in _CHANNEL_ONLY]
    return ("Declare anywhere; the other commands work in an incident's channel.\n" + "\n".join(lines))


def usage(name: str, command: str = "/incident") -> str:
    return f"Usage: `{command} {USAGE[name]}`"


def plain(text: str) -> str:
    """Slack's escaped message text as a person wrote it: `<@U1|ann>` -> `@ann`, `<#C1|ops>` ->
    `#ops`, `<https://x|x>` -> `https://x`, `&lt;` -> `<`."""
    def one(m: re.Match[str]) -> str:
        sigil, target, label = m.group(1), m.group(2), m.group(3)
        if sigil == "@":
            return "@" + (label or target)
        if sigil == "#":
            return "#" + (label or target)
        if sigil == "!":
            return "@" + (label or target.split("^")[0])
        return target
    return _SLACK_ANY.sub(one, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def person(word: str, *, slack: bool) -> Person | None:
    """The person a word names, or None when it names nobody (a team slug, a schedule name)."""
    if word.lower() == "me":
        return Person("me")
    if slack and (m := _SLACK_USER.match(word)):
        return Person("chat_id", m.group(1))
    if m := _USERNAME.match(word):
        return Person("username", m.group(1).lower())
    email = word[7:] if word.lower().startswith("mailto:") else word
    if slack and (m := re.match(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$", word)):
        email = m.group(1)
    if _EMAIL.match(email):
        return Person("email", email.lower())
    return None


def _status(word: str) -> Status:
    key = word.lower().strip(".")
    matches = [s for s in Status if s.value == key]
    if not matches and key:
        matches = [s for s in Status if s.value.startswith(key)]
    if len(matches) != 1:
        raise BadCommand(f"unknown status {word!r}. {usage('status')}")
    return matches[0]


def _role(word: str) -> Role:
    key = word.lower().replace("-", "_")
    if key in _ROLE_ALIASES:
        return _ROLE_ALIASES[key]
    try:
        return Role(key)
    except ValueError:
        raise BadCommand(f"unknown role {word!r}. {usage('role')}") from None


def _text(name: str, rest: str, *, slack: bool) -> str:
    text = (plain(rest) if slack else rest).strip()
    if not text:
        raise BadCommand(usage(name))
    if len(text) > MAX_TEXT:
        raise BadCommand(f"that is {len(text)} characters; a {name} may have at most {MAX_TEXT}")
    return text


def parse(text: str, *, slack: bool = False) -> Command:
    """The command in `text` (what follows the slash command); raise BadCommand."""
    text = text.strip()
    head, _, rest = text.partition(" ")
    rest = rest.strip()
    name = head.lower()
    if not name:
        return Declare(None, "")
    if name in ("help", "?", "-h", "--help"):
        return Help()
    if name in ("declare", "new", "open"):
        first, _, after = rest.partition(" ")
        try:
            severity: Severity | None = parse_severity(first) if first else None
        except ValueError:
            severity, after = None, rest
        title = (plain(after) if slack else after).strip()
        if len(title) > 300:
            raise BadCommand("a title may have at most 300 characters")
        return Declare(severity, title)
    if name == "status":
        if not rest or " " in rest:
            raise BadCommand(usage("status"))
        return SetStatus(_status(rest))
    if name in ("sev", "severity"):
        first, _, reason = rest.partition(" ")
        if not first:
            raise BadCommand(usage("sev"))
        try:
            return SetSeverity(parse_severity(first), (plain(reason) if slack else reason).strip()[:2000])
        except ValueError:
            raise BadCommand(f"unknown severity {first!r}. {usage('sev')}") from None
    if name == "role":
        words = rest.split()
        if len(words) != 2:
            raise BadCommand(usage("role"))
        who = person(words[1], slack=slack)
        if who is None:
            raise BadCommand(f"{words[1]!r} names nobody: use @person, an email address or me. {usage('role')}")
        return AssignRole(_role(words[0]), who)
    if name == "note":
        return Note(_text("note", rest, slack=slack))
    if name == "update":
        return Update(_text("update", rest, slack=slack))
    if name == "page":
        if not rest:
            raise BadCommand(usage("page"))
        who = person(rest, slack=slack) if " " not in rest else None
        return Page(PageTarget(person=who) if who else PageTarget(name=plain(rest) if slack else rest))
    if name in ("resolve", "resolved"):
        if rest:
            raise BadCommand(usage("resolve"))
        return Resolve()
    if name == "link":
        return Link()
    if _status_word(name) and not rest:
        return SetStatus(Status(name))
    raise BadCommand(f"unknown command {head!r}. Try `help`.")


def _status_word(word: str) -> bool:
    return word in {s.value for s in Status}

"""The blameless language check: find sentences that blame people and suggest describing the system.

Pure: text (Markdown) and the names of the people on the incident in, findings out. The
check never blocks anything; it is shown in the editor and in review.

Two kinds of rule:
- phrases that blame whoever the subject is ("human error", "careless", "negligence",
  "X's fault");
- a person as the subject of a failure verb ("Bob forgot", "Alice failed to", "the
  engineer should have", "he didn't"). A person is a name of someone on the incident,
  a pronoun or role noun for one individual, or a capitalised word that looks like a
  first name (not a common sentence opener or infrastructure noun).

Deliberately not flagged (the table in tests/unit/test_blameless.py pins these down):
- systems as the subject: "the health check failed to detect", "the deploy failed",
  "Monitoring should have caught it";
- table rows: the generated timeline quotes the incident record as it was written;
- "we" as the subject: "we should have had an alert" speaks about the team's process,
  which is what a blameless review wants to talk about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_SENTENCE = 300


@dataclass(frozen=True)
class Finding:
    sentence: str
    phrase: str
    suggestion: str
    section: str | None = None


# Phrases that blame whatever their subject is.
_PHRASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:human|user|operator|pilot|operational) error\b", re.I),
     "Name the conditions that made the mistake easy (no guardrail, confusing tool, missing review) "
     "instead of calling it human error."),
    (re.compile(r"\bcareless(?:ly|ness)?\b", re.I),
     "Describe what the tooling or process allowed, not how careful someone was."),
    (re.compile(r"\bnegligen(?:t|tly|ce)\b", re.I),
     "Describe the missing safeguard rather than judging a person."),
    (re.compile(r"\b(?:sloppy|incompetent|incompetence|lazy|laziness|reckless(?:ly)?)\b", re.I),
     "Leave out judgements of people; describe what happened and what the system allowed."),
    (re.compile(r"\b(?:should|ought to) have known better\b", re.I),
     "Ask what information was missing at the time and how the system could surface it."),
    (re.compile(r"\b(?:his|her|their|[A-Z][a-z]+'s) (?:fault|mistake|screw-?up)\b"),
     "Describe the sequence of system conditions instead of assigning fault."),
    (re.compile(r"\b(?:to blame|is to blame|was to blame|blamed (?:on )?)\b", re.I),
     "Describe the conditions that contributed instead of who is to blame."),
]

# Verbs that make a person the subject of a failure.
_FAILURE = (
    r"(?:(?:accidentally|mistakenly|carelessly|wrongly)\s+)?"
    r"(?:forgot|neglected|ignored|overlooked|missed|broke|messed up|screwed up|fat[- ]fingered|"
    r"failed to|did not|didn't|should have|shouldn't have|should not have|could have|"
    r"was supposed to|made a mistake|caused|deleted|dropped)\b"
)
_FAILURE_SUGGESTION = ("Make the system the subject: describe what the process or tooling allowed or "
                       "did not catch (\"the deploy script did not check ...\") rather than what a person "
                       "did or did not do.")

# A pronoun or role noun standing for one person.
_PERSON_WORDS = (
    r"(?:he|she|someone|somebody|the (?:engineer|operator|developer|dev|on-?call(?: engineer)?|sre|dba|"
    r"admin(?:istrator)?|intern|new hire|responder|reviewer)|our (?:engineer|developer|intern|admin))"
)
_PERSON_FAILURE = re.compile(rf"\b{_PERSON_WORDS}\s+{_FAILURE}", re.I)

# A capitalised word, then a failure verb: "Bob forgot", "Alice failed to".
_CAPITALISED_FAILURE = re.compile(rf"\b([A-Z][a-z]{{1,19}})\s+{_FAILURE}")

# Capitalised words that start sentences or name systems, not people.
_NOT_NAMES = frozenset("""
The This That These Those It Its We Our Us They Their There Here Then When While After Before Once Since
Nobody Everyone Everybody Somebody Someone Nothing Something Everything Anyone Anybody No Yes All Both Each
Every Either Neither Also Because However Meanwhile Finally Later Earlier Initially Eventually Still Which
Monitoring Alerting Paging Logging Tracing Staging Production Traffic Deploy Deployment Rollout Rollback Release
Build Pipeline Migration Backup Replication Failover Cache Queue Database Service Server Cluster Node Network
Redis Postgres Postgresql Mysql Kafka Nginx Kubernetes Docker Terraform Ansible Jenkins Cron Linux Windows Vault
Consul Elasticsearch Prometheus Grafana Alertmanager Sentry Slack Tocsin Checkout Search Auth Billing Payments
Api Dns Cdn Cloudflare Aws Gcp Azure Github Gitlab Jira Helm Envoy Istio Celery Sidekiq Rabbitmq Memcached
Autoscaling Autoscaler Scheduler Loadbalancer Firewall Config Configuration Code Test Tests Review Nothing
""".split())

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(_*])")
_MARKUP = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+|\d+[.)]\s+|>\s*)+")


def _name_patterns(names: Iterable[str]) -> list[re.Pattern[str]]:
    """Full names and first names of the people on the incident, each followed by a failure verb."""
    words: set[str] = set()
    for name in names:
        name = (name or "").strip()
        if not name or "@" in name:
            continue
        words.add(name)
        first = name.split()[0]
        if len(first) >= 2:
            words.add(first)
    return [re.compile(rf"\b{re.escape(w)}\s+{_FAILURE}", re.I) for w in sorted(words, key=len, reverse=True)]


def _sentences(text: str) -> Iterable[tuple[str, str | None]]:
    """Yield (sentence, section) pairs: one Markdown line may hold several sentences; code
    blocks and table rows are skipped; `section` is the nearest `##` heading above."""
    section: str | None = None
    in_code = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("```") or line.startswith("~~~"):
            in_code = not in_code
            continue
        if in_code or not line:
            continue
        heading = re.match(r"^#{1,6}\s+(.*)$", line)
        if heading:
            section = heading.group(1).strip() or section
            continue
        if line.startswith("|"):
            continue  # table rows (the generated timeline) quote the record; they are not prose
        line = _MARKUP.sub("", line)
        for sentence in _SENTENCE_END.split(line):
            if sentence.strip():
                yield sentence.strip(), section


_LAST_CAPITALISED = re.compile(r"\b([A-Z][a-z]{1,19})\s+$")


def _name_start(sentence: str, start: int) -> int:
    """Extend a matched first word back over the capitalised words before it ("Bob Baker forgot")."""
    for _ in range(2):
        m = _LAST_CAPITALISED.search(sentence[:start])
        if m is None or m.group(1) in _NOT_NAMES:
            break
        start = m.start()
    return start


def check(text: str, names: Iterable[str] = ()) -> list[Finding]:
    """Return one finding per blaming phrase, in the order they appear (at most one per rule and sentence)."""
    name_rules = _name_patterns(names)
    findings: list[Finding] = []
    for sentence, section in _sentences(text or ""):
        shown = sentence if len(sentence) <= MAX_SENTENCE else sentence[:MAX_SENTENCE - 1] + "…"
        hits: list[tuple[int, str, str]] = []
        for pattern, suggestion in _PHRASES:
            if m := pattern.search(sentence):
                hits.append((m.start(), m.group(0), suggestion))
        person = None
        for pattern in [*name_rules, _PERSON_FAILURE]:
            if m := pattern.search(sentence):
                person = m
                break
        if person is not None:
            hits.append((person.start(), person.group(0), _FAILURE_SUGGESTION))
        else:
            for m in _CAPITALISED_FAILURE.finditer(sentence):
                if m.group(1) not in _NOT_NAMES:
                    start = _name_start(sentence, m.start())
                    hits.append((start, sentence[start:m.end()], _FAILURE_SUGGESTION))
                    break
        for _start, phrase, suggestion in sorted(hits, key=lambda h: h[0]):
            findings.append(Finding(sentence=shown, phrase=phrase, suggestion=suggestion, section=section))
    return findings

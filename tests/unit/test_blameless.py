"""The blameless language check on a table of blameful and blameless sentences."""

from __future__ import annotations

import pytest

from tocsin.postmortems.blameless import check

NAMES = ["Dana Whitfield", "Oscar Pratt"]  # people on the incident

# (sentence, the phrase that must be flagged)
BLAMEFUL = [
    ("Bob should have checked the config before deploying.", "Bob should have"),
    ("The outage was caused by human error.", "human error"),
    ("A careless change to the firewall rules took the API down.", "careless"),
    ("Alice failed to follow the runbook.", "Alice failed to"),
    ("Bob forgot to renew the certificate.", "Bob forgot"),
    ("Alice broke the build on Friday.", "Alice broke"),
    ("Carol didn't page the database team.", "Carol didn't"),
    ("Dana ignored the disk space warning.", "Dana ignored"),
    ("Whitfield did not restart the workers.", "Whitfield did not"),  # a surname of someone on the incident
    ("Oscar Pratt accidentally deleted the production bucket.", "Oscar Pratt accidentally deleted"),
    ("The engineer failed to notice the alert.", "The engineer failed to"),
    ("He should have known better than to deploy on a Friday.", "should have known better"),
    ("It was Bob's fault that the migration ran twice.", "Bob's fault"),
    ("This was plain operator error.", "operator error"),
    ("The on-call missed the page for twenty minutes.", "The on-call missed"),
    ("Negligence in reviewing the change led to the outage.", "Negligence"),
    ("Someone fat-fingered the DNS record.", "Someone fat-fingered"),
    ("Frank messed up the rollout order.", "Frank messed up"),
    ("Erin was supposed to watch the dashboards.", "Erin was supposed to"),
    ("Then Grace Hopper forgot to drain the node.", "Grace Hopper forgot"),  # a full name nobody passed in
]

BLAMELESS = [
    "The health check failed to detect the stuck workers.",
    "The deploy failed at 10:04 and was rolled back.",
    "We should have had an alert on queue depth.",
    "Monitoring should have caught the growing error rate.",
    "The runbook did not mention the second region.",
    "Redis failed to fail over because the sentinel quorum was two.",
    "Nothing in the pipeline checked the certificate expiry date.",
    "The configuration change removed the rate limit for all tenants.",
    "Dana rolled back the deploy at 10:12 and error rates recovered.",
    "Bob noticed the latency spike on the dashboard and paged the database team.",
    "The alert fired but was routed to a team that no longer owns the service.",
    "Our fault-tolerant design kept reads working during the failover.",
    "We ran a blameless review with everyone involved.",
    "The migration ran twice because the lock was not held across restarts.",
    "The tooling made it easy to apply the change to production instead of staging.",
    "Postgres dropped connections when max_connections was reached.",
    "Alerting did not page anyone because the route matched no team.",
    "Erin and Frank restored the backup within 40 minutes.",
    "There was no review step for firewall changes.",
]


@pytest.mark.parametrize("sentence,phrase", BLAMEFUL, ids=[s for s, _ in BLAMEFUL])
def test_blameful_sentences_are_flagged_with_a_suggestion(sentence, phrase):
    findings = check(sentence, names=NAMES)
    assert findings, f"not flagged: {sentence}"
    assert phrase.lower() in [f.phrase.lower() for f in findings], [f.phrase for f in findings]
    for f in findings:
        assert f.sentence == sentence
        assert len(f.suggestion) > 20


@pytest.mark.parametrize("sentence", BLAMELESS)
def test_blameless_sentences_are_not_flagged(sentence):
    assert check(sentence, names=NAMES) == []


def test_findings_name_their_section_and_skip_code_tables_and_other_sentences():
    body = "\n".join([
        "## Summary",
        "The cache expired all keys at once. Bob forgot to stagger the TTLs.",
        "",
        "## Timeline",
        "| Time (UTC) | Event |",
        "| --- | --- |",
        "| 2026-11-27 10:04 UTC | Carol didn't acknowledge the page |",
        "",
        "## Root causes",
        "- It was human error.",
        "```",
        "Alice broke_everything()  # code is not prose",
        "```",
    ])
    findings = check(body)
    assert [(f.section, f.phrase, f.sentence) for f in findings] == [
        ("Summary", "Bob forgot", "Bob forgot to stagger the TTLs."),
        ("Root causes", "human error", "It was human error."),
    ]


def test_names_of_people_on_the_incident_are_recognised_even_when_lowercase_rules_would_not():
    assert check("dana forgot to drain the node.") == []
    assert [f.phrase for f in check("dana forgot to drain the node.", names=["Dana Whitfield"])] == ["dana forgot"]


def test_empty_text_has_no_findings():
    assert check("") == [] and check("   \n\n") == []

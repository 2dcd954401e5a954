"""The recurrence matcher: which incidents and alerts look like a known problem, and the reasons given."""

from __future__ import annotations

import uuid

import pytest

from tocsin.problems.match import AlertSignal, Candidate, ProblemSpec, has_term, match, significant_words

CHECKOUT = uuid.UUID(int=1)
SEARCH = uuid.UUID(int=2)


def spec(**kw):
    kw.setdefault("title", "Checkout database connection pool exhausted")
    kw.setdefault("status", "known_error")
    kw.setdefault("service_id", CHECKOUT)
    kw.setdefault("service_name", "checkout")
    return ProblemSpec(**kw)


def alert(service=CHECKOUT, key="am:1:other", **labels):
    return AlertSignal(service_id=service, dedup_key=key, labels=labels)


def candidate(text="Something unrelated entirely", *alerts):
    return Candidate(text=text, alerts=tuple(alerts))


@pytest.mark.parametrize("problem, cand, reasons", [
    # same service and dedup key
    (spec(dedup_keys=("am:1:abc",)), candidate("Payments slow", alert(key="am:1:abc")),
     ["same service checkout and dedup key am:1:abc"]),
    # the key on another service is a different alert
    (spec(dedup_keys=("am:1:abc",)), candidate("Payments slow", alert(service=SEARCH, key="am:1:abc")), []),
    # one alert of several carries the key
    (spec(dedup_keys=("am:1:abc", "am:1:def")),
     candidate("Payments slow", alert(key="am:1:zzz"), alert(key="am:1:def")),
     ["same service checkout and dedup key am:1:def"]),
    # every label of the spec, equal values; extra labels on the alert do not matter
    (spec(labels={"alertname": "PoolExhausted", "env": "prod"}),
     candidate("Payments slow", alert(alertname="PoolExhausted", env="prod", pod="a-1")),
     ["same service checkout and labels alertname=PoolExhausted, env=prod"]),
    # one label differs
    (spec(labels={"alertname": "PoolExhausted", "env": "prod"}),
     candidate("Payments slow", alert(alertname="PoolExhausted", env="staging")), []),
    # one label missing
    (spec(labels={"alertname": "PoolExhausted", "env": "prod"}),
     candidate("Payments slow", alert(alertname="PoolExhausted")), []),
    # labels split across two alerts are not one alert carrying them all
    (spec(labels={"alertname": "PoolExhausted", "env": "prod"}),
     candidate("Payments slow", alert(alertname="PoolExhausted"), alert(env="prod")), []),
    # labels on the wrong service
    (spec(labels={"alertname": "PoolExhausted"}), candidate("x", alert(service=SEARCH, alertname="PoolExhausted")), []),
    # a problem without a service never matches by key
    (spec(service_id=None, service_name="", dedup_keys=("am:1:abc",)), candidate("x", alert(key="am:1:abc")), []),
    # a problem with neither keys nor labels does not match every alert of its service
    (spec(), candidate("Payments slow", alert()), []),
])
def test_service_and_signal_rule(problem, cand, reasons):
    assert match(problem, cand) == reasons


@pytest.mark.parametrize("terms, text, matches", [
    (("connection pool",), "Connection   POOL exhausted on checkout", True),
    (("connection pool", "checkout"), "connection pool exhausted on checkout", True),
    (("connection pool", "checkout"), "connection pool exhausted on search", False),  # all terms needed
    (("db",), "dba paged for slow query", False),  # whole words only
    (("db",), "db: replica lag", True),
    (("5xx",), "Spike of 5xx on /pay", True),
    (("pool",), "Whirlpool deploy failed", False),
])
def test_terms_rule(terms, text, matches):
    reasons = match(spec(terms=terms), candidate(text))
    assert bool(reasons) is matches
    if matches:
        assert reasons == ["text contains the terms " + ", ".join(f'"{t}"' for t in terms)]


@pytest.mark.parametrize("title, known, text, matches", [
    # same words, other order: similarity 1
    ("Checkout database connection pool exhausted", (), "Database connection pool exhausted on checkout", True),
    # 3 shared of 5 words: 0.6
    ("Checkout database pool exhausted", (), "Database pool exhausted in search", True),
    # only one shared significant word
    ("Checkout database pool exhausted", (), "Search database slow", False),
    # two shared, but many other words: 2 of 9 < 0.5
    ("Checkout database pool exhausted", (), "Database pool fine but payment gateway returns timeouts", False),
    # stop words and generic incident words do not count: "errors", "the", "high"
    ("High errors on the checkout", (), "High errors on the search", False),
    # matches a linked incident's title though not the problem's
    ("Pool exhaustion", ("Checkout requests hang at payment step",), "Checkout requests hang at payment", True),
])
def test_title_rule(title, known, text, matches):
    reasons = match(spec(title=title, known_titles=known), candidate(text))
    assert bool(reasons) is matches, reasons
    if matches:
        assert reasons[0].startswith("title shares ")
        assert ("linked incident" in reasons[0]) is bool(known)


def test_title_rule_is_off_when_the_problem_has_terms():
    problem = spec(terms=("kafka",))
    assert match(problem, candidate("Checkout database connection pool exhausted")) == []


@pytest.mark.parametrize("status, matches", [("open", True), ("known_error", True), ("resolved", False)])
def test_resolved_problems_never_match(status, matches):
    problem = spec(status=status, dedup_keys=("am:1:abc",), terms=("checkout",))
    assert bool(match(problem, candidate("checkout down", alert(key="am:1:abc")))) is matches


def test_every_rule_that_holds_gives_a_reason():
    problem = spec(dedup_keys=("am:1:abc",), labels={"alertname": "PoolExhausted"}, terms=("pool",))
    reasons = match(problem, candidate("Pool exhausted", alert(key="am:1:abc"),
                                       alert(key="am:1:def", alertname="PoolExhausted")))
    assert reasons == ["same service checkout and dedup key am:1:abc",
                       "same service checkout and labels alertname=PoolExhausted",
                       'text contains the terms "pool"']


def test_significant_words_and_terms_helpers():
    assert significant_words("The API is DOWN: 502 errors on Checkout-v2") == {"api", "checkout"}
    assert significant_words("Zahlungsdienst fällt aus") == {"zahlungsdienst", "fällt", "aus"}
    assert has_term("über-Fehler im Kassensystem", "Über") and not has_term("anything", "   ")

"""A runbook's steps are its Markdown's top-level ordered list items; actions are named by markers;
the rendered Markdown is safe. And which runbooks apply to an alert (service link or label matchers)."""

from __future__ import annotations

import uuid

from tocsin.routing.matchers import parse_matcher
from tocsin.runbooks.match import Candidate, applying, reason
from tocsin.runbooks.steps import render, render_inline, steps

DB_FAILOVER = """# DB failover

Read this first.

1. Check **replication** lag on [Grafana](https://grafana.example/d/db)
2. Promote the replica [action: promote-db]
   when the lag is under a second

   ```
   pg_ctl promote
   ```
   - sub-point, not a step
3. Tell #ops

## Afterwards

- a bullet, not a step

1. Verify the application reconnects
"""


def test_top_level_ordered_items_are_numbered_steps_in_document_order():
    found = steps(DB_FAILOVER)
    assert [(s.number, s.text) for s in found] == [
        (1, "Check **replication** lag on [Grafana](https://grafana.example/d/db)"),
        (2, "Promote the replica when the lag is under a second"),
        (3, "Tell #ops"),
        (4, "Verify the application reconnects"),
    ]
    assert found[1].actions == ("promote-db",)
    assert "pg_ctl promote" in found[1].detail and "sub-point" in found[1].detail
    assert found[0].actions == () and found[0].detail == ""


def test_no_ordered_list_means_no_steps():
    assert steps("# Notes\n\n- one\n- two\n\nJust text.") == []
    assert steps("") == []


def test_an_ordered_list_inside_a_bullet_is_not_a_step():
    assert steps("- outer\n  1. inner\n  2. inner") == []


def test_rendering_escapes_html_and_drops_unsafe_links():
    html = str(render("<script>alert(1)</script> [x](javascript:alert(1)) [ok](https://example.com)"))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert '<a href="https://example.com" rel="noopener noreferrer">ok</a>' in html
    assert "<img" not in str(render_inline('<img src=x onerror="alert(1)">'))
    assert str(render("# Title\n\n## Part")) == "<h2>Title</h2>\n<h3>Part</h3>\n"  # under the page's own <h1>


A, B, C = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
SVC, OTHER = uuid.uuid4(), uuid.uuid4()


def test_a_runbook_applies_by_service_link_or_by_all_matchers():
    by_service = Candidate(A, frozenset({SVC}), ())
    by_labels = Candidate(B, frozenset(), (parse_matcher('alertname=~"Postgres.*"'), parse_matcher("env!=staging")))
    unlinked = Candidate(C, frozenset(), ())
    labels = {"alertname": "PostgresReplicationLag", "env": "prod"}
    assert applying([by_service, by_labels, unlinked], SVC, labels) == [A, B]
    assert applying([by_service, by_labels, unlinked], OTHER, {**labels, "env": "staging"}) == []
    assert reason(by_labels, OTHER, labels) == 'the alert\'s labels match: alertname matches /Postgres.*/ and env is not "staging"'
    assert reason(by_service, SVC, {}) == "linked to the alert's service"
    assert reason(unlinked, SVC, labels) is None


def test_a_page_names_its_runbooks_a_line_each_but_not_by_sms_or_voice():
    from datetime import UTC, datetime

    from tocsin.notify.compose import Row, compose

    at = datetime(2026, 1, 1, tzinfo=UTC)
    row = Row(id=uuid.uuid4(), idempotency_key="k", kind="page", subject="Replication lag", body="db1 lags",
              created_at=at, alert_id=uuid.uuid4(), runbooks=(("DB failover", "/runbooks/db-failover"),))
    email = compose([row], "email", to="a@example.test", public_url="https://t.example", secret="s" * 32, now=at)
    assert "\nRunbook: DB failover https://t.example/runbooks/db-failover\n" in email.body
    for channel in ("sms", "voice"):
        short = compose([row], channel, to="+15550100", public_url="https://t.example", secret="s" * 32, now=at)
        assert "Runbook" not in short.body

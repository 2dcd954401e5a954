"""Real programs for interoperability tests: `tocsin serve` and Prometheus Alertmanager.

`tocsin` starts a real server on a free loopback port against the test's database (SQLite and
PostgreSQL, from the `db_url` fixture), with an admin token, a service and one integration of
each type the tests send to. `alertmanager` starts Debian's `prometheus-alertmanager` (installed
by `scripts/test-deps.sh`) with a route that notifies tocsin twice for every alert group: once
through its webhook receiver, once through its PagerDuty receiver pointed at `/v2/enqueue`.

The programs themselves (`TocsinProcess`, `make_stack`, `Alertmanager`) are the harness's
(tests/harness/processes.py), shared with the durability, CLI and browser tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.processes import Alertmanager, Stack, TocsinProcess, make_stack, tocsin_env

# --- tocsin ------------------------------------------------------------------------------------

@pytest.fixture
def tocsin(db_url: str, tmp_path: Path) -> Iterator[Stack]:
    """A running `tocsin serve` on the test database with `alertmanager` and `events_v2` integrations."""
    env = tocsin_env(tmp_path / "data", db_url)
    server = TocsinProcess(env, tmp_path / "tocsin.log")  # starts while the admin user is created
    try:
        yield make_stack(server, env, ("alertmanager", "events_v2"))
    finally:
        server.stop()


# --- Alertmanager ------------------------------------------------------------------------------

AM_CONFIG = """\
# Written by tests/interop/conftest.py. Every alert goes to both child routes (continue: true):
# tocsin's Alertmanager webhook endpoint, and tocsin's PagerDuty Events API v2 endpoint.
global:
  resolve_timeout: 5m
route:
  receiver: blackhole
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - receiver: tocsin-webhook
      continue: true
    - receiver: tocsin-pagerduty
      continue: true
receivers:
  - name: blackhole
  - name: tocsin-webhook
    webhook_configs:
      - url: "{tocsin}/integrations/alertmanager/{am_key}"
        send_resolved: true
  - name: tocsin-pagerduty
    pagerduty_configs:
      - routing_key: "{pd_key}"
        url: "{tocsin}/v2/enqueue"
        send_resolved: true
        # PagerDuty's defaults are a "[FIRING:1] ..." description and severity "error";
        # this is how operators carry the alert's own summary and severity through.
        description: '{{{{ .CommonAnnotations.summary }}}}'
        severity: '{{{{ .CommonLabels.severity }}}}'
        component: '{{{{ .CommonLabels.instance }}}}'
        group: '{{{{ .CommonLabels.alertname }}}}'
"""


@pytest.fixture
def alertmanager(tocsin: Stack, tmp_path: Path) -> Iterator[Alertmanager]:
    """Alertmanager notifying `tocsin` through both its webhook and its PagerDuty receivers."""
    config = AM_CONFIG.format(tocsin=tocsin.url, am_key=tocsin.keys["alertmanager"], pd_key=tocsin.keys["events_v2"])
    am = Alertmanager(tmp_path / "alertmanager", config)
    try:
        yield am.wait_ready()
    finally:
        am.stop()

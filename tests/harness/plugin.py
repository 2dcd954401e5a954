"""The harness's pytest fixtures, registered for the whole suite by tests/conftest.py
(`pytest_plugins`). Each starts what it names for one test and stops it afterwards:

- `smtp`: a real SMTP server (aiosmtpd) on loopback (tests/harness/smtp.py).
- `twilio`, `slack`, `mattermost`: the fake Twilio, Slack and Mattermost APIs (tests/harness/twilio.py,
  slack.py, mattermost.py).
- `receiver`: a webhook receiver (tests/harness/webhook.py).
- `serve`: `serve(env, *extra_args)` starts `tocsin serve` (call `.wait_ready()` before use);
  every server started is stopped at teardown, pass or fail (tests/harness/processes.py).
- `runbook`: the scenario runbook on the test's database, with all of the above wired in
  (tests/harness/scenario.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.harness.console import web_user_factory
from tests.harness.mattermost import FakeMattermost
from tests.harness.ports import free_port
from tests.harness.processes import TocsinProcess
from tests.harness.scenario import Runbook
from tests.harness.slack import FakeSlack
from tests.harness.smtp import SmtpFixture
from tests.harness.twilio import FakeTwilio
from tests.harness.webhook import Receiver


@pytest.fixture
def smtp() -> Iterator[SmtpFixture]:
    with SmtpFixture() as server:
        yield server


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def mattermost() -> Iterator[FakeMattermost]:
    with FakeMattermost() as fake:
        yield fake


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., TocsinProcess]]:
    """serve(env, *extra_args) -> TocsinProcess: start `tocsin serve` (call .wait_ready() before use)."""
    started: list[TocsinProcess] = []

    def start(env: dict[str, str], *extra: str) -> TocsinProcess:
        port = free_port()
        server = TocsinProcess(env, tmp_path / f"serve-{port}.log", port=port, extra=extra)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def runbook(db, clock, system, make_person, make_team, make_service, smtp, twilio, slack,  # noqa: ANN001
            receiver) -> Iterator[Runbook]:
    """The scenario runbook on the test's database (each backend), with every provider running."""
    rb = Runbook(db=db, clock=clock, system=system, make_person=make_person, make_team=make_team,
                 make_service=make_service, smtp=smtp, twilio=twilio, slack=slack, receiver=receiver)
    try:
        yield rb
    finally:
        rb.close()


@pytest.fixture
def make_web_user(db, clock, system, make_person):  # noqa: ANN001
    """make_web_user(role="responder", name=None, teams=None) -> WebUser: a person with an API token and the
    console password `PASSWORD`."""
    return web_user_factory(db, clock, system, make_person)


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification the app performs (the hasher is wrapped, not replaced)."""
    from tocsin.users import service as users

    real = users._hasher
    calls: list[str] = []

    class Counting:
        def verify(self, hashed: str, password: str) -> bool:
            calls.append(hashed)
            return real.verify(hashed, password)

        def __getattr__(self, name: str):  # noqa: ANN204
            return getattr(real, name)

    monkeypatch.setattr(users, "_hasher", Counting())
    return calls

"""A hostile or broken import source (an Opsgenie, OnCall or PagerDuty stand-in gone bad): an endless
or drip-fed answer ends the import with an error instead of filling memory or hanging it, an error
answer is not read, an id cannot steer a request to another path, and an answer of the wrong shape
is an error naming the source rather than a traceback. httpx.MockTransport plays the remote: what it
sends is exactly what no real source would."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tocsin.cli import importer
from tocsin.cli.main import app
from tocsin.errors import ProviderError
from tocsin.importers import pagerduty, remote
from tocsin.importers.opsgenie_api import OpsgenieClient, SourceError
from tocsin.net.guard import EgressPolicy
from tocsin.net.http import make_client

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return make_client(EgressPolicy(), transport=httpx.MockTransport(handler))


def endless(chunk: bytes = b"[" * 1024, pause: float = 0.0) -> Iterator[bytes]:
    while True:
        if pause:
            time.sleep(pause)
        yield chunk


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote, "MAX_BYTES", 64 << 10)
    monkeypatch.setattr(remote, "MAX_SECONDS", 0.3)


def test_an_endless_a_drip_fed_or_an_error_body_ends_the_read(small_limits: None) -> None:
    def get(body: Iterator[bytes], status: int = 200) -> Any:
        with client_for(lambda request: httpx.Response(status, content=body)) as client:
            return remote.get_json(client, "https://pd.example/users", source="PagerDuty", path="/users", headers={})

    with pytest.raises(ProviderError, match=r"PagerDuty answered /users with more than 0 MiB"):
        get(endless())
    started = time.monotonic()
    with pytest.raises(ProviderError, match=r"/users took longer than 0 s"):
        get(endless(b" ", pause=0.05))
    assert time.monotonic() - started < 2
    with pytest.raises(ProviderError, match=r"^PagerDuty answered HTTP 500 for /users$"):
        get(endless(), status=500)  # never read (it would not end)
    with OpsgenieClient("key", "https://og.example", EgressPolicy(),
                        transport=httpx.MockTransport(lambda request: httpx.Response(200, content=endless()))) as og:
        with pytest.raises(SourceError, match=r"answer to GET /v2/users is larger than"):
            og.get("/v2/users")


def test_a_source_id_is_one_path_segment() -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.raw_path.decode())
        kind = request.url.path.strip("/").split("/")[-1]
        if kind == "teams":
            return httpx.Response(200, json={"teams": [{"id": "../abilities?x=", "name": "t"}], "more": False})
        return httpx.Response(200, json={kind: [], "more": False})

    with client_for(handler) as client:
        pagerduty.fetch(client, "https://pd.example", "token", now=NOW)
    assert "/teams/..%2Fabilities%3Fx%3D/members?limit=100&offset=0" in asked
    assert not any(path.startswith("/abilities") for path in asked)


def test_an_answer_of_the_wrong_shape_is_an_error_naming_the_source(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        kind = request.url.path.strip("/").split("/")[-1]
        if kind == "users":
            return httpx.Response(200, json={"users": [{"name": "no id", "email": 7}], "more": False})
        return httpx.Response(200, json={kind: [], "more": False})

    monkeypatch.setattr(importer, "_client", lambda cfg: client_for(handler))
    result = CliRunner().invoke(app, ["import", "pagerduty", "--token", "t", "--url", "https://pd.example"],
                                env={"TOCSIN_DATA_DIR": str(tmp_path)})  # it fails before the database
    assert isinstance(result.exception, ProviderError), result.exception
    assert result.exception.message == ("PagerDuty answered with data of a shape the import does not know "
                                        "(KeyError); nothing was imported")

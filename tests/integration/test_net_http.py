"""The guarded HTTP client against real local servers: what connects, what is refused first.

Servers listen on 127.0.0.1 (port 0) in threads and count the TCP connections they accept,
so "refused before any connection" is observed, not assumed (the harness's `LocalServer` and
`self_signed_cert`, tests/harness/webhook.py).
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness.webhook import LocalServer, self_signed_cert, server_tls
from tocsin import __version__
from tocsin.net.guard import Blocked, EgressPolicy
from tocsin.net.http import make_async_client, make_client

FakeDNS = Callable[[str, list[str]], list[str]]


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    """Make `name` resolve to the given addresses (in order); returns the log of names looked up."""
    real = socket.getaddrinfo
    table: dict[str, list[str]] = {}
    looked_up: list[str] = []

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple]:
        looked_up.append(host)
        if host in table:
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in table[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def add(name: str, addresses: list[str]) -> list[str]:
        table[name] = addresses
        return looked_up

    return add


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_local_server_is_reachable_by_default(server: LocalServer, host: str) -> None:
    with make_client(EgressPolicy(deny_private=False)) as client:
        response = client.get(f"http://{host}:{server.port}/")
    assert (response.status_code, response.text) == (200, "hello")
    assert server.requests[0][1]["User-Agent"] == f"tocsin/{__version__}"


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is loopback"),
        ("localhost", "localhost resolves to 127.0.0.1, which is loopback"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1 (127.0.0.1) is loopback"),
    ],
)
def test_denied_address_is_refused_before_connecting(server: LocalServer, host: str, reason: str) -> None:
    with make_client(EgressPolicy(deny_private=True)) as client, pytest.raises(Blocked, match=re.escape(reason)):
        client.get(f"http://{host}:{server.port}/")
    assert server.connections == 0


def test_allow_list_re_allows_a_denied_range(server: LocalServer) -> None:
    policy = EgressPolicy.from_settings("127.0.0.1/32", deny_private=True)
    with make_client(policy) as client:
        assert client.get(f"http://localhost:{server.port}/").status_code == 200


@pytest.mark.parametrize(
    "addresses", [["127.0.0.1", "169.254.169.254"], ["169.254.169.254", "127.0.0.1"], ["127.0.0.1", "::ffff:a9fe:a9fe"]]
)
def test_name_with_one_forbidden_address_is_refused_outright(server: LocalServer, fake_dns: FakeDNS, addresses: list[str]) -> None:
    fake_dns("mixed.tocsin.test", addresses)
    with make_client(EgressPolicy(deny_private=False)) as client, pytest.raises(Blocked, match="mixed.tocsin.test resolves to"):
        client.get(f"http://mixed.tocsin.test:{server.port}/")
    assert server.connections == 0


def test_next_address_is_tried_when_one_refuses(server: LocalServer, fake_dns: FakeDNS) -> None:
    # 127.0.0.2 is on loopback but nothing listens there on this port.
    fake_dns("two.tocsin.test", ["127.0.0.2", "127.0.0.1"])
    with make_client(EgressPolicy(deny_private=False)) as client:
        assert client.get(f"http://two.tocsin.test:{server.port}/").status_code == 200


def test_dns_rebinding_is_caught_at_connect_time(server: LocalServer, fake_dns: FakeDNS) -> None:
    looked_up = fake_dns("rebind.tocsin.test", ["127.0.0.1"])
    with make_client(EgressPolicy(deny_private=False)) as client:
        assert client.get(f"http://rebind.tocsin.test:{server.port}/").status_code == 200
        fake_dns("rebind.tocsin.test", ["169.254.169.254"])  # the name now points at metadata
        # http.server closes after each HTTP/1.0 response, so this is a fresh connection.
        with pytest.raises(Blocked, match="cloud metadata"):
            client.get(f"http://rebind.tocsin.test:{server.port}/")
    assert looked_up.count("rebind.tocsin.test") == 2
    assert server.connections == 1


def test_metadata_name_is_refused_without_a_lookup(server: LocalServer, fake_dns: FakeDNS) -> None:
    looked_up = fake_dns("metadata.google.internal", ["127.0.0.1"])
    with make_client(EgressPolicy(deny_private=False)) as client, pytest.raises(Blocked, match="metadata hostname"):
        client.get(f"http://metadata.google.internal:{server.port}/")
    assert looked_up == [] and server.connections == 0


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/", "http://[fd00:ec2::254]/"]
)
def test_literal_addresses_are_refused_even_with_a_swapped_transport(url: str) -> None:
    calls: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: calls.append(request) or httpx.Response(200))
    with make_client(EgressPolicy(deny_private=False), transport=transport) as client, pytest.raises(Blocked):
        client.get(url)
    assert calls == []


def test_octal_spelled_metadata_address_never_leaves() -> None:
    # httpx refuses to parse it; either refusal is fine as long as nothing is sent.
    with make_client(EgressPolicy(deny_private=False)) as client, pytest.raises((Blocked, httpx.InvalidURL)):
        client.get("http://0251.0376.0251.0376/")


def test_decimal_spelled_metadata_address_is_refused_after_resolution() -> None:
    with make_client(EgressPolicy(deny_private=False)) as client, pytest.raises(Blocked, match="2852039166 resolves to 169.254.169.254"):
        client.get("http://2852039166/")


def test_redirects_are_not_followed(server: LocalServer) -> None:
    with make_client(EgressPolicy(deny_private=False)) as client:
        response = client.get(f"http://127.0.0.1:{server.port}/redirect")
    assert response.status_code == 302
    assert [path for path, _ in server.requests] == ["/redirect"]


def test_environment_proxies_are_ignored(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with LocalServer() as proxy:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with make_client(EgressPolicy(deny_private=False)) as client:
            assert client.get(f"http://localhost:{server.port}/").status_code == 200
        assert proxy.connections == 0 and len(server.requests) == 1


def test_tls_verifies_the_url_host_while_connecting_to_the_checked_address(tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path, days=30)
    trust = ssl.create_default_context(cafile=str(cert))
    with LocalServer(tls=server_tls(cert, key)) as srv, make_client(EgressPolicy(deny_private=False), verify=trust) as client:
        # localhost → 127.0.0.1 is what is dialled; the certificate is checked for "localhost".
        assert client.get(f"https://localhost:{srv.port}/").status_code == 200
        # The same server by address: the certificate does not name 127.0.0.1.
        with pytest.raises(httpx.ConnectError, match="127.0.0.1"):
            client.get(f"https://127.0.0.1:{srv.port}/")


def test_async_client_is_guarded_the_same_way(server: LocalServer) -> None:
    async def run() -> tuple[int, type[Exception] | None]:
        async with make_async_client(EgressPolicy(deny_private=False)) as client:
            status = (await client.get(f"http://localhost:{server.port}/")).status_code
        async with make_async_client(EgressPolicy(deny_private=True)) as client:
            try:
                await client.get(f"http://localhost:{server.port}/")
            except Blocked as exc:
                return status, type(exc)
        return status, None

    assert asyncio.run(run()) == (200, Blocked)
    assert server.connections == 1

"""Build the one outbound HTTP client: httpx with the egress guard applied at connect time.

The guard lives in an httpcore network backend, not in a pre-flight DNS lookup: the backend
resolves the name itself, checks every address it got, and connects to a checked address.
A name that resolves to a safe address for the check and a metadata address for the connect
(DNS rebinding) therefore cannot slip through, and every redirect hop and keep-alive
reconnect passes the same gate. TLS still verifies the certificate against the URL's host
name, because httpcore takes SNI from the request origin, not from the address connected to.

Proxies from the environment are ignored (trust_env=False): a proxy would connect on our
behalf and the guard would only ever see the proxy's address.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterable
from typing import Any, TypedDict

import anyio
import httpcore
import httpx

from tocsin import __version__
from tocsin.net.guard import Blocked, EgressPolicy

USER_AGENT = f"tocsin/{__version__}"

Verify = ssl.SSLContext | bool


def _checked(host: str, infos: Iterable[tuple], policy: EgressPolicy) -> list[str]:
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise httpcore.ConnectError(f"could not resolve {host}: no addresses")
    # Every address is checked before any is tried: a name that mixes a harmless address
    # with a forbidden one is refused outright rather than "used where safe".
    for address in addresses:
        policy.check(address, host=host)
    return addresses


def resolve_checked(host: str, port: int, policy: EgressPolicy) -> list[str]:
    """Return the addresses `host` resolves to, every one permitted by `policy`.

    Raises Blocked if the name or any resolved address is refused, and
    httpcore.ConnectError if the name does not resolve.
    """
    policy.check_host(host)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"could not resolve {host}: {exc}") from exc
    return _checked(host, infos, policy)


async def aresolve_checked(host: str, port: int, policy: EgressPolicy) -> list[str]:
    """Async `resolve_checked` (the lookup runs in a worker thread); same returns and raises."""
    policy.check_host(host)
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"could not resolve {host}: {exc}") from exc
    return _checked(host, infos, policy)


def _remaining(deadline: float | None) -> float | None:
    # The connect timeout bounds trying all of a name's addresses, not each one: a name
    # with ten unreachable addresses must not take ten timeouts to fail. (The lookup itself
    # is not bounded: getaddrinfo takes no timeout.)
    if deadline is None:
        return None
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise httpcore.ConnectTimeout("connect timeout: no time left to try further addresses")
    return remaining


class GuardedBackend(httpcore.NetworkBackend):
    """A network backend that connects only to addresses the policy permits."""

    def __init__(self, policy: EgressPolicy, inner: httpcore.NetworkBackend | None = None) -> None:
        self.policy = policy
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Return a stream to the first reachable checked address of `host`.

        Raises Blocked, or httpcore.ConnectError / ConnectTimeout from the last address tried.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        addresses = resolve_checked(host, port, self.policy)
        for i, address in enumerate(addresses):
            try:
                remaining = _remaining(deadline)
                return self._inner.connect_tcp(address, port, remaining, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                if i == len(addresses) - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise Blocked("unix sockets are not permitted for outbound requests", address=path, rule="uds")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class AsyncGuardedBackend(httpcore.AsyncNetworkBackend):
    """The async twin of `GuardedBackend` (AnyIO, so it runs under asyncio and trio)."""

    def __init__(self, policy: EgressPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Async `GuardedBackend.connect_tcp`; same returns and raises."""
        deadline = None if timeout is None else time.monotonic() + timeout
        addresses = await aresolve_checked(host, port, self.policy)
        for i, address in enumerate(addresses):
            try:
                remaining = _remaining(deadline)
                return await self._inner.connect_tcp(address, port, remaining, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                if i == len(addresses) - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Blocked("unix sockets are not permitted for outbound requests", address=path, rule="uds")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# httpx 0.28 has no public way to hand HTTPTransport a network backend (encode/httpx
# PR #3749 proposes one), so we swap the pool it built for one built with httpcore's
# public constructor. Fail loudly if httpx's internals change: a silently ignored
# pool would mean an unguarded client.
def _check_pool(transport: httpx.HTTPTransport | httpx.AsyncHTTPTransport) -> None:
    expected = httpcore.ConnectionPool if isinstance(transport, httpx.HTTPTransport) else httpcore.AsyncConnectionPool
    if not isinstance(getattr(transport, "_pool", None), expected):
        raise TypeError("httpx transport internals changed: cannot install the egress guard")


class _PoolSettings(TypedDict):
    ssl_context: ssl.SSLContext
    max_connections: int | None
    max_keepalive_connections: int | None
    keepalive_expiry: float | None


def _pool_settings(ssl_context: ssl.SSLContext) -> _PoolSettings:
    limits = httpx.Limits()  # httpx's defaults, so the swapped pool behaves like the stock one
    return {
        "ssl_context": ssl_context,
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }


def guarded_transport(policy: EgressPolicy, *, verify: Verify = True) -> httpx.HTTPTransport:
    """Return an httpx transport whose every TCP connection passes `policy`."""
    ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
    transport = httpx.HTTPTransport(verify=ssl_context, trust_env=False)
    _check_pool(transport)
    transport._pool = httpcore.ConnectionPool(network_backend=GuardedBackend(policy), **_pool_settings(ssl_context))
    return transport


def guarded_async_transport(policy: EgressPolicy, *, verify: Verify = True) -> httpx.AsyncHTTPTransport:
    """Return an async httpx transport whose every TCP connection passes `policy`."""
    ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, trust_env=False)
    _check_pool(transport)
    transport._pool = httpcore.AsyncConnectionPool(network_backend=AsyncGuardedBackend(policy),
                                                   **_pool_settings(ssl_context))
    return transport


def _client_options(timeout: float) -> dict[str, Any]:
    return {
        "timeout": httpx.Timeout(timeout),
        # Redirects stay off: a caller that turns them on per request still gets every hop
        # guarded (the request hook and the backend see each one), but should mean to.
        "follow_redirects": False,
        "trust_env": False,
        "headers": {"User-Agent": USER_AGENT},
    }


def make_client(
    policy: EgressPolicy,
    *,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
    verify: Verify = True,
) -> httpx.Client:
    """Return a guarded `httpx.Client` (no redirects, no environment proxies).

    `transport` replaces the guarded one (tests); the literal-address and metadata-name
    check still applies, as a request hook, so it holds even for a transport that never
    resolves names. `verify` (True, False or an SSLContext) is ignored when `transport` is
    given. Requests raise Blocked when the policy refuses the target, else httpx's errors.
    """

    def check(request: httpx.Request) -> None:
        policy.check_host(request.url.host)

    return httpx.Client(
        transport=transport or guarded_transport(policy, verify=verify),
        event_hooks={"request": [check]},
        **_client_options(timeout),
    )


def make_async_client(
    policy: EgressPolicy,
    *,
    timeout: float = 10.0,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: Verify = True,
) -> httpx.AsyncClient:
    """Return a guarded `httpx.AsyncClient`; as `make_client`, for async callers."""

    async def check(request: httpx.Request) -> None:
        policy.check_host(request.url.host)

    return httpx.AsyncClient(
        transport=transport or guarded_async_transport(policy, verify=verify),
        event_hooks={"request": [check]},
        **_client_options(timeout),
    )

"""Which probe failures are soft: the service answered correctly, but too slowly or with a
certificate that expires soon (the probe's reasons start so, checks/probe.py). A check whose failures
are all soft alerts as a warning, and an SLO counts such a probe as good availability. No database,
no network: the SLO math (a pure core) uses it too."""

from __future__ import annotations

SOFT_PREFIXES = ("latency ", "TLS certificate expires in")


def is_soft_failure(error: str | None) -> bool:
    return error is not None and error.startswith(SOFT_PREFIXES)

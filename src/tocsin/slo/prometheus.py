"""Reading good and total counts from Prometheus: one instant query (`/api/v1/query`) per expression.

The server is the operator's (TOCSIN_SLO_PROMETHEUS_URL) and is reached through the egress guard
with the operator policy (private ranges allowed, cloud metadata never). A query's expression is
the SLO's, with `$window` replaced by the span since the last query (e.g. `60s`), so
`sum(increase(http_requests_total{code!~"5.."}[$window]))` counts the good requests of that span.

Prometheus's answer is read for its number and nothing else: every failure becomes a short summary
in our own words (`QueryFailed`), so no remote text reaches a caller or the console.
"""

from __future__ import annotations

import json
import math
import time
from datetime import datetime, timedelta
from typing import Any

import httpx

from tocsin.net.guard import Blocked

WINDOW = "$window"
TIMEOUT = 5.0
# Prometheus is asked to give up first (its `timeout` parameter), so an expensive query fails as
# itself (errorType timeout) instead of as a silent server that holds up every other SLO's query.
QUERY_TIMEOUT = "4s"
MAX_ANSWER_BYTES = 1_000_000  # a summed query answers in a few hundred bytes; a dump of every series does not
MAX_CATCH_UP = timedelta(hours=1)  # after a long pause, one query covers at most this much
# More events than this in one query's span (an hour at most) is a broken query or server: summed
# over a 30-day window, such counts would overflow to infinity and every budget would read NaN.
MAX_EVENTS = 1e15
# Prometheus's documented errorType values: named in a summary because they are a closed set.
ERROR_TYPES = frozenset({"timeout", "canceled", "execution", "bad_data", "internal", "unavailable", "not_found"})


class QueryFailed(Exception):
    """A query that gave no usable number; str() is a summary safe to show. `unreachable`: the server
    did not answer at all (the next query would fare no better)."""

    def __init__(self, summary: str, *, unreachable: bool = False) -> None:
        super().__init__(summary)
        self.unreachable = unreachable


def expression(template: str, span: timedelta) -> str:
    """`template` with `$window` replaced by `span` in whole seconds (at least 1 s)."""
    return template.replace(WINDOW, f"{max(int(span.total_seconds()), 1)}s")


def _number(payload: Any) -> float:
    """The sum of an instant query's result (vector or scalar); 0 for an empty vector."""
    if not isinstance(payload, dict) or payload.get("status") != "success":
        kind = payload.get("errorType") if isinstance(payload, dict) else None
        raise QueryFailed(f"Prometheus refused the query ({kind if kind in ERROR_TYPES else 'error'})")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise QueryFailed("Prometheus answered without data")
    kind = data.get("resultType")
    result: Any = data.get("result")
    try:
        if kind == "scalar":
            values = [float(result[1])]
        elif kind == "vector":
            values = [float(sample["value"][1]) for sample in result]
        else:
            raise QueryFailed("the query must give a vector or a scalar, not a range or a string")
    except (TypeError, ValueError, KeyError, IndexError):
        raise QueryFailed("Prometheus answered in an unexpected shape") from None
    finite = [v for v in values if not math.isnan(v)]  # NaN: no samples in the window, no events
    if any(math.isinf(v) or v < 0 for v in finite):
        raise QueryFailed("the query gave a negative or infinite count")
    total = sum(finite)
    if not total <= MAX_EVENTS:  # inf too: finite samples can sum past the largest float
        raise QueryFailed("the query gave an implausibly large count")
    return total


def query(client: httpx.Client, base_url: str, expr: str, at: datetime) -> float:
    """Run one instant query at `at`; return its value summed over series. Raises QueryFailed."""
    url = base_url.rstrip("/") + "/api/v1/query"
    form = {"query": expr, "time": f"{at.timestamp():.3f}", "timeout": QUERY_TIMEOUT}
    try:
        with client.stream("POST", url, data=form) as response:
            status = response.status_code
            if status not in (200, 400, 422, 503):  # the statuses its API documents for a JSON answer
                raise QueryFailed(f"Prometheus answered HTTP {status}")
            body = _read_capped(response)
    except Blocked:
        raise QueryFailed("the Prometheus address is refused by the egress policy", unreachable=True) from None
    except httpx.TimeoutException:
        raise QueryFailed("Prometheus did not answer in time", unreachable=True) from None
    except httpx.HTTPError:
        raise QueryFailed("Prometheus could not be reached", unreachable=True) from None
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: an answer nested thousands deep
        raise QueryFailed(f"Prometheus answered HTTP {status} without JSON") from None
    return _number(payload)


def _read_capped(response: httpx.Response) -> bytes:
    """The answer's body, at most MAX_ANSWER_BYTES, read within TIMEOUT in all (httpx's timeout bounds
    each read, so a server trickling a byte at a time would otherwise hold the job for hours)."""
    deadline = time.monotonic() + TIMEOUT
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise QueryFailed("Prometheus answered with more than 1 MB: sum the query to one series")
        if time.monotonic() > deadline:
            raise QueryFailed("Prometheus did not answer in time", unreachable=True)
        chunks.append(chunk)
    return b"".join(chunks)


def counts(client: httpx.Client, base_url: str, good: str, total: str, *, since: datetime, until: datetime
           ) -> tuple[float, float]:
    """The good and total events of (since, until]; raises QueryFailed."""
    span = until - since
    g = query(client, base_url, expression(good, span), until)
    t = query(client, base_url, expression(total, span), until)
    if g > t * 1.01 + 1:  # increase() extrapolates each series: a hair over is rounding, more is a mix-up
        raise QueryFailed("the good query counted more events than the total query")
    return min(g, t), t

"""Confirming an AWS SNS subscription: tocsin visits the SubscribeURL SNS sent, once stored.

`presets.sns_confirmation` already checked the address (https, an SNS regional endpoint,
a ConfirmSubscription request). The visit goes through the egress guard with the user policy
(tocsin.net), in a background thread so the ingest writer never waits on AWS, and its answer
is logged by status code only: it is never echoed to the caller.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from tocsin.net.guard import EgressPolicy
from tocsin.net.http import make_client

log = logging.getLogger("tocsin.ingest.sns")

Confirm = Callable[[str], None]


def visit(url: str, policy: EgressPolicy) -> int | None:
    """GET the SubscribeURL; return the status code, or None if it could not be reached."""
    try:
        with make_client(policy, timeout=10.0) as client:
            status = client.get(url).status_code
    except Exception as exc:  # noqa: BLE001 - any failure is logged; SNS resends the confirmation request
        log.warning("confirming an SNS subscription failed: %s", type(exc).__name__)
        return None
    log.info("SNS subscription confirmation answered HTTP %d", status)
    return status


MAX_IN_FLIGHT = 4  # visits under way at once; more confirmation requests meanwhile are not visited


def background_confirm(policy: EgressPolicy, visit: Callable[[str, EgressPolicy], object] = visit) -> Confirm:
    """A confirm callable that visits each URL in its own daemon thread, at most MAX_IN_FLIGHT at once.

    Anyone holding the integration's URL can post confirmation requests; each visit may wait 10 s on
    the network. Unbounded, a flood of them was a flood of threads. Past the bound a request is stored
    and answered as usual but not visited (logged); "Request confirmation" on the subscription in the
    SNS console sends another."""
    slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)

    def run(url: str) -> None:
        try:
            visit(url, policy)
        finally:
            slots.release()

    def confirm(url: str) -> None:
        if not slots.acquire(blocking=False):
            log.warning("SNS subscription confirmation not visited: %d visits already under way", MAX_IN_FLIGHT)
            return
        threading.Thread(target=run, args=(url,), name="tocsin-sns-confirm", daemon=True).start()

    return confirm

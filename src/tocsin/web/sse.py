"""Server-sent events plumbing: wake an async stream when a `tocsin.live` topic changes.

`live.subscribe` calls back from any thread (the committing request's worker thread, or the
PostgreSQL listener thread). `Waker` hands each matching notice to the event loop of the
stream with `call_soon_threadsafe` and sets an `asyncio.Event`: notices arriving while the
stream is busy collapse into one wake-up, which is what a viewer wants (the stream then reads
everything new at once). A notice says only that something changed, so a lost or merged one
costs nothing: the stream also re-reads at every heartbeat.

`stream()` is the loop every event stream shares: subscribe first (so nothing that happens
while the first read runs is missed), read, send, wait for a notice or the heartbeat, repeat,
until the reader says the viewer may no longer watch. Unsubscribing happens in `finally`, which
runs when the client disconnects (Starlette cancels the response) or the stream ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from tocsin import live

HEARTBEAT_SECONDS = 15.0
RETRY_MS = 3000  # how long a browser waits before reconnecting a dropped stream
PING = b": ping\n\n"
HEADERS = {
    "Cache-Control": "no-cache, no-store",
    "X-Accel-Buffering": "no",  # nginx: pass each event on at once instead of buffering the response
    "Connection": "keep-alive",
}
log = logging.getLogger("tocsin.web.sse")


def event(*, data: Any, name: str | None = None, event_id: str | None = None) -> bytes:
    """One SSE message; `data` is sent as JSON on a single line (JSON never contains a raw newline)."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if name is not None:
        lines.append(f"event: {name}")
    lines.append("data: " + json.dumps(data, separators=(",", ":")))
    return ("\n".join(lines) + "\n\n").encode()


class Waker:
    """Set when `topic` changes; safe to trigger from any thread."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._unsubscribe = live.subscribe(self._notice)

    def _notice(self, topic: str) -> None:
        if topic != self.topic:
            return
        try:
            self._loop.call_soon_threadsafe(self._event.set)
        except RuntimeError:  # the loop has closed (server shutting down): nobody is listening
            pass

    async def wait(self, timeout: float) -> bool:
        """Wait for a notice; return True if one came, False after `timeout` seconds."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        self._event.clear()
        return True

    def close(self) -> None:
        self._unsubscribe()


async def stream(topic: str, read: Callable[[bool], Awaitable[list[bytes] | None]],
                 heartbeat: float = HEARTBEAT_SECONDS) -> AsyncIterator[bytes]:
    """Yield SSE bytes: `read(noticed)` returns the messages to send now, or None to end the stream.

    `noticed` is True after a change notice (and for the first read), False after a quiet heartbeat.
    """
    waker = Waker(topic)
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        noticed = True
        while True:
            messages = await read(noticed)
            if messages is None:
                return
            for message in messages:
                yield message
            noticed = await waker.wait(heartbeat)
            if not noticed:
                yield PING
    finally:
        waker.close()

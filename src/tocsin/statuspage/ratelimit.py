"""A small sliding-window rate limit by key (the client IP of the public subscribe form).

In memory, per process: several `tocsin serve` workers each allow the limit, and a restart
forgets it. That is enough for what it is for (one address scripting the form, sending
confirmation mail to strangers); the per-page cap of unconfirmed subscribers in
`subscribers.py` is the limit that holds across processes and addresses.

Time comes from the caller (the app's injected clock), so tests move it by hand.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from datetime import datetime, timedelta

MAX_KEYS = 10_000  # forget the stalest keys beyond this: memory stays bounded under a flood


class SlidingWindow:
    """At most `limit` hits per key within any `window`."""

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: datetime) -> int:
        """Count a hit; return 0 if allowed, else the seconds until the next one would be."""
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= MAX_KEYS:
                    self._sweep(now)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, math.ceil((hits[0] + self.window - now).total_seconds()))
            hits.append(now)
            return 0

    def _sweep(self, now: datetime) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
        while len(self._hits) >= MAX_KEYS:  # still full: drop the keys seen longest ago
            del self._hits[min(self._hits, key=lambda k: self._hits[k][-1] if self._hits[k] else now)]

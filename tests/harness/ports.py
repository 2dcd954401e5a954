"""Loopback ports for servers a test starts."""

from __future__ import annotations

import itertools
import os
import random
import socket

# Each xdist worker takes ports from a range of its own, below the kernel's ephemeral range
# (32768-60999 here): a port the kernel hands out for "any free port" can be handed to the other
# worker too once it is closed, and a server started there made the other worker's test talk to the
# wrong server (a 401 from a database that did not have its token).
_SPAN = 2000
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0) % 6
_next = itertools.count(random.randrange(_SPAN))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, from this worker's own range (a
    server started next can take it)."""
    base = 20000 + _WORKER * _SPAN
    for _ in range(_SPAN):
        port = base + next(_next) % _SPAN
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {base}-{base + _SPAN - 1}")


closed_port = free_port  # a port to connect to and be refused: nothing listens on it

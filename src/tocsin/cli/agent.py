"""`tocsin agent`: run the server's checks for one location from where it is started (no database)."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

import typer

from tocsin.agent.runner import Agent
from tocsin.agent.server import Server


def agent(
    url: Annotated[str, typer.Option("--url", help="The tocsin server, e.g. https://tocsin.example")],
    key: Annotated[str, typer.Option("--key", envvar="TOCSIN_AGENT_KEY",
                                     help="This agent's key (shown once when an admin registered it); better in TOCSIN_AGENT_KEY, "
                                          "as a command line is visible to every user of the machine")],
    interval: Annotated[int, typer.Option("--interval", min=5, max=3600,
                                          help="Seconds between fetches of the assigned checks")] = 60,
    allow_private: Annotated[bool, typer.Option(
        "--allow-private",
        help="Let checks reach private, loopback and CGNAT addresses (metadata and link-local stay refused)")] = False,
) -> None:
    """Run the checks assigned to this agent's location and report their results until stopped."""

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        server = Server(url, key)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--url") from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        Agent(server, interval=interval, allow_private=allow_private).run(stop)
    finally:
        server.close()

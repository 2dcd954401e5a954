"""A stand-in for a Microsoft Teams Workflows webhook: the harness's `Receiver` over HTTPS on 127.0.0.1
(a self-signed certificate for "localhost"), answering 202 Accepted with an empty body as Workflows
does, and the cards it received.

- `workflows_hook(directory)`: a context manager yielding `(receiver, trust)`; `receiver.url("localhost")`
  is the webhook URL (https, as a Teams contact method requires), `trust` the SSLContext that trusts it.
- `trust_dispatchers(monkeypatch, trust)`: every `Dispatcher` built afterwards (the engine's, the API's)
  connects through the real guarded client with `trust` added as its certificate authority, as an
  operator would add a private CA; nothing else about the client changes.
- `cards(receiver)`: the JSON documents received; `buttons(document)`: {title: url} of its OpenUrl actions.
"""

from __future__ import annotations

import functools
import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.harness.webhook import Receiver, self_signed_cert, server_tls


@contextmanager
def workflows_hook(directory: Path) -> Iterator[tuple[Receiver, ssl.SSLContext]]:
    cert, key = self_signed_cert(directory, days=30, hostname="localhost")
    with Receiver(tls=server_tls(cert, key)) as hook:
        hook.status, hook.reply_body = 202, b""
        yield hook, ssl.create_default_context(cafile=str(cert))


def trust_dispatchers(monkeypatch: pytest.MonkeyPatch, trust: ssl.SSLContext) -> None:
    from tocsin.net import http
    from tocsin.notify import dispatch

    monkeypatch.setattr(dispatch, "make_client", functools.partial(http.make_client, verify=trust))


def cards(hook: Receiver) -> list[dict[str, Any]]:
    return [json.loads(p.body) for p in list(hook.posts)]


def card_of(document: dict[str, Any]) -> dict[str, Any]:
    [attachment] = document["attachments"]
    content: dict[str, Any] = attachment["content"]
    return content


def buttons(document: dict[str, Any]) -> dict[str, str]:
    return {a["title"]: a["url"] for a in card_of(document).get("actions", [])}


def texts(document: dict[str, Any]) -> list[str]:
    """Every TextBlock's text and every fact's "title: value", in order."""
    out: list[str] = []
    for element in card_of(document)["body"]:
        if element["type"] == "TextBlock":
            out.append(element["text"])
        elif element["type"] == "FactSet":
            out += [f"{f['title']}: {f['value']}" for f in element["facts"]]
    return out

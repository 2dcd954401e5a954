"""A JSON-over-HTTP stand-in on 127.0.0.1 in a thread: subclasses answer `(path, query, headers)`
with `(status, body)`; every request is recorded (`requests`) so tests see what the importer asked."""

from __future__ import annotations

import http.server
import json
import ssl
import threading
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server: JsonStandIn = self.server  # type: ignore[assignment]
        split = urlsplit(self.path)
        query = {k: v for k, v in parse_qs(split.query).items()}
        server.requests.append((split.path, query, dict(self.headers)))
        status, body = server.answer(split.path, query, dict(self.headers))
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", server.content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: object) -> None:
        pass


class JsonStandIn(http.server.ThreadingHTTPServer):
    daemon_threads = True
    content_type = "application/json"

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tls = tls
        if tls is not None:  # https://localhost:PORT (the certificate's name), for clients that insist on https
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        if self.tls is not None:
            return f"https://localhost:{self.server_address[1]}"
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answer(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

"""Local HTTP(S) servers in threads on 127.0.0.1: a generic one that counts connections, a webhook
receiver that records POSTs, and self-signed TLS for either.

- `LocalServer(handler=Handler, tls=None)`: records GET requests (`requests`) and counts the TCP
  connections it accepts (`connections`), so "refused before connecting" is observed. `Handler`
  answers /redirect with a 302, /status/N with N, anything else 200 "hello".
- `Receiver(tls=None)`: records each POST (`posts`: path, headers, raw body) and answers `status` with
  `reply_body` and `reply_headers` after `delay` seconds; `url()` is its hook address (https with `tls`).
- `self_signed_cert(dir, days=...)` writes a certificate and key; `server_tls(cert, key)` is the
  server-side context for `LocalServer(tls=...)` or an SMTP server's STARTTLS.
"""

from __future__ import annotations

import http.server
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Self


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers by path: /redirect → 302, /status/N → N, anything else → 200 "hello"."""

    def do_GET(self) -> None:
        self.server.requests.append((self.path, dict(self.headers)))  # type: ignore[attr-defined]
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/")
            self.end_headers()
            return
        code = int(self.path.rsplit("/", 1)[1]) if self.path.startswith("/status/") else 200
        body = b"hello"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


class LocalServer(http.server.ThreadingHTTPServer):
    """An HTTP(S) server on 127.0.0.1 that records requests and counts accepted connections."""

    daemon_threads = True

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler] = Handler, tls: ssl.SSLContext | None = None):
        super().__init__(("127.0.0.1", 0), handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.connections = 0
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def verify_request(self, request: object, client_address: object) -> bool:
        self.connections += 1
        return True

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def self_signed_cert(directory: Path, *, days: float, hostname: str = "localhost") -> tuple[Path, Path]:
    """Write a self-signed certificate for `hostname` valid for `days`; return (cert, key) paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{hostname}-{days}.crt", directory / f"{hostname}-{days}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        server: Receiver = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        server.posts.append(Post(self.path, dict(self.headers), body))
        if server.delay:
            time.sleep(server.delay)
        self.send_response(server.status)
        for name, value in server.reply_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(server.reply_body)))
        self.end_headers()
        self.wfile.write(server.reply_body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Receiver(LocalServer):
    """A webhook receiver: records POSTs, answers `status` with `reply_body` after `delay`.

    With `tls` (from `server_tls`) it speaks HTTPS; `url()` then starts with https://. A Teams
    Workflows webhook is played by setting `status = 202` and `reply_body = b""`, as Workflows answers.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(ReceiverHandler, tls=tls)
        self.scheme = "https" if tls is not None else "http"
        self.posts: list[Post] = []
        self.status = 200
        self.reply_body = b"ok"
        self.reply_headers: dict[str, str] = {}
        self.delay = 0.0

    def url(self, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}/hooks/tocsin"

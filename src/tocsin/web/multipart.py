"""A streaming multipart/form-data reader for the one console form that uploads a file (evidence).

The body is read chunk by chunk as it arrives: small fields are collected (bounded), and the one file
part is handed to a sink chunk by chunk, never held whole in memory nor spooled elsewhere. The sink
is asked for at the start of the file part, with the fields read so far, so a form whose CSRF token
(a hidden input placed before the file input: browsers send fields in document order) is wrong, or
whose sender may not upload here, is refused before a byte of the file is written.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from tocsin.errors import InvalidInput

MAX_FIELDS, MAX_FIELD_BYTES, MAX_HEADER_BYTES = 20, 64 * 1024, 16 * 1024
_BOUNDARY = re.compile(r'boundary="?([^";]{1,200})"?', re.IGNORECASE)
_PARAM = re.compile(r'(?i);\s*(name|filename)="([^"]*)"')


class BadMultipart(InvalidInput):
    """The body is not a readable multipart form."""


class Sink(Protocol):
    async def write(self, chunk: bytes) -> None: ...


@dataclass
class Received:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    content_type: str = ""
    file_field: str | None = None


def boundary_of(content_type: str) -> bytes:
    if not content_type.lower().startswith("multipart/form-data"):
        raise BadMultipart("send the file as a multipart form", details={"content_type": content_type[:100]})
    match = _BOUNDARY.search(content_type)
    if not match:
        raise BadMultipart("the multipart form has no boundary")
    return match.group(1).encode("latin-1")


def _headers(raw: bytes) -> tuple[str, str | None, str]:
    """(field name, filename or None, content type) of a part from its header block."""
    name, filename, ctype = None, None, ""
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        key, _, value = line.partition(":")
        if key.strip().lower() == "content-disposition":
            params = dict((k.lower(), v) for k, v in _PARAM.findall(value))
            name, filename = params.get("name"), params.get("filename")
        elif key.strip().lower() == "content-type":
            ctype = value.strip()
    if name is None:
        raise BadMultipart("a part of the form has no name")
    return name, filename, ctype


async def read_form(chunks: AsyncIterator[bytes], content_type: str, *,
                    open_file: Callable[[Received], Awaitable[Sink]]) -> Received:
    """Read the whole form; the first part with a filename goes to `open_file(received_so_far)`'s sink."""
    delim = b"\r\n--" + boundary_of(content_type)
    out = Received()
    buf = b"\r\n"  # so that the first boundary matches the delimiter too
    state = "preamble"
    part_name: str | None = None
    value = bytearray()
    sink: Sink | None = None

    async def data(piece: bytes) -> None:
        if sink is not None:
            if piece:
                await sink.write(piece)
            return
        value.extend(piece)
        if len(value) > MAX_FIELD_BYTES:
            raise BadMultipart(f"the form field {part_name!r} is too long", details={"field": part_name})

    async for chunk in chunks:
        buf += chunk
        while True:
            if state in ("preamble", "data"):
                at = buf.find(delim)
                if at < 0:
                    keep = len(delim) - 1
                    if state == "data" and len(buf) > keep:
                        await data(buf[:-keep])
                    buf = buf[-keep:] if len(buf) > keep else buf
                    break
                if state == "data":
                    await data(buf[:at])
                    if sink is None:
                        out.fields[part_name or ""] = bytes(value).decode("utf-8", "replace")
                    sink = None
                buf, state = buf[at + len(delim):], "boundary"
            elif state == "boundary":
                if len(buf) < 2:
                    break
                if buf.startswith(b"--"):
                    return out
                if not buf.startswith(b"\r\n"):
                    raise BadMultipart("the multipart form is malformed")
                buf, state = buf[2:], "headers"
            elif state == "headers":
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEADER_BYTES:
                        raise BadMultipart("a part's headers are too long")
                    break
                part_name, filename, ctype = _headers(buf[:end])
                buf, state, value = buf[end + 4:], "data", bytearray()
                if filename is not None:
                    if out.file_field is not None:
                        raise BadMultipart("upload one file at a time", details={"field": part_name})
                    out.filename, out.content_type, out.file_field = filename, ctype, part_name
                    sink = await open_file(out)
                elif len(out.fields) >= MAX_FIELDS:
                    raise BadMultipart("the form has too many fields")
    raise BadMultipart("the multipart form ended early")

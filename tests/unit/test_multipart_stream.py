"""The console's streaming multipart reader: fields before the file, the file to its sink in pieces,
whatever the chunking; malformed forms are a clear 4xx (InvalidInput), never a 500."""

from __future__ import annotations

import asyncio

import pytest

from tocsin.errors import InvalidInput
from tocsin.web import multipart

CT = "multipart/form-data; boundary=----b0undary"
FILE = b"line one\r\n------b0undar" + b"\x00\xff" * 3000 + b"\r\n--not the boundary\r\n"


def form(file: bytes = FILE, *, fields: tuple[tuple[str, str], ...] = (("csrf_token", "t0k"), ("reason", "why"))) -> bytes:
    out = b"preamble to ignore\r\n"
    for name, value in fields:
        out += f'------b0undary\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    out += (b'------b0undary\r\nContent-Disposition: form-data; name="file"; filename="mem.raw"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" + file + b"\r\n------b0undary--\r\n")
    return out


class Sink:
    def __init__(self) -> None:
        self.data, self.seen = b"", None

    async def write(self, chunk: bytes) -> None:
        self.data += chunk


def run(body: bytes, size: int, content_type: str = CT) -> tuple[multipart.Received, Sink]:
    sink = Sink()

    async def chunks():
        for start in range(0, len(body), size):
            yield body[start:start + size]

    async def open_file(so_far: multipart.Received) -> Sink:
        sink.seen = dict(so_far.fields)  # what the CSRF check sees when the file starts
        return sink

    return asyncio.run(multipart.read_form(chunks(), content_type, open_file=open_file)), sink


@pytest.mark.parametrize("size", [1, 7, 64, 1000, 65536])
def test_the_file_streams_to_its_sink_whatever_the_chunking(size):
    got, sink = run(form(), size)
    assert sink.data == FILE
    assert sink.seen == {"csrf_token": "t0k", "reason": "why"}  # the token is known before a byte is written
    assert (got.filename, got.content_type, got.fields["reason"]) == ("mem.raw", "application/octet-stream", "why")


MALFORMED = [
    ("not multipart", form(), "application/x-www-form-urlencoded", "multipart"),
    ("no boundary", form(), "multipart/form-data", "no boundary"),
    ("cut short", form()[:-40], CT, "ended early"),
    ("two files", form(fields=()).replace(b"------b0undary--", b'------b0undary\r\nContent-Disposition: form-data; '
                                                                b'name="f2"; filename="b"\r\n\r\nx\r\n------b0undary--'),
     CT, "one file"),
    ("a part without a name", form().replace(b'name="reason"', b"x=1"), CT, "no name"),
    ("a huge field", form(fields=(("reason", "x" * 70_000),)), CT, "too long"),
    ("too many fields", form(fields=tuple((f"f{n}", "v") for n in range(25))), CT, "too many"),
]


@pytest.mark.parametrize(("case", "body", "ctype", "says"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_form_is_refused_clearly(case, body, ctype, says):
    with pytest.raises(InvalidInput, match=says):
        run(body, 4096, ctype)

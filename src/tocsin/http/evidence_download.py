"""The response that hands out a stored evidence file, for both HTTP edges (API and console)."""

from __future__ import annotations

from fastapi.responses import FileResponse, Response, StreamingResponse

from tocsin.evidence import download
from tocsin.evidence.store import LocalStore, Store


def file_response(store: Store, sha256: str, name: str) -> Response:
    """The file as an attachment: from disk with sendfile for the local store, else streamed in chunks
    (Starlette iterates a plain iterator in its threadpool)."""
    headers = download.headers(name)
    if isinstance(store, LocalStore):
        return FileResponse(store.path_for(sha256), media_type=download.MEDIA_TYPE, headers=headers)
    return StreamingResponse(store.chunks(sha256), media_type=download.MEDIA_TYPE, headers=headers)

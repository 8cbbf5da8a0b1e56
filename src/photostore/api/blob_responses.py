"""Stored files as HTTP answers: ETag, Range, and never a byte that failed its check.

The blob store checks each chunk before handing it out (``storage.checksummed`` for
plain blobs, the envelope of ``storage.encrypted``), and the first chunk of a read
before the read is opened: damage there, or a missing file, becomes a problem document
before any header goes out. Damage found after the headers ends the response where it
is (no byte of the failing chunk is sent; the client sees a body shorter than its
``Content-Length``); it is logged, counted (``photostore_blob_read_failures``) and
recorded in the audit row as a 500, whose writing waits for the stream's end
(``observability.audit.audit_at_end``).

A thumbnail is small (a few hundred KiB at most) and can be made again from its
original, so it is read and checked whole before any header: damage anywhere in it is
then found before the answer starts, and the route makes it again instead of sending a
cut image on every read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import anyio
from fastapi import Request, Response, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool

from photostore.api.ranges import parse_range
from photostore.errors import BlobMissing, PhotostoreError, Unreadable
from photostore.observability.audit import audit_at_end
from photostore.observability.middleware import Metrics
from photostore.services.images import BlobRef, ImageService
from photostore.storage.base import UncheckedBlob

log = logging.getLogger(__name__)

ORIGINAL = "original"
THUMBNAIL = "thumbnail"
_BEFORE_HEADERS = "before-headers"
_AFTER_HEADERS = "after-headers"


async def blob_response(
    request: Request, images: ImageService, ref: BlobRef, blob: str
) -> Response:
    """The answer to a GET of the stored file ``ref`` (``blob``: original or thumbnail)."""
    etag = f'"{ref.etag}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        # Private: these are one user's photos; no shared cache may keep them.
        "Cache-Control": "private, max-age=31536000, immutable"
        if blob == ORIGINAL
        else "private, max-age=86400",
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and (if_none_match.strip() == "*" or etag in _etags(if_none_match)):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    # A stale If-Range means "send it all": decide that before looking at the range.
    if_range = request.headers.get("if-range")
    fresh = if_range is None or if_range.strip() == etag
    wanted = parse_range(request.headers.get("range"), ref.byte_size) if fresh else None
    start, end = wanted if wanted is not None else (0, ref.byte_size)
    metrics: Metrics = request.app.state.metrics
    code = status.HTTP_200_OK
    if wanted is not None:
        code = status.HTTP_206_PARTIAL_CONTENT
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{ref.byte_size}"
    try:
        chunks = await images.open_blob(ref, start, end)
        if blob == THUMBNAIL:
            whole = await anyio.to_thread.run_sync(b"".join, chunks)
    except (BlobMissing, Unreadable, UncheckedBlob) as exc:
        _note_failure(metrics, ref, blob, exc, _BEFORE_HEADERS)
        raise
    if blob == THUMBNAIL:
        return Response(whole, status_code=code, media_type=ref.content_type, headers=headers)
    headers["Content-Length"] = str(end - start)
    audit_at_end(request.state)
    return StreamingResponse(
        iterate_in_threadpool(_checked_stream(chunks, metrics, ref, blob)),
        status_code=code,
        media_type=ref.content_type,
        headers=headers,
    )


def _checked_stream(
    chunks: Iterator[bytes], metrics: Metrics, ref: BlobRef, blob: str
) -> Iterator[bytes]:
    try:
        yield from chunks
    except Unreadable as exc:
        _note_failure(metrics, ref, blob, exc, _AFTER_HEADERS)
        raise


def _note_failure(metrics: Metrics, ref: BlobRef, blob: str, exc: Exception, when: str) -> None:
    problem = exc.type if isinstance(exc, PhotostoreError) else "unchecked"
    metrics.blob_read_failures.labels(blob, problem, when).inc()
    if when == _AFTER_HEADERS:
        log.error("the read of %s was cut short %s: %s", ref.key, when, exc)
    elif not isinstance(exc, Unreadable):
        # A 5xx is logged where it is answered (api.problems); the rest is logged here.
        log.warning("the read of %s failed %s: %s", ref.key, when, exc)


def _etags(header: str) -> set[str]:
    return {part.strip().removeprefix("W/") for part in header.split(",")}

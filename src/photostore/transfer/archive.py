"""Export as one stream: the layout of ``transfer.layout`` as a tar archive, for
``GET /v1/export``.

Tar, not zip: a tar is a sequence of (header, bytes) with no directory at its end, so
it streams in constant memory however many originals it holds (a zip's central
directory lists every entry at the end: one record per image kept until the last byte),
and every system unpacks it (``tar xf``, the file managers of Windows 11 and macOS).
Each header needs its entry's size first: an original's size is its row's; the
document is written whole first, to a file of the process's staging folder, and then
sent, first in the archive so that a reader meets it before the originals. Every file
operation runs in a worker thread; the originals are read through
``ImageService.open_blob``, so every chunk is checked (decrypted, or against its
checksums) before it is sent, and one that fails ends the stream there.
"""

from __future__ import annotations

import functools
import tarfile
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio

from photostore.services.context import ServiceContext
from photostore.services.images import BlobRef, ImageService
from photostore.storage.base import original_key
from photostore.transfer.export import Original, originals_of, write_document
from photostore.transfer.layout import DOCUMENT

_BLOCK = 512
_CHUNK = 1024 * 1024
# Entries of a downloaded archive: files readable by their owner and others.
_MODE = 0o644


def _header(name: str, size: int, mtime: float) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), _MODE
    # PAX headers carry names longer than ustar's 100 bytes, and UTF-8 names.
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict")


def _padding(size: int) -> bytes:
    return b"\0" * (-size % _BLOCK)


class LibraryArchive:
    """A user's export as a tar stream (see the module's notes)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def stream(self, owner_id: uuid.UUID) -> AsyncIterator[bytes]:
        """The chunks of the archive of ``owner_id``'s library, made as they are read."""
        return export_archive(self.ctx, owner_id)


async def export_archive(ctx: ServiceContext, owner_id: uuid.UUID) -> AsyncIterator[bytes]:
    """The export of ``owner_id``'s library as the chunks of a tar archive."""
    folder = ctx.staging_folder()
    spool = await anyio.to_thread.run_sync(_spool_file, folder)
    try:
        out = await anyio.to_thread.run_sync(functools.partial(spool.open, "w", encoding="utf-8"))
        try:
            await write_document(ctx, owner_id, out)
        finally:
            await anyio.to_thread.run_sync(out.close)
        size = (await anyio.to_thread.run_sync(spool.stat)).st_size
        now = ctx.clock().timestamp()
        yield _header(DOCUMENT, size, now)
        document = await anyio.to_thread.run_sync(spool.open, "rb")
        try:
            while chunk := await anyio.to_thread.run_sync(document.read, _CHUNK):
                yield chunk
        finally:
            await anyio.to_thread.run_sync(document.close)
        yield _padding(size)
        images = ImageService(ctx)
        entries = await anyio.to_thread.run_sync(originals_of, spool)
        try:
            while (original := await anyio.to_thread.run_sync(_next, entries)) is not None:
                yield _header(original.path, original.byte_size, now)
                async for chunk in _original(images, owner_id, original):
                    yield chunk
                yield _padding(original.byte_size)
        finally:
            await anyio.to_thread.run_sync(entries.close)
        yield b"\0" * (2 * _BLOCK)
    finally:
        await anyio.to_thread.run_sync(functools.partial(spool.unlink, missing_ok=True))


def _spool_file(folder: Path) -> Path:
    with tempfile.NamedTemporaryFile(prefix="export-", dir=folder, delete=False) as made:
        return Path(made.name)  # mode 0600, in the process's own staging folder


def _next(entries: Iterator[Original]) -> Original | None:
    return next(entries, None)


async def _original(
    images: ImageService, owner_id: uuid.UUID, original: Original
) -> AsyncIterator[bytes]:
    ref = BlobRef(
        key=original_key(str(owner_id), original.sha256),
        byte_size=original.byte_size,
        content_type="application/octet-stream",
        etag=original.sha256,
        filename=original.path,
    )
    chunks = await images.open_blob(ref, 0, original.byte_size)
    while (chunk := await anyio.to_thread.run_sync(next, chunks, None)) is not None:
        yield chunk

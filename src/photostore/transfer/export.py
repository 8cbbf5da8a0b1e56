"""Export: one user's library as the layout of ``transfer.layout``, into a folder.

The document is written first, a page of rows at a time (``db.repositories.library``),
to ``library.json.partial``; its images are then read back from it a batch at a time
and their originals copied, each to a temporary name, checked against its sha256 and
fsynced before it is renamed into place; the document is renamed last. So a folder
holding ``library.json`` holds a whole export, and nothing of it is ever built in
memory. Each page is a transaction of its own: an image stored while the export runs
may be missing from it, one purged meanwhile ends the export with the reason.

A folder that is not empty is written into only when it holds an earlier export of the
same account (its marker says whose): the export then refreshes it, keeping every
original already there (its name holds a piece of its content address, and it was
renamed into place whole), copying the rest and writing a new document. Originals of
images deleted since stay in the folder; the document says which files belong.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import anyio

from photostore.db.repositories.library import PARTS, LibraryRows, part_key
from photostore.errors import Conflict, Unreadable
from photostore.services.context import ServiceContext
from photostore.services.images import BlobRef, ImageService
from photostore.storage.base import original_key
from photostore.transfer.document import DocumentReader, DocumentWriter, dumps
from photostore.transfer.layout import DOCUMENT, FORMAT, MARKER, VERSION, inside, original_path

# Rows a page reads, and originals a batch copies (COPIES of them at once).
PAGE_ROWS = 500
BATCH = 64
COPIES = 4

Progress = Callable[[int, int], None]
"""Told ``(originals done, originals in all)`` as an export goes."""


@dataclass(frozen=True)
class Original:
    """An original an export holds: where, and what its bytes must be."""

    path: str
    sha256: str
    byte_size: int


@dataclass(frozen=True)
class ExportDone:
    images: int
    written: int
    kept: int
    bytes_written: int


async def write_document(ctx: ServiceContext, owner_id: uuid.UUID, out: IO[str]) -> int:
    """Write the whole document of ``owner_id``'s library to ``out``; the image count."""
    header = {"exported_at": ctx.clock(), "owner": {"id": owner_id}}
    writer = await anyio.to_thread.run_sync(DocumentWriter, out, header)
    images = 0
    for part in PARTS:
        await anyio.to_thread.run_sync(writer.begin, part)
        after: list[Any] | None = None
        while True:
            async with ctx.db.for_user(owner_id) as session:
                rows = await LibraryRows(session, owner_id).page(part, after, PAGE_ROWS)
            if part == "images":
                images += len(rows)
                for row in rows:
                    row["path"] = original_path(
                        row["original_filename"], row["sha256"], row["taken_at"]
                    )
            await anyio.to_thread.run_sync(_write_rows, writer, rows)
            if len(rows) < PAGE_ROWS:
                break
            after = [rows[-1][name] for name in part_key(part)]
        await anyio.to_thread.run_sync(writer.end)
    await anyio.to_thread.run_sync(writer.close)
    return images


def _write_rows(writer: DocumentWriter, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        writer.row(row)


def originals_of(document: Path) -> Generator[Original, None, None]:
    """The originals a document (written by :func:`write_document`) lists, in order."""
    reader = DocumentReader(document, list(PARTS))
    try:
        for _ in reader.rows("tags"):
            pass
        for row, _where in reader.rows("images"):
            assert isinstance(row, dict)
            yield Original(row["path"], row["sha256"], row["byte_size"])
    finally:
        reader.close()


def open_target(target: Path, owner_id: uuid.UUID) -> None:
    """Make ``target`` an export folder of ``owner_id``, or refuse it (Conflict): a file,
    or a folder holding anything but an earlier export of the same account."""
    if target.exists() and not target.is_dir():
        raise Conflict(f"{target} is not a folder")
    if target.is_dir() and any(target.iterdir()):
        try:
            marker = json.loads((target / MARKER).read_text())
        except (OSError, ValueError) as exc:
            raise Conflict(f"{target} is not empty and holds no photostore export") from exc
        if not isinstance(marker, dict) or marker.get("format") != FORMAT:
            raise Conflict(f"{target} is not empty and holds no photostore export")
        if marker.get("owner_id") != str(owner_id):
            raise Conflict(f"{target} holds the export of another account")
    target.mkdir(parents=True, exist_ok=True)
    _write_whole(
        target / MARKER, dumps({"format": FORMAT, "version": VERSION, "owner_id": owner_id}) + "\n"
    )


def _write_whole(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)


async def export_to_folder(
    ctx: ServiceContext, owner_id: uuid.UUID, target: Path, progress: Progress | None = None
) -> ExportDone:
    """Export ``owner_id``'s library into ``target`` (see the module's notes)."""
    await anyio.to_thread.run_sync(open_target, target, owner_id)
    partial = target / (DOCUMENT + ".partial")
    out = await anyio.to_thread.run_sync(lambda: partial.open("w", encoding="utf-8"))
    try:
        images = await write_document(ctx, owner_id, out)
        await anyio.to_thread.run_sync(_sync_and_close, out)
    except BaseException:
        await anyio.to_thread.run_sync(out.close)
        raise
    copier = _Copier(ctx, owner_id, target)
    entries = await anyio.to_thread.run_sync(originals_of, partial)
    done = 0
    try:
        while batch := await anyio.to_thread.run_sync(_next_batch, entries):
            async with anyio.create_task_group() as group:
                limiter = anyio.CapacityLimiter(COPIES)
                for original in batch:
                    group.start_soon(copier.copy, original, limiter)
            done += len(batch)
            if progress is not None:
                progress(done, images)
    finally:
        await anyio.to_thread.run_sync(entries.close)
    await anyio.to_thread.run_sync(partial.replace, target / DOCUMENT)
    return ExportDone(images, copier.written, copier.kept, copier.bytes_written)


def _sync_and_close(out: IO[str]) -> None:
    out.flush()
    os.fsync(out.fileno())
    out.close()


def _next_batch(entries: Iterator[Original]) -> list[Original]:
    return [entry for _, entry in zip(range(BATCH), entries, strict=False)]


class _Copier:
    """Copies originals into an export folder, counting what it did."""

    def __init__(self, ctx: ServiceContext, owner_id: uuid.UUID, root: Path) -> None:
        self._images = ImageService(ctx)
        self._owner = str(owner_id)
        self._root = root
        self.written = 0
        self.kept = 0
        self.bytes_written = 0

    async def copy(self, original: Original, limiter: anyio.CapacityLimiter) -> None:
        async with limiter:
            path = inside(self._root, original.path, "library.json")
            if await anyio.to_thread.run_sync(_is_whole, path, original.byte_size):
                self.kept += 1
                return
            ref = BlobRef(
                key=original_key(self._owner, original.sha256),
                byte_size=original.byte_size,
                content_type="application/octet-stream",
                etag=original.sha256,
                filename=path.name,
            )
            chunks = await self._images.open_blob(ref, 0, original.byte_size)
            await anyio.to_thread.run_sync(_write_checked, chunks, path, original.sha256)
            self.written += 1
            self.bytes_written += original.byte_size


def _is_whole(path: Path, byte_size: int) -> bool:
    try:
        return path.stat().st_size == byte_size
    except FileNotFoundError:
        return False


def _write_checked(chunks: Iterator[bytes], path: Path, sha256: str) -> None:
    """Write ``chunks`` to ``path`` through a temporary name, if they hash to ``sha256``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if digest.hexdigest() != sha256:
        partial.unlink()
        raise Unreadable(f"the stored original {sha256} does not hash to its address")
    partial.replace(path)

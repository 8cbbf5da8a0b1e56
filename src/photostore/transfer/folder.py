"""Import of a folder tree of photos: its files in ``transfer.walk``'s order, a few at
once, each with the fields of its sidecar when it has one.

Twice as many files are in flight as the process has decode slots: decoding takes a
core, and the slots let no more decode at once; the others hash, stage, or wait on the
disk and the database meanwhile (``in_flight``). The queue between the walk and them
holds as many again, so memory stays bounded whatever the tree's size. Killed half-way,
an import run again finds what it stored by content and goes on with the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from photostore.domain.sidecars import SidecarFields
from photostore.errors import InvalidInput
from photostore.media import sidecars
from photostore.services.context import ServiceContext
from photostore.transfer.files import FileImporter
from photostore.transfer.summary import ImportSummary
from photostore.transfer.walk import Found, Passed, walk

SidecarLookup = Callable[[Path, Path], SidecarFields | None]
"""``(photo, root) -> fields``: what the sidecars beside a photo say, if there are any."""
IsSidecar = Callable[[Path], bool]
"""Whether a file is a sidecar (read with its photo, never imported as one)."""
Progress = Callable[[int, int], None]
"""Told ``(files done, files in all)``."""


def in_flight(ctx: ServiceContext) -> int:
    """How many files an import works on at once (see the module's notes)."""
    return 2 * max(1, ctx.settings.max_concurrent_decodes)


async def import_folder(
    ctx: ServiceContext,
    owner_id: uuid.UUID,
    root: Path,
    *,
    sidecar_for: SidecarLookup = sidecars.sidecar_for,
    is_sidecar: IsSidecar = sidecars.is_sidecar,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import every photo below ``root`` for ``owner_id``, each with the fields of its
    sidecars (``media.sidecars``; a lookup of that shape can stand in); the summary of
    what it did."""
    root = await anyio.to_thread.run_sync(root.resolve)
    summary = ImportSummary()
    importer = FileImporter(ctx, owner_id, summary)
    total = await anyio.to_thread.run_sync(_count, root, is_sidecar)
    workers = in_flight(ctx)
    send, receive = anyio.create_memory_object_stream[Found](workers)
    done = 0

    async def work(files: MemoryObjectReceiveStream[Found]) -> None:
        nonlocal done
        async with files:
            async for found in files:
                shown = found.path.relative_to(root).as_posix()
                fields = await _sidecar(summary, sidecar_for, found.path, root)
                await importer.store(found.path, shown, fields)
                done += 1
                if progress is not None:
                    progress(done, total)

    async with anyio.create_task_group() as group:
        for _ in range(workers):
            group.start_soon(work, receive.clone())
        receive.close()
        async with send:
            entries = walk(root, is_sidecar)
            while (entry := await anyio.to_thread.run_sync(_next, entries)) is not None:
                if isinstance(entry, Passed):
                    summary.skip(entry.reason, entry.path.relative_to(root).as_posix())
                else:
                    await send.send(entry)
    return summary


def _next(entries: Iterator[Found | Passed]) -> Found | Passed | None:
    return next(entries, None)


def _count(root: Path, is_sidecar: IsSidecar) -> int:
    return sum(isinstance(entry, Found) for entry in walk(root, is_sidecar))


async def _sidecar(
    summary: ImportSummary, sidecar_for: SidecarLookup, photo: Path, root: Path
) -> SidecarFields | None:
    """The photo's sidecar fields; a sidecar that cannot be read is noted, and the photo
    imported without it."""
    try:
        return await anyio.to_thread.run_sync(sidecar_for, photo, root)
    except InvalidInput as exc:
        summary.notes[exc.detail] += 1
    except OSError as exc:
        summary.notes[f"unreadable ({exc.strerror})"] += 1
    return None

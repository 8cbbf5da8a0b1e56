"""Import of an export: ``library.json`` and its originals back into a library.

The export is checked whole first (``transfer.checks``): a wrong row refuses it before
anything is stored. Then its parts are read in order, a batch at a time. Originals are
stored as any imported file is (``transfer.files``), each checked against the sha256
the document lists, a few at once; every other row is inserted under its exported id,
so an import cut short and run again goes on where it stopped, and a second import of
the same export changes nothing.

Ids are kept: another service of the photo application that refers to an image, a
face or an album by id still finds it after a move to another photostore. The one
exception is an image whose bytes the user had stored already under another id: the
rows of the export that name the exported id are given the stored one (kept in a map,
as are the ids of images passed over, whose rows are left out). Two users holding the
same ids is harmless: every key is (owner, id), and every read is one owner's.

Fields an image's owner or the analyzers set (title, description, capture time and its
source, place, favourite, trash, damaged, the upload's time) are the export's, also on
an image stored before. A vector's ``updated_at`` is the import's time: vectors are
written through their space's change log, as any write of them is.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio

from photostore.db.repositories.analysis import AnalysisRepository
from photostore.db.repositories.library import PARTS, RESTORED_IMAGE_FIELDS, LibraryRows
from photostore.db.repositories.search_documents import refresh_search_documents
from photostore.db.repositories.tags import set_image_tags
from photostore.errors import InvalidInput
from photostore.services.analysis import derived_texts, merge_labels, write_of_payload
from photostore.services.context import ServiceContext
from photostore.services.embeddings import MAX_VECTOR_BATCH, EmbeddingService, VectorItem
from photostore.transfer.checks import check_export, checked_row
from photostore.transfer.document import DocumentReader
from photostore.transfer.files import FileImporter
from photostore.transfer.folder import in_flight
from photostore.transfer.layout import DOCUMENT
from photostore.transfer.summary import ImportSummary

BATCH = 200
# What a row of these parts names an image by.
_IMAGE_REFERENCES = ("album_images", "faces", "analysis_results", "embeddings")

Progress = Callable[[int, int], None]


async def import_export(
    ctx: ServiceContext, owner_id: uuid.UUID, root: Path, progress: Progress | None = None
) -> ImportSummary:
    """Import the export in ``root`` into ``owner_id``'s library."""
    images = await anyio.to_thread.run_sync(check_export, root)
    restore = _Restore(ctx, owner_id, root, images, progress)
    reader = await anyio.to_thread.run_sync(DocumentReader, root / DOCUMENT, list(PARTS))
    try:
        for part in PARTS:
            rows = reader.rows(part)
            while batch := await anyio.to_thread.run_sync(_batch, part, rows, root):
                await restore.part(part, batch)
        await anyio.to_thread.run_sync(reader.finish)
    finally:
        await anyio.to_thread.run_sync(reader.close)
    return restore.summary


def _batch(part: str, rows: Iterator[tuple[object, str]], root: Path) -> list[dict[str, Any]]:
    return [
        checked_row(part, raw, where, root)
        for _, (raw, where) in zip(range(BATCH), rows, strict=False)
    ]


class _Restore:
    def __init__(
        self,
        ctx: ServiceContext,
        owner_id: uuid.UUID,
        root: Path,
        images: int,
        progress: Progress | None,
    ) -> None:
        self._ctx = ctx
        self._owner_id = owner_id
        self._root = root
        self._images = images
        self._progress = progress
        self.summary = ImportSummary()
        self._files = FileImporter(ctx, owner_id, self.summary)
        # Exported image id -> the stored one, or None for an image passed over; only
        # for images whose id is not kept.
        self._moved: dict[uuid.UUID, uuid.UUID | None] = {}
        self._space_names: dict[uuid.UUID, str] = {}
        self._done = 0

    async def part(self, part: str, rows: list[dict[str, Any]]) -> None:
        if part in _IMAGE_REFERENCES:
            rows = await self._held(rows)
        if part == "images":
            await self._store_images(rows)
        elif part == "embeddings":
            await self._put_vectors(rows)
        else:
            if part == "embedding_spaces":
                self._space_names.update((row["id"], row["name"]) for row in rows)
            async with self._ctx.db.for_user(self._owner_id) as session:
                await LibraryRows(session, self._owner_id).insert_new(part, rows)
                if part == "analysis_results":
                    await _derive(AnalysisRepository(session, self._owner_id), rows)
                if part in ("faces", "analysis_results"):
                    touched = list({row["image_id"] for row in rows})
                    await refresh_search_documents(session, self._owner_id, touched)

    async def _held(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``rows`` with their images' stored ids, those of images not stored left out."""
        for row in rows:
            row["image_id"] = self._moved.get(row["image_id"], row["image_id"])
        async with self._ctx.db.for_user(self._owner_id) as session:
            held = await LibraryRows(session, self._owner_id).images_held(
                {row["image_id"] for row in rows if row["image_id"] is not None}
            )
        return [row for row in rows if row["image_id"] in held]

    async def _store_images(self, rows: list[dict[str, Any]]) -> None:
        limiter = anyio.CapacityLimiter(in_flight(self._ctx))
        async with anyio.create_task_group() as group:
            for row in rows:
                group.start_soon(self._store_image, row, limiter)
        self._done += len(rows)
        if self._progress is not None:
            self._progress(self._done, self._images)

    async def _store_image(self, row: dict[str, Any], limiter: anyio.CapacityLimiter) -> None:
        async with limiter:
            path: Path = row["path"]
            view = await self._files.store(
                path,
                path.relative_to(self._root).as_posix(),
                filename=row["original_filename"],
                expected_sha256=row["sha256"],
                image_id=row["id"],
            )
        if view is None or view.image.id != row["id"]:
            self._moved[row["id"]] = None if view is None else view.image.id
        if view is None:
            return
        image_id = view.image.id
        async with self._ctx.db.for_user(self._owner_id) as session:
            fields = {name: row[name] for name in RESTORED_IMAGE_FIELDS}
            await LibraryRows(session, self._owner_id).set_image_fields(image_id, fields)
            await set_image_tags(session, self._owner_id, image_id, row["tags"])
            await refresh_search_documents(session, self._owner_id, [image_id])

    async def _put_vectors(self, rows: list[dict[str, Any]]) -> None:
        by_space: defaultdict[str, list[VectorItem]] = defaultdict(list)
        for row in rows:
            name = self._space_names.get(row["space_id"])
            if name is None:
                raise InvalidInput(
                    f"a vector names the space {row['space_id']}, which the export lacks"
                )
            by_space[name].append(VectorItem(row["image_id"], row["embedding"]))
        vectors = EmbeddingService(self._ctx)
        for name, items in by_space.items():
            for start in range(0, len(items), MAX_VECTOR_BATCH):
                await vectors.put_vectors(
                    self._owner_id, name, items[start : start + MAX_VECTOR_BATCH]
                )


async def _derive(results: AnalysisRepository, rows: list[dict[str, Any]]) -> None:
    """Make each analyzer's newest result about each image of ``rows`` its current one:
    the labels and texts derived from it, as a write of it would."""
    for image_id, analyzer in {(row["image_id"], row["analyzer"]) for row in rows}:
        newest = await results.newest(image_id, analyzer, None)
        assert newest is not None, "inserted in this transaction"
        write = write_of_payload(newest.model_version, newest.payload)
        await results.replace_derived(
            image_id, analyzer, merge_labels(write.labels), derived_texts(write)
        )

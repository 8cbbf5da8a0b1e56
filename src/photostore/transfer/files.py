"""One file of an import becomes an image, is found stored already, or is passed over.

The file is hashed first, reading it only: bytes this user stored before are known by
their sha256 without a copy or a decode (a second run of an import costs a read of each
file). New bytes are then staged as an upload is (``services.staging``: hashed again
while copied, under the size limit and the free-space floor) and stored by
``IngestService``. What a file cannot be (not an image, damaged, too large, unreadable)
is a reason in the summary; anything else (the database down, the disk full, the data
folder unwritable) is raised, and ends the import.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import anyio

from photostore.domain.images import ImageView
from photostore.domain.sidecars import SidecarFields
from photostore.errors import (
    ImageTooLarge,
    InvalidImage,
    InvalidInput,
    TooLarge,
    UnsupportedMediaType,
)
from photostore.services.context import ServiceContext
from photostore.services.ingest import IngestService
from photostore.services.staging import StagedUpload, StagingFile
from photostore.storage.space import MIB, FreeSpace
from photostore.transfer import summary as reasons
from photostore.transfer.summary import ImportSummary

_CHUNK = MIB


def content_of(path: Path) -> tuple[str, int]:
    """The sha256 and size of the file at ``path``."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def stage_copy(path: Path, folder: Path, limit: int, space: FreeSpace) -> StagedUpload:
    """A staged copy of the file at ``path``, as an upload of it would be staged."""
    staging = StagingFile(folder, limit, space, expected=path.stat().st_size)
    try:
        with path.open("rb") as source:
            while chunk := source.read(_CHUNK):
                staging.write(chunk)
        return staging.finish()
    except BaseException:
        staging.discard()
        raise


class FileImporter:
    """Stores files for one owner, counting each outcome in ``summary``."""

    def __init__(self, ctx: ServiceContext, owner_id: uuid.UUID, summary: ImportSummary) -> None:
        self._ctx = ctx
        self._owner_id = owner_id
        self._ingest = IngestService(ctx)
        self._limit = ctx.settings.max_upload_bytes
        self.summary = summary

    async def store(
        self,
        path: Path,
        shown: str,
        sidecar: SidecarFields | None = None,
        *,
        filename: str | None = None,
        expected_sha256: str | None = None,
        image_id: uuid.UUID | None = None,
    ) -> ImageView | None:
        """The image the file at ``path`` is (new or stored before), or None when it is
        passed over (``shown`` is its path in the summary). ``filename``: the name a new
        image keeps (default: the file's); ``expected_sha256``: the bytes must be these
        (an export's original); ``image_id``: a new image's id."""
        sha256 = await self._checked_content(path, shown, expected_sha256)
        if sha256 is None:
            return None
        existing = await self._ingest.stored(self._owner_id, sha256)
        if existing is not None:
            self.summary.already_stored += 1
            return existing
        skip = self.summary.skip
        try:
            staged = await anyio.to_thread.run_sync(
                stage_copy, path, self._ctx.staging_folder(), self._limit, self._ctx.free_space
            )
            if staged.sha256 != sha256:  # changed between the two reads
                await anyio.to_thread.run_sync(staged.discard)
                skip(reasons.NOT_AS_LISTED if expected_sha256 else reasons.UNREADABLE, shown)
                return None
            result = await self._ingest.ingest(
                self._owner_id,
                staged,
                filename or path.name,
                sidecar=sidecar,
                image_id=image_id,
            )
        except UnsupportedMediaType:
            skip(reasons.NOT_AN_IMAGE, shown)
        except ImageTooLarge:
            skip(reasons.TOO_MANY_PIXELS, shown)
        except InvalidImage:
            skip(reasons.DAMAGED, shown)
        except TooLarge:
            skip(reasons.TOO_LARGE, shown)
        except InvalidInput as exc:
            skip(f"refused: {exc.detail}", shown)
        else:
            if result.created:
                self.summary.stored += 1
            else:
                self.summary.already_stored += 1
            return result.view
        return None

    async def _checked_content(
        self, path: Path, shown: str, expected_sha256: str | None
    ) -> str | None:
        """The sha256 of the file, or None (and the reason noted) when it is passed over:
        unreadable, not the bytes expected, or over the size limit."""
        skip = self.summary.skip
        try:
            sha256, size = await anyio.to_thread.run_sync(content_of, path)
        except FileNotFoundError:
            skip(reasons.MISSING if expected_sha256 else reasons.UNREADABLE, shown)
            return None
        except OSError:
            skip(reasons.UNREADABLE, shown)
            return None
        if expected_sha256 is not None and sha256 != expected_sha256:
            skip(reasons.NOT_AS_LISTED, shown)
            return None
        if size > self._limit:
            skip(reasons.TOO_LARGE, shown)
            return None
        return sha256

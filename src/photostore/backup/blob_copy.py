"""Copy blobs into a target's ``objects/`` by the sha256 of their stored bytes: a blob
already there is not copied again, and every copy is checked before it is named."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path

from photostore.backup.layout import BackupRefused, StoredBlob, Target
from photostore.private_files import open_private, private_folder
from photostore.storage.base import BlobNotFound
from photostore.storage.local import LocalBlobStore

_CHUNK = 1 << 20


def write_hashed(chunks: Iterable[bytes], dest: Path) -> str:
    """Write ``chunks`` to the new private file ``dest``, on disk when this returns;
    the sha256 of the bytes written."""
    digest = hashlib.sha256()
    with open_private(dest) as out:
        for chunk in chunks:
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


class BlobGone(BackupRefused):
    """A blob to copy is not in the store (any more)."""


class BlobCopier:
    """Copies the blobs of one local blob store into a target, remembering what it did."""

    def __init__(self, blobs: LocalBlobStore, target: Target, known: dict[str, StoredBlob]) -> None:
        self._blobs = blobs
        self._target = target
        # Blobs are immutable under their key: one the last point holds with the same
        # size need not be read again.
        self._known = known
        self.copied: dict[str, StoredBlob] = {}
        self.bytes_copied = 0

    def copy(
        self,
        keys: Iterable[str],
        progress: Callable[[int], None] | None = None,
        *,
        gone_ok: bool = False,
    ) -> None:
        """Copy each of ``keys`` not copied yet by this copier; a key whose file is
        gone stops the copy (:class:`BackupRefused`), or is passed over with ``gone_ok``
        (a blob listed, then purged before its turn)."""
        for key in keys:
            if key not in self.copied:
                try:
                    self.copied[key] = self._copy_one(key)
                except BlobGone:
                    if not gone_ok:
                        raise
            if progress is not None:
                progress(1)

    def present_keys(self) -> list[str]:
        """Every key of the blob store now (the first pass, before the database)."""
        return list(self._blobs.keys())

    def _copy_one(self, key: str) -> StoredBlob:
        try:
            size = self._blobs.size(key)
        except BlobNotFound as exc:
            raise BlobGone(
                f"the blob {key} is referenced but missing from {self._blobs.root}"
            ) from exc
        known = self._known.get(key)
        if (
            known is not None
            and known.size == size
            and self._target.object_path(known.sha256).exists()
        ):
            return known
        tmp = self._target.root / "objects" / f".tmp-{secrets.token_hex(8)}"
        private_folder(tmp.parent)
        try:
            try:
                chunks = self._blobs.read_range(key, chunk_size=_CHUNK)
                stored = StoredBlob(sha256=write_hashed(chunks, tmp), size=size)
            except (BlobNotFound, FileNotFoundError) as exc:
                raise BlobGone(f"the blob {key} went from {self._blobs.root} while read") from exc
            final = self._target.object_path(stored.sha256)
            if final.exists():
                tmp.unlink()
            else:
                private_folder(final.parent)
                tmp.replace(final)
                self.bytes_copied += size
        finally:
            tmp.unlink(missing_ok=True)
        return stored


def restore_blob(target: Target, key: str, blob: StoredBlob, blobs: LocalBlobStore) -> None:
    """Store the object of ``blob`` under ``key`` in ``blobs``, checking its sha256 first."""
    source = target.object_path(blob.sha256)
    # In the store's root, so that the store moves it into place (the listing of keys
    # leaves ``.tmp-`` files out).
    tmp = blobs.root / f".tmp-restore-{secrets.token_hex(8)}"
    try:
        with source.open("rb") as src:
            digest = write_hashed(iter(lambda: src.read(_CHUNK), b""), tmp)
        if digest != blob.sha256:
            raise BackupRefused(f"the backup's copy of {key} is damaged ({source})")
        blobs.put_file(key, tmp)
    except FileNotFoundError as exc:
        raise BackupRefused(f"the backup's copy of {key} is missing ({source})") from exc
    finally:
        tmp.unlink(missing_ok=True)

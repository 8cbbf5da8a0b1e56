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


def copy_file(source: Path, dest: Path) -> str:
    """Copy ``source`` to the new private file ``dest``, on disk when this returns;
    the sha256 of the bytes copied."""
    digest = hashlib.sha256()
    with source.open("rb") as src, open_private(dest) as out:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


class BlobCopier:
    """Copies the blobs of one blob folder into a target, remembering what it did."""

    def __init__(self, blob_root: Path, target: Target, known: dict[str, StoredBlob]) -> None:
        self._root = blob_root
        self._target = target
        # Blobs are immutable under their key: one the last point holds with the same
        # size need not be read again.
        self._known = known
        self.copied: dict[str, StoredBlob] = {}
        self.bytes_copied = 0

    def copy(self, keys: Iterable[str], progress: Callable[[int], None] | None = None) -> None:
        """Copy each of ``keys`` not copied yet by this copier; a key whose file is
        gone stops the copy (:class:`BackupRefused`)."""
        for key in keys:
            if key not in self.copied:
                self.copied[key] = self._copy_one(key)
            if progress is not None:
                progress(1)

    def present_keys(self) -> list[str]:
        """Every key of the blob folder now (the first pass, before the database)."""
        if not self._root.exists():
            return []
        return sorted(
            path.relative_to(self._root).as_posix()
            for path in self._root.rglob("*")
            if path.is_file() and not path.name.startswith(".")
        )

    def _copy_one(self, key: str) -> StoredBlob:
        source = self._root / key
        try:
            size = source.stat().st_size
        except FileNotFoundError as exc:
            raise BackupRefused(
                f"the blob {key} is referenced but missing from {self._root}"
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
            stored = StoredBlob(sha256=copy_file(source, tmp), size=size)
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


def restore_blob(target: Target, key: str, blob: StoredBlob, blob_root: Path) -> None:
    """Write the object of ``blob`` to ``blob_root/key``, checking its sha256 first."""
    source = target.object_path(blob.sha256)
    dest = blob_root / key
    private_folder(dest.parent)
    tmp = dest.with_name(f".tmp-{secrets.token_hex(8)}")
    try:
        if copy_file(source, tmp) != blob.sha256:
            raise BackupRefused(f"the backup's copy of {key} is damaged ({source})")
        tmp.replace(dest)
    except FileNotFoundError as exc:
        raise BackupRefused(f"the backup's copy of {key} is missing ({source})") from exc
    finally:
        tmp.unlink(missing_ok=True)

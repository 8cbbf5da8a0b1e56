"""Backup targets written by hand for the tests of what reads them (retention, plans of
restores to a time): points with the manifests, objects and WAL names a test gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from photostore.backup.layout import Manifest, StoredBlob, Target, point_id

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def crafted_object(target: Target, name: str) -> StoredBlob:
    sha = (name * 64)[:64]
    path = target.object_path(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(name.encode() * 10)
    return StoredBlob(sha256=sha, size=10)


def crafted_point(
    target: Target, day: int, chain: list[str], objects: list[str], wal: str = ""
) -> str:
    made = EPOCH + timedelta(days=day)
    new_id = point_id(made)
    target.point_folder(new_id).mkdir(parents=True)
    target.write_manifest(
        Manifest(
            id=new_id,
            created_at=made,
            kind="incremental" if chain else "full",
            chain=[*chain, new_id],
            restore_point=f"photostore_{new_id}",
            lsn="0/0",
            wal={wal: ""} if wal else {},
            base_manifest_sha256="",
            row_counts={},
            master_key_ids=[],
            blobs={f"key-{name}": crafted_object(target, name) for name in objects},
        )
    )
    return new_id

"""``photostore keys export`` and ``keys import``: the keys of a data folder, moved
through a passphrase-sealed file (``crypto.key_export``) to another machine or a safe.

An export holds every master key the folder knows (current and retired) and its
deletion log, which both live beside the data folder and so are in no backup of it. An
import merges them into the target folder's key file and log: nothing held there is
dropped, so importing twice, or importing into a folder with keys of its own, is safe.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from photostore.config import Settings
from photostore.crypto.deletion_log import (
    Deletion,
    deletion_log_path,
    merge_deletions,
    read_deletions,
)
from photostore.crypto.key_export import ExportedKeys, KeyFileRefused, open_keys, seal_keys
from photostore.crypto.masterkeys import (
    decode_key,
    encode_key,
    keyring_for,
    master_key_id,
    merge_into_key_file,
)
from photostore.private_files import write_private_file


@dataclass(frozen=True)
class Imported:
    """What an import added: master key ids and deleted accounts the folder lacked."""

    key_ids: list[str]
    deletions: int


def folder_keys(settings: Settings) -> ExportedKeys:
    """The folder's master keys and deletion log, as an export holds them.

    Refuses (:class:`masterkeys.NoMasterKey`) when the folder has no key: this never
    makes one.
    """
    ring = keyring_for(settings, create=False)
    return ExportedKeys(
        current_id=ring.current_id,
        keys={master_key_id(k): encode_key(k) for k in (ring.current, *ring.retired)},
        deletions=[
            {"user_id": str(d.user_id), "deleted_at": d.deleted_at.isoformat()}
            for d in read_deletions(deletion_log_path(settings))
        ],
    )


def export_keys(settings: Settings, to: Path, passphrase: str) -> list[str]:
    """Write :func:`folder_keys` to ``to`` sealed under ``passphrase``; return the key ids."""
    exported = folder_keys(settings)
    write_private_file(to, seal_keys(exported, passphrase))
    return sorted(exported.keys)


def read_export(source: Path, passphrase: str) -> ExportedKeys:
    """The keys of the export file ``source``; :class:`KeyFileRefused` if it does not open."""
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise KeyFileRefused(f"cannot read {source}: {exc.strerror}") from exc
    return open_keys(data, passphrase)


def import_keys(settings: Settings, exported: ExportedKeys) -> Imported:
    """Merge ``exported`` into the folder's key file and deletion log."""
    path = settings.resolved_master_key_file
    before = keyring_for(settings, create=False).key_ids if path.exists() else frozenset()
    keys = {key_id: decode_key(text) for key_id, text in exported.keys.items()}
    for key_id, key in keys.items():
        if master_key_id(key) != key_id:
            raise KeyFileRefused(f"the key file names a key {key_id} that is not that key")
    current = keys.pop(exported.current_id)
    ring = merge_into_key_file(path, current, tuple(keys.values()))
    added = merge_deletions(
        deletion_log_path(settings),
        [
            Deletion(
                user_id=uuid.UUID(entry["user_id"]),
                deleted_at=datetime.fromisoformat(entry["deleted_at"]),
            )
            for entry in exported.deletions
        ],
    )
    return Imported(key_ids=sorted(ring.key_ids - before), deletions=added)

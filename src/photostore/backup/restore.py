"""``photostore restore``: a working data folder from a backup target, at a point.

Nothing is touched before every check passes: the point exists, the keys it needs are at
hand (a key export given with ``--keys``, or the new folder's own key file), and the new
folder is new. Then every base backup of the chain is checked against its manifest
(``pg_verifybackup``) and every WAL file against the point's manifest, the chain is
combined, the cluster recovered to the point, and every blob written back after its
sha256 is checked. A restore that fails removes what it made.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass

from photostore.backup.blob_copy import restore_blob
from photostore.backup.layout import BackupRefused, Manifest, Target, file_sha256
from photostore.config import Settings
from photostore.crypto.key_export import ExportedKeys
from photostore.crypto.key_transfer import import_keys
from photostore.crypto.masterkeys import NoMasterKey, keyring_for
from photostore.db.physical_restore import combine_backups, recover, verify_base_backup
from photostore.storage.local import LocalBlobStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    seconds: float


def check_keys(manifest: Manifest, settings: Settings, keys: ExportedKeys | None) -> None:
    """Refuse, before anything is written, a restore whose master keys are not at hand."""
    if keys is not None:
        held = set(keys.keys)
    else:
        try:
            held = set(keyring_for(settings, create=False).key_ids)
        except NoMasterKey:
            held = set()
    missing = sorted(set(manifest.master_key_ids) - held)
    if missing:
        raise BackupRefused(
            f"the point {manifest.id} needs the master keys {', '.join(missing)}, which "
            "are not at hand: give the key export with --keys FILE (made by `photostore "
            f"keys export`), or put the keys in {settings.resolved_master_key_file}"
        )


def restore_point(
    target: Target,
    point_id: str | None,
    settings: Settings,
    keys: ExportedKeys | None,
    say: Callable[[str], None] = log.info,
) -> Restored:
    """Rebuild the data folder of ``settings`` (new or empty) from ``target``."""
    began = time.monotonic()
    manifest = target.point(point_id)
    check_keys(manifest, settings, keys)
    data_dir = settings.data_dir
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupRefused(f"{data_dir} is not empty: restore into a new folder")
    chain = [target.point(link) for link in manifest.chain]
    say(f"checking the {len(chain)} base backups of point {manifest.id}")
    for link in chain:
        base = target.point_folder(link.id) / "base"
        if file_sha256(base / "backup_manifest") != link.base_manifest_sha256:
            raise BackupRefused(f"the base backup of point {link.id} has a changed manifest")
        verify_base_backup(base)
    wal = target.point_folder(manifest.id) / "wal"
    for name, digest in manifest.wal.items():
        if file_sha256(wal / name) != digest:
            raise BackupRefused(f"the WAL file {name} of point {manifest.id} is damaged")
    made = not data_dir.exists()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        say("combining the base backups")
        combine_backups(
            [target.point_folder(link.id) / "base" for link in chain], settings.embedded_pgdata
        )
        say(f"recovering the database to {manifest.restore_point}")
        recover(
            settings.embedded_pgdata, [wal / name for name in manifest.wal], manifest.restore_point
        )
        say(f"writing {len(manifest.blobs)} blobs back")
        blobs = LocalBlobStore(settings.resolved_blob_dir)
        for key, blob in manifest.blobs.items():
            restore_blob(target, key, blob, blobs)
        if keys is not None:
            import_keys(settings, keys)
    except BaseException:
        # The folder was new or empty: what is in it now is this restore's.
        shutil.rmtree(data_dir, ignore_errors=True)
        if not made:
            data_dir.mkdir(mode=0o700, exist_ok=True)
        raise
    return Restored(manifest=manifest, seconds=time.monotonic() - began)

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
from datetime import datetime

from photostore.backup.blob_copy import restore_blob
from photostore.backup.create import referenced_keys, with_chunk_sums
from photostore.backup.layout import BackupRefused, Manifest, StoredBlob, Target, file_sha256
from photostore.backup.point_in_time import archived_objects, plan_timed_restore
from photostore.config import Settings
from photostore.crypto.key_export import ExportedKeys
from photostore.crypto.key_transfer import import_keys
from photostore.crypto.masterkeys import NoMasterKey, keyring_for
from photostore.db.cluster_reads import master_key_ids, stored_originals, stored_thumbnails
from photostore.db.embedded import DATABASE, start_cluster, superuser_connect
from photostore.db.physical_restore import combine_backups, recover, verify_base_backup
from photostore.storage.local import LocalBlobStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Restored:
    manifest: Manifest  # the point restored, or the one a restore to a time started from
    seconds: float
    until: datetime | None = None


def check_keys(manifest: Manifest, settings: Settings, keys: ExportedKeys | None) -> None:
    """Refuse, before anything is written, a restore whose master keys are not at hand."""
    _check_key_ids(manifest.master_key_ids, f"the point {manifest.id}", settings, keys)


def _check_key_ids(
    needed: list[str], what: str, settings: Settings, keys: ExportedKeys | None
) -> None:
    if keys is not None:
        held = set(keys.keys)
    else:
        try:
            held = set(keyring_for(settings, create=False).key_ids)
        except NoMasterKey:
            held = set()
    missing = sorted(set(needed) - held)
    if missing:
        raise BackupRefused(
            f"{what} needs the master keys {', '.join(missing)}, which "
            "are not at hand: give the key export with --keys FILE (made by `photostore "
            f"keys export`), or put the keys in {settings.resolved_master_key_file}"
        )


def restore_point(
    target: Target,
    point_id: str | None,
    settings: Settings,
    keys: ExportedKeys | None,
    say: Callable[[str], None] = log.info,
    until: datetime | None = None,
) -> Restored:
    """Rebuild the data folder of ``settings`` (new or empty) from ``target``: at the
    point ``point_id`` (None: the newest), or at the time ``until`` through the
    target's continuous archive."""
    began = time.monotonic()
    if until is not None and point_id is not None:
        raise BackupRefused("restore to a point or to a time, not both")
    timed = plan_timed_restore(target, until) if until is not None else None
    manifest = timed.base if timed is not None else target.point(point_id)
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
        point_wal = [wal / name for name in manifest.wal]
        if timed is None:
            say(f"recovering the database to {manifest.restore_point}")
            recover(settings.embedded_pgdata, point_wal, manifest.restore_point)
            wanted = manifest.blobs
        else:
            say(
                f"recovering the database to {timed.until.isoformat()} from point "
                f"{manifest.id} and {len(timed.compressed_wal) + len(timed.plain_wal)} "
                "archived WAL files"
            )
            recover(
                settings.embedded_pgdata,
                point_wal + timed.compressed_wal,
                until=timed.until,
                plain_wal=timed.plain_wal,
            )
            wanted = _blobs_at_time(target, settings, keys)
        say(f"writing {len(wanted)} blobs back")
        blobs = LocalBlobStore(settings.resolved_blob_dir)
        for key, blob in wanted.items():
            restore_blob(target, key, blob, blobs)
        if keys is not None:
            import_keys(settings, keys)
    except BaseException:
        # The folder was new or empty: what is in it now is this restore's.
        shutil.rmtree(data_dir, ignore_errors=True)
        if not made:
            data_dir.mkdir(mode=0o700, exist_ok=True)
        raise
    return Restored(manifest=manifest, seconds=time.monotonic() - began, until=until)


def _blobs_at_time(
    target: Target, settings: Settings, keys: ExportedKeys | None
) -> dict[str, StoredBlob]:
    """The objects of the blobs the recovered database references (and a check that its
    master keys are at hand: a key rotated in after the base point counts too)."""
    cluster = start_cluster(settings.embedded_pgdata)
    try:
        with superuser_connect(cluster, DATABASE) as conn:
            _check_key_ids(master_key_ids(conn), "the restored database", settings, keys)
            wanted = referenced_keys(stored_originals(conn), stored_thumbnails(conn))
    finally:
        cluster.stop()
    objects = archived_objects(target)
    missing = [key for key in wanted if key not in objects]
    if missing:
        raise BackupRefused(
            f"{len(missing)} blobs the database references at that time are not in "
            f"{target.root} (the first: {missing[0]})"
        )
    return with_chunk_sums(wanted, objects)

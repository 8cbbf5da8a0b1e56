"""An online physical backup of the embedded cluster: a base backup (incremental after the
first, PostgreSQL 17+), a named restore point at which the database is exactly what the
backup's manifest says, and the WAL to reach it.

One :class:`BackupSession` per backup holds a superuser connection with a temporary
physical replication slot, so that the server keeps every WAL segment from the base
backup's start until the session copies them; the slot goes with the connection, so a
backup that dies leaves nothing retaining WAL.

The restore point is made while every table is locked in ``SHARE`` mode (reads go on,
writes wait): the row counts and the blob list read in that transaction are exactly the
database at the point, and the blobs new since the first blob pass are copied before the
lock is let go, so nothing the point references can be purged first.
"""

from __future__ import annotations

import contextlib
import gzip
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from photostore.db.cluster_reads import (
    StoredOriginal,
    StoredThumbnail,
    lock_every_table,
    master_key_ids,
    stored_originals,
    stored_thumbnails,
    table_row_counts,
)
from photostore.db.embedded import DATABASE, SUPERUSER, EmbeddedCluster, superuser_connect
from photostore.db.programs import PostgresProgramFailed, run_postgres_program

_WAL_NAME = re.compile(r"^[0-9A-F]{24}$")
LOCK_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class ConsistentPoint:
    """The database at a restore point: its name, and what it held."""

    name: str
    lsn: str
    wal_file: str
    row_counts: dict[str, int]
    master_key_ids: list[str]
    originals: list[StoredOriginal]
    thumbnails: list[StoredThumbnail]


class BackupSession:
    """A superuser connection for one backup, with its replication slot."""

    def __init__(self, cluster: EmbeddedCluster, conn: psycopg.Connection[Any], slot: str) -> None:
        self.cluster = cluster
        self._conn = conn
        self.slot = slot

    @classmethod
    @contextlib.contextmanager
    def open(cls, cluster: EmbeddedCluster, slot: str) -> Iterator[BackupSession]:
        """A session with the temporary slot ``slot`` (reserving WAL from now on)."""
        with superuser_connect(cluster, DATABASE) as conn:
            conn.execute("SELECT pg_create_physical_replication_slot(%s, true, true)", (slot,))
            yield cls(cluster, conn, slot)

    def turn_on_wal_summaries(self) -> bool:
        """Make the server summarize WAL (what an incremental backup reads); True if it
        was off, so the next backup must be a full one."""
        row = self._conn.execute("SHOW summarize_wal").fetchone()
        if row is not None and row[0] == "on":
            return False
        self._conn.execute("ALTER SYSTEM SET summarize_wal = on")
        self._conn.execute("SELECT pg_reload_conf()")
        return True

    def base_backup(self, into: Path, incremental_from: Path | None) -> None:
        """``pg_basebackup`` into the new folder ``into`` (plain format, SHA-256 manifest),
        incremental against the backup manifest ``incremental_from`` when given."""
        args = [
            "--pgdata", str(into),
            "--host", str(self.cluster.socket_dir),
            "--port", str(self.cluster.port),
            "--username", SUPERUSER,
            "--wal-method=stream",
            "--checkpoint=fast",
            "--manifest-checksums=SHA256",
            "--no-password",
        ]  # fmt: skip
        if incremental_from is not None:
            args.append(f"--incremental={incremental_from}")
        run_postgres_program("pg_basebackup", *args)

    def mark_consistent_point(
        self, name: str, while_locked: Callable[[list[StoredOriginal], list[StoredThumbnail]], None]
    ) -> ConsistentPoint:
        """Lock every table, read what the database holds, run ``while_locked`` with its
        blob rows (to copy the blobs), then make the restore point ``name`` and switch to
        a new WAL file, so the point's WAL is complete in ``pg_wal``."""
        with self._conn.transaction():
            # READ COMMITTED on purpose: each read below sees every commit before the
            # lock, and none can come after it until the point is made. (A REPEATABLE
            # READ snapshot would be taken by the first read, before the lock is held,
            # and miss what commits while the lock waits.)
            lock_every_table(self._conn, LOCK_TIMEOUT_SECONDS)
            counts = table_row_counts(self._conn)
            key_ids = master_key_ids(self._conn)
            originals = stored_originals(self._conn)
            thumbnails = stored_thumbnails(self._conn)
            while_locked(originals, thumbnails)
            row = self._conn.execute("SELECT pg_create_restore_point(%s)::text", (name,)).fetchone()
            assert row is not None
            lsn = str(row[0])
        row = self._conn.execute(
            "SELECT pg_walfile_name(%s::pg_lsn), pg_switch_wal()::text", (lsn,)
        ).fetchone()
        assert row is not None
        return ConsistentPoint(
            name=name,
            lsn=lsn,
            wal_file=str(row[0]),
            row_counts=counts,
            master_key_ids=key_ids,
            originals=originals,
            thumbnails=thumbnails,
        )

    def copy_wal(self, first: str, last: str, into: Path) -> list[str]:
        """Copy the WAL files ``first`` to ``last`` (names) from the server's ``pg_wal``
        into ``into``, gzip-compressed under their own names, with the timeline history
        files; the slot keeps them there."""
        self._wait_for_file(last)
        into.mkdir()  # in the point's folder, which must still be there
        source = self.cluster.pgdata / "pg_wal"
        copied = []
        for path in sorted(source.iterdir()):
            name = path.name
            wanted = (_WAL_NAME.match(name) and first[8:] <= name[8:] <= last[8:]) or name.endswith(
                ".history"
            )
            if wanted:
                # gzip: a segment is 16 MiB whatever it holds, mostly zeros or recycled
                # bytes past a switch, and most of it compresses away.
                with path.open("rb") as src, gzip.open(into / name, "wb", compresslevel=1) as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                copied.append(name)
        if last not in copied:
            raise PostgresProgramFailed(f"the WAL file {last} is missing from {source}")
        return copied

    def _wait_for_file(self, name: str) -> None:
        path = self.cluster.pgdata / "pg_wal" / name
        deadline = time.monotonic() + 30
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)


def wal_start_file(base: Path) -> str:
    """The first WAL file a base backup needs, from its ``backup_label``."""
    label = (base / "backup_label").read_text()
    found = re.search(r"START WAL LOCATION: \S+ \(file ([0-9A-F]{24})\)", label)
    if found is None:
        raise PostgresProgramFailed(f"{base / 'backup_label'} names no start WAL file")
    return found.group(1)

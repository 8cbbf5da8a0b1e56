"""Continuous WAL archiving of the embedded cluster: ``pg_receivewal`` streaming into a
folder through a permanent replication slot, and the marks that say how far it got.

The slot makes the server keep WAL the receiver has not flushed, so a receiver that was
down for a while resumes without a gap; ``max_slot_wal_keep_size`` bounds what a receiver
that never comes back can hold on the server's disk (past it the slot is given up and the
archive has a gap until the next backup point). The receiver writes the segment it is
filling as ``<name>.partial`` and renames it when full; finished segments are gzipped
here, under ``<name>.gz`` (a name ``pg_receivewal`` knows when it looks for where to
resume).
"""

from __future__ import annotations

import ctypes
import gzip
import os
import shutil
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg

from photostore.db.embedded import SUPERUSER, EmbeddedCluster
from photostore.db.programs import postgres_program, run_postgres_program

ARCHIVE_SLOT = "photostore_wal_archive"
SLOT_WAL_KEEP = "8GB"
_SEGMENT_NAME_LENGTH = 24


def _connection_args(cluster: EmbeddedCluster) -> list[str]:
    return [
        "--host", str(cluster.socket_dir),
        "--port", str(cluster.port),
        "--username", SUPERUSER,
        "--no-password",
    ]  # fmt: skip


def prepare_archiving(cluster: EmbeddedCluster, conn: psycopg.Connection[Any]) -> None:
    """Make the archive's slot (once) and bound the WAL it may hold on the server."""
    row = conn.execute("SHOW max_slot_wal_keep_size").fetchone()
    if row is None or row[0] == "-1":
        conn.execute(f"ALTER SYSTEM SET max_slot_wal_keep_size = '{SLOT_WAL_KEEP}'")
        conn.execute("SELECT pg_reload_conf()")
    run_postgres_program(
        "pg_receivewal",
        "--create-slot",
        "--if-not-exists",
        "--slot",
        ARCHIVE_SLOT,
        *_connection_args(cluster),
    )


def drop_idle_archive_slot(conn: psycopg.Connection[Any]) -> bool:
    """Drop the archive's slot unless a receiver uses it; True if there was one to drop.
    A slot nobody reads keeps WAL on the server's disk (up to ``SLOT_WAL_KEEP``)."""
    row = conn.execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
        " WHERE slot_name = %s AND NOT active",
        (ARCHIVE_SLOT,),
    ).fetchone()
    return row is not None


def _die_with_parent() -> None:
    # A receiver outliving a killed photostore would keep the slot busy for the next one.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class ReceiverStarter:
    """Starts ``pg_receivewal`` from one thread of its own, alive until :meth:`close`.

    PR_SET_PDEATHSIG fires when the *thread* that started the child ends, not its process:
    started from a worker thread of a pool (anyio ends one idle for 10 s), a receiver would
    be stopped as that thread ends.
    """

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wal-receiver")

    def start(self, cluster: EmbeddedCluster, into: Path, log: Path) -> subprocess.Popen[bytes]:
        """Start a receiver streaming into ``into`` (flushing each write); it exits when
        the connection is lost, for its caller to start it again."""
        return self._thread.submit(_start_receiver, cluster, into, log).result()

    def close(self) -> None:
        """Let the thread go (a receiver it started is stopped with it)."""
        self._thread.shutdown(wait=True)


def _start_receiver(cluster: EmbeddedCluster, into: Path, log: Path) -> subprocess.Popen[bytes]:
    args = [
        str(postgres_program("pg_receivewal")),
        "--directory", str(into),
        "--slot", ARCHIVE_SLOT,
        "--synchronous",
        "--no-loop",
        *_connection_args(cluster),
    ]  # fmt: skip
    with log.open("ab") as output:
        return subprocess.Popen(  # noqa: S603 - a bundled program, arguments as a list
            args,
            stdout=output,
            stderr=output,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - prctl only, no locks taken
        )


def mark_commit(conn: psycopg.Connection[Any]) -> str:
    """Commit a transaction that writes a commit record (a recovery to a time before now
    stops at it) and return the WAL position after it."""
    with conn.transaction():
        conn.execute("SELECT pg_current_xact_id()")
    row = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
    assert row is not None
    return str(row[0])


def archived_past(conn: psycopg.Connection[Any], lsn: str) -> bool:
    """Whether the receiver has flushed the WAL up to ``lsn`` into the archive."""
    row = conn.execute(
        "SELECT flush_lsn >= %s::pg_lsn FROM pg_stat_replication"
        " WHERE application_name = 'pg_receivewal'",
        (lsn,),
    ).fetchone()
    return bool(row is not None and row[0])


def compress_finished_segments(folder: Path) -> int:
    """Gzip each finished segment in ``folder`` to ``<name>.gz``; how many."""
    done = 0
    for path in sorted(folder.iterdir()):
        if len(path.name) == _SEGMENT_NAME_LENGTH and path.is_file():
            tmp = path.with_name(path.name + ".gz.tmp")
            with path.open("rb") as src, tmp.open("wb") as raw:
                with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1) as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                raw.flush()
                os.fsync(raw.fileno())
            tmp.replace(path.with_name(path.name + ".gz"))
            path.unlink()
            done += 1
    return done

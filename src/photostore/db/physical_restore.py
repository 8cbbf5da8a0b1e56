"""Rebuild an embedded cluster from base backups and WAL: combine the chain
(``pg_combinebackup``), recover to a named restore point, promote, and tidy up.

The WAL files go into a folder inside the new ``pgdata`` (the server's own account reads
them there, whoever runs photostore) and ``restore_command`` copies from it; once the
server has promoted, the recovery settings are reset and the folder removed, so the
restored cluster starts like any other.
"""

from __future__ import annotations

import contextlib
import gzip
import shutil
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import psycopg

from photostore.db.embedded import (
    EmbeddedCluster,
    running_cluster_socket,
    start_cluster,
    superuser_connect,
)
from photostore.db.programs import PostgresProgramFailed, hand_to_server, run_postgres_program
from photostore.private_files import FOLDER_MODE

RESTORE_WAL_FOLDER = "photostore_restore_wal"
_RECOVERY_SETTINGS = (
    "restore_command",
    "recovery_target_name",
    "recovery_target_time",
    "recovery_target_action",
)
# Files that name the processes of the backed-up cluster (the wheel's holders, the
# socket's lock in pgdata) or hold its server log: copied by pg_basebackup, wrong for
# the new one.
_FOREIGN_FILES = (".handle_pids.json", "postmaster.opts", "log", ".s.PGSQL.*.lock")
PROMOTE_WAIT_SECONDS = 300.0


def verify_base_backup(base: Path) -> None:
    """Check every file of a base backup against its manifest (``pg_verifybackup``)."""
    run_postgres_program("pg_verifybackup", "--no-parse-wal", "--quiet", str(base))


def combine_backups(chain: list[Path], pgdata: Path) -> None:
    """Write the full backup ``chain[0]`` with its incrementals applied into ``pgdata``."""
    if len(chain) == 1:
        shutil.copytree(chain[0], pgdata, symlinks=True)
    else:
        run_postgres_program("pg_combinebackup", "--output", str(pgdata), *map(str, chain))
    pgdata.chmod(FOLDER_MODE)
    for pattern in _FOREIGN_FILES:
        for path in pgdata.glob(pattern):
            path.unlink()


def recover(
    pgdata: Path,
    wal: list[Path],
    point: str | None = None,
    *,
    until: datetime | None = None,
    plain_wal: Sequence[Path] = (),
) -> None:
    """Recover the combined cluster in ``pgdata`` to the restore point ``point`` or to
    the time ``until``, using the gzip-compressed WAL files ``wal`` (named as segments,
    or ``<segment>.gz``) and the uncompressed ``plain_wal`` (the archive's segment being
    filled, ``<segment>.partial``), promote it, and leave it stopped with no recovery
    settings."""
    if point is not None:
        target = f"recovery_target_name = '{point}'"
    elif until is not None:
        target = f"recovery_target_time = '{until.isoformat()}'"
    else:
        raise ValueError("recover to a named point or to a time")
    folder = pgdata / RESTORE_WAL_FOLDER
    folder.mkdir(mode=FOLDER_MODE)
    for path in wal:
        name = path.name.removesuffix(".gz")
        with gzip.open(path, "rb") as src, (folder / name).open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    for path in plain_wal:
        shutil.copyfile(path, folder / path.name.removesuffix(".partial"))
    with (pgdata / "postgresql.auto.conf").open("a", encoding="utf-8") as conf:
        conf.write(
            f"restore_command = 'cp {RESTORE_WAL_FOLDER}/%f %p'\n"
            f"{target}\n"
            "recovery_target_action = 'promote'\n"
        )
    (pgdata / "recovery.signal").touch()
    hand_to_server(pgdata)
    cluster = start_cluster(pgdata)
    try:
        _wait_until_promoted(cluster)
        with superuser_connect(cluster, "postgres") as conn:
            for name in _RECOVERY_SETTINGS:
                conn.execute(f"ALTER SYSTEM RESET {name}")
            conn.execute("CHECKPOINT")
    finally:
        cluster.stop()
    shutil.rmtree(folder)


def _wait_until_promoted(cluster: EmbeddedCluster) -> None:
    deadline = time.monotonic() + PROMOTE_WAIT_SECONDS
    while time.monotonic() < deadline:
        if running_cluster_socket(cluster.pgdata) is None:
            # The server gave up: most often the WAL ends before the recovery target.
            raise PostgresProgramFailed(
                f"the restored cluster stopped during recovery: {_log_tail(cluster.pgdata)}"
            )
        with contextlib.suppress(psycopg.OperationalError):
            with superuser_connect(cluster, "postgres") as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            if row is not None and not row[0]:
                return
        time.sleep(0.2)
    raise PostgresProgramFailed(
        f"the restored cluster in {cluster.pgdata} did not finish recovery within "
        f"{PROMOTE_WAIT_SECONDS:.0f} s; see {cluster.pgdata / 'log'}"
    )


def _log_tail(pgdata: Path) -> str:
    """The server's last FATAL or PANIC lines (the wheel logs to ``pgdata/log``), for the
    message of a failed recovery."""
    try:
        text = (pgdata / "log").read_text(errors="replace")
    except OSError:
        return "the server left no log"
    lines = [line for line in text.splitlines() if "FATAL" in line or "PANIC" in line]
    return " / ".join(lines[-3:]) or f"see the server log {pgdata / 'log'}"

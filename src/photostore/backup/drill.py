"""``photostore backup drill``: prove a point restores, by restoring it.

The point is restored into a scratch folder (the restore checks every blob's sha256
against the manifest as it writes it), the service is started on it (a real
``photostore serve`` process, which runs every start check: the schema, the master keys)
and asked whether it is ready; then every table's row count is compared with the
manifest, every blob of the manifest must still be there, every original is decrypted and
hashed against its row, and the database is checked by ``pg_amcheck``. The report gives
the time the restore took until the service answered (the recovery time) and the age of
the newest restorable point (what a loss now would cost). The scratch folder is removed
whatever the outcome.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from photostore.backup.layout import BackupRefused, Manifest, Target
from photostore.backup.library_check import check_library
from photostore.backup.restore import restore_point
from photostore.backup.wal_archive import read_horizon
from photostore.config import Settings
from photostore.crypto.key_export import ExportedKeys
from photostore.db.cluster_reads import row_counts_in
from photostore.db.embedded import start_cluster
from photostore.services.verification import LibraryReport

log = logging.getLogger(__name__)

READY_WAIT_SECONDS = 120.0


@dataclass
class DrillReport:
    """What a drill found: the differences (none when it passed) and its timings."""

    point: Manifest
    newest_point_age_seconds: float
    archive_horizon_age_seconds: float | None = None  # None: the target has no archive
    restore_seconds: float = 0.0
    ready_seconds: float = 0.0
    library: LibraryReport = field(default_factory=LibraryReport)
    differences: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.differences

    @property
    def recovery_seconds(self) -> float:
        """From the start of the restore until the service answered ready."""
        return self.restore_seconds + self.ready_seconds


def run_drill(
    target: Target,
    point_id: str | None,
    settings: Settings,
    keys: ExportedKeys | None,
    scratch_parent: Path | None = None,
    say: Callable[[str], None] = log.info,
) -> DrillReport:
    """Restore ``point_id`` (default: the newest) of ``target`` into a scratch folder
    below ``scratch_parent`` and check it; ``settings`` gives everything but the folder."""
    newest = target.point(None)
    now = datetime.now(UTC)
    horizon = read_horizon(target)
    report = DrillReport(
        point=target.point(point_id),
        newest_point_age_seconds=(now - newest.created_at).total_seconds(),
        archive_horizon_age_seconds=None if horizon is None else (now - horizon).total_seconds(),
    )
    scratch = Path(tempfile.mkdtemp(prefix="photostore-drill-", dir=scratch_parent))
    # The embedded server's OS account (when run as root) must reach the folder.
    scratch.chmod(0o711)
    drill_settings = settings.model_copy(
        update={
            "data_dir": scratch / "data",
            "blob_dir": None,
            "master_key_file": None,
            "database_url": None,
            "migration_database_url": None,
        }
    )
    try:
        restored = restore_point(target, report.point.id, drill_settings, keys, say=say)
        report.restore_seconds = restored.seconds
        say("starting the service on the restored folder")
        report.ready_seconds = _seconds_until_ready(drill_settings)
        _compare(report, drill_settings, say)
    except BackupRefused as exc:
        report.differences.append(str(exc))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return report


def _compare(report: DrillReport, settings: Settings, say: Callable[[str], None]) -> None:
    manifest = report.point
    # The restore checked each blob's sha256 against the manifest as it wrote it; what
    # is left to see is whether the service's start (which re-applies the deletion log)
    # kept every one.
    for key in manifest.blobs:
        if not (settings.resolved_blob_dir / key).is_file():
            report.differences.append(f"blob {key}: missing after the restore")
    cluster = start_cluster(settings.embedded_pgdata)
    try:
        counts = row_counts_in(cluster)
        for table in sorted(set(counts) | set(manifest.row_counts)):
            want, got = manifest.row_counts.get(table), counts.get(table)
            if want != got:
                report.differences.append(
                    f"table {table}: {got} rows where the manifest says {want}"
                )
        say("decrypting and hashing every blob, checking the database")
        report.library = check_library(settings, cluster)
    finally:
        cluster.stop()
    report.differences += [f"database: {problem}" for problem in report.library.database]
    report.differences += [f"blob {d.key}: {d.problem}" for d in report.library.damage]
    report.differences += [f"blob {key}: in the store, no row" for key in report.library.orphans]


def _seconds_until_ready(settings: Settings) -> float:
    """Start ``photostore serve`` on the restored folder; the seconds until ``/readyz``
    answers 200. :class:`BackupRefused` with its output if it never does."""
    began = time.monotonic()
    with _serving(settings) as (process, base, output):
        while time.monotonic() - began < READY_WAIT_SECONDS:
            if process.poll() is not None:
                break
            if _answers_ready(base):
                return time.monotonic() - began
            time.sleep(0.1)
        process.terminate()
        process.wait(timeout=30)
        raise BackupRefused(
            f"the service did not start on the restored folder:\n{output.read_text()}"
        )


def _answers_ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=1) as answer:  # noqa: S310 - loopback
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


# Settings that would point the drill's service away from the scratch folder.
_FOLDER_VARIABLES = (
    "PHOTOSTORE_DATA_DIR",
    "PHOTOSTORE_BLOB_DIR",
    "PHOTOSTORE_MASTER_KEY_FILE",
    "PHOTOSTORE_DATABASE_URL",
    "PHOTOSTORE_MIGRATION_DATABASE_URL",
)


def _scratch_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _FOLDER_VARIABLES}
    env["PHOTOSTORE_LOG_LEVEL"] = "WARNING"
    return env


@contextlib.contextmanager
def _serving(settings: Settings) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    output = settings.data_dir.parent / "serve.log"
    with output.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, arguments as a list
            [
                sys.executable,
                "-m",
                "photostore",
                "serve",
                "--data-dir",
                str(settings.data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_scratch_environment(),
        )
    try:
        yield process, f"http://127.0.0.1:{port}", output
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

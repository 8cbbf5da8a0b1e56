"""The ``photostore backup``, ``restore``, ``verify`` and ``gc`` commands
(docs/operations.md, "Backup and restore")."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from photostore.cli_common import DataDir, fail, passphrase, settings_from

if TYPE_CHECKING:
    from photostore.db.cluster_reads import LibraryRows

backup_app = typer.Typer(help="Backups that restore.", no_args_is_help=True)

Target = Annotated[Path, typer.Option("--to", help="The backup folder (made if new).")]
Source = Annotated[Path, typer.Option("--from", help="A backup folder.")]
KeysFile = Annotated[
    Path | None,
    typer.Option("--keys", help="A file of `photostore keys export` holding the point's keys."),
]


@backup_app.command("create")
def backup_create(to: Target, data_dir: DataDir = None) -> None:
    """Back the data folder up into a folder, online: incremental after the first."""
    from photostore.backup.create import create_backup, open_target
    from photostore.backup.layout import BackupRefused
    from photostore.db.programs import PostgresProgramFailed

    settings = settings_from(data_dir)
    try:
        done = create_backup(settings, open_target(settings, to), say=_say)
    except (BackupRefused, PostgresProgramFailed) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"the backup into {to} failed, and made no point: {exc}")
    point = done.manifest
    typer.echo(
        f"point {point.id} ({point.kind}): base {done.base_bytes / 2**20:.1f} MiB, "
        f"{len(point.blobs)} blobs ({done.blob_bytes_copied / 2**20:.1f} MiB copied), "
        f"{point.seconds:.1f} s; needs master keys {', '.join(point.master_key_ids) or 'none'}"
    )


@backup_app.command("list")
def backup_list(source: Source) -> None:
    """The restorable points of a backup folder, oldest first."""
    from photostore.backup.layout import BackupRefused
    from photostore.backup.layout import Target as BackupTarget

    try:
        points = BackupTarget(source).check().points()
    except BackupRefused as exc:
        fail(str(exc))
    for point in points:
        images = point.row_counts.get("images", 0)
        typer.echo(
            f"{point.id}\t{point.kind}\t{point.created_at.isoformat()}\t{images} images\t"
            f"keys {','.join(point.master_key_ids) or '-'}"
        )


@backup_app.command("prune")
def backup_prune(
    source: Source,
    keep: Annotated[
        int, typer.Option(min=1, help="How many of the newest points to keep (with their chains).")
    ],
) -> None:
    """Remove the points older than the newest KEEP, and the objects only they list."""
    from photostore.backup.layout import BackupRefused
    from photostore.backup.layout import Target as BackupTarget
    from photostore.backup.retention import prune

    try:
        done = prune(BackupTarget(source).check(), keep, say=_say)
    except BackupRefused as exc:
        fail(str(exc))
    typer.echo(
        f"kept {len(done.kept_points)} points; removed {len(done.removed_points)} points, "
        f"{done.unfinished_folders} unfinished backups and {done.removed_objects} objects "
        f"({done.freed_bytes / 2**20:.1f} MiB)"
    )


def restore(
    source: Source,
    data_dir: Annotated[Path, typer.Option("--data-dir", help="The new data folder.")],
    point: Annotated[
        str | None, typer.Option(help="The point (`backup list`); default: the newest.")
    ] = None,
    to_time: Annotated[
        str | None,
        typer.Option(
            "--to-time",
            help="Restore to this time (ISO 8601; UTC without an offset) through the "
            "folder's continuous archive, instead of to a point.",
            show_default=False,
        ),
    ] = None,
    keys: KeysFile = None,
) -> None:
    """Rebuild a data folder from a backup folder, at a point or at a time."""
    from photostore.backup.layout import BackupRefused
    from photostore.backup.layout import Target as BackupTarget
    from photostore.backup.restore import restore_point
    from photostore.crypto.key_export import KeyFileRefused
    from photostore.crypto.key_transfer import read_export
    from photostore.db.programs import PostgresProgramFailed

    settings = settings_from(data_dir)
    until = None if to_time is None else _parse_time(to_time)
    try:
        exported = None if keys is None else read_export(keys, passphrase(settings, confirm=False))
        done = restore_point(
            BackupTarget(source).check(), point, settings, exported, say=_say, until=until
        )
    except (BackupRefused, KeyFileRefused, PostgresProgramFailed) as exc:
        fail(str(exc))
    reached = f"point {done.manifest.id}" if until is None else f"{until.isoformat()}"
    typer.echo(f"restored {reached} into {data_dir} in {done.seconds:.1f} s")


def _horizon(age_seconds: float | None) -> str:
    if age_seconds is None:
        return " (no continuous archive)"
    return f"; the continuous archive restores to {age_seconds:.0f} s ago"


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--to-time {text!r} is not an ISO 8601 time (e.g. 2026-12-03T14:05:00Z)")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@backup_app.command("drill")
def backup_drill(
    source: Source,
    point: Annotated[
        str | None, typer.Option(help="The point (`backup list`); default: the newest.")
    ] = None,
    keys: KeysFile = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Without --keys, the data folder whose key file holds the point's keys "
            "(default: PHOTOSTORE_DATA_DIR).",
            show_default=False,
        ),
    ] = None,
    scratch: Annotated[
        Path | None,
        typer.Option(help="Restore below this folder (default: the system's temporary one)."),
    ] = None,
) -> None:
    """Restore a point into a scratch folder and check it against its manifest.

    The service is started on the restored folder; every row count and every blob is
    compared with the manifest. Exits 1 on any difference.
    """
    from photostore.backup.drill import run_drill
    from photostore.backup.layout import BackupRefused
    from photostore.backup.layout import Target as BackupTarget
    from photostore.crypto.key_export import KeyFileRefused
    from photostore.crypto.key_transfer import folder_keys, read_export
    from photostore.crypto.masterkeys import NoMasterKey
    from photostore.db.programs import PostgresProgramFailed

    settings = settings_from(data_dir)
    try:
        if keys is not None:
            exported = read_export(keys, passphrase(settings, confirm=False))
        else:
            exported = folder_keys(settings)
        report = run_drill(
            BackupTarget(source).check(), point, settings, exported, scratch, say=_say
        )
    except NoMasterKey:
        fail(
            f"no master key at {settings.resolved_master_key_file}: give the point's keys "
            "with --keys FILE (made by `photostore keys export`) or name the data folder "
            "that holds them with --data-dir"
        )
    except (BackupRefused, KeyFileRefused, PostgresProgramFailed) as exc:
        fail(str(exc))
    library = report.library
    typer.echo(
        f"drill of point {report.point.id}: "
        f"{'passed' if report.passed else 'FAILED'}\n"
        f"  restore {report.restore_seconds:.1f} s, service ready {report.ready_seconds:.1f} s "
        f"later: recovery time {report.recovery_seconds:.1f} s\n"
        f"  newest restorable point {report.newest_point_age_seconds / 60:.1f} min old"
        f"{_horizon(report.archive_horizon_age_seconds)}\n"
        f"  {len(report.point.row_counts)} tables, {library.originals} originals and "
        f"{library.thumbnails} thumbnails checked"
    )
    for difference in report.differences:
        typer.echo(f"  difference: {difference}")
    if not report.passed:
        raise typer.Exit(code=1)


def verify(data_dir: DataDir = None) -> None:
    """Check every blob (decrypted) against its row, find orphans, check the database.

    Exits 1 on damage; orphans are reported, not removed.
    """
    from photostore.backup.library_check import check_library
    from photostore.db.embedded import start_cluster
    from photostore.db.programs import PostgresProgramFailed
    from photostore.runtime import database_runtime
    from photostore.services.master_keys import MasterKeysMissing

    settings = settings_from(data_dir)
    if not settings.uses_embedded_database:
        fail("photostore verify checks a data folder with the embedded database")
    with database_runtime(settings):
        cluster = start_cluster(settings.embedded_pgdata)
        try:
            with contextlib.ExitStack() as bars:

                def bar(rows: LibraryRows) -> Callable[[int], None]:
                    total = len(rows.originals) + len(rows.thumbnails)
                    progress = bars.enter_context(
                        typer.progressbar(length=total, label="blobs", file=sys.stderr)
                    )
                    return progress.update

                report = check_library(settings, cluster, bar)
        except (MasterKeysMissing, PostgresProgramFailed) as exc:
            fail(str(exc))
        finally:
            cluster.stop()
    typer.echo(
        f"{report.originals} originals, {report.thumbnails} thumbnails: "
        f"{len(report.damage)} damaged, {len(report.orphans)} orphans, "
        f"{len(report.unchecked)} unchecked; "
        f"database: {'; '.join(report.database) or 'sound'}"
    )
    for damage in report.damage:
        typer.echo(f"  damaged: {damage.key}: {damage.problem}")
    for orphan in report.orphans:
        typer.echo(f"  orphan: {orphan}")
    for key in report.unchecked:
        typer.echo(f"  unchecked (no chunk sums; its next read makes it again): {key}")
    if not report.sound:
        raise typer.Exit(code=1)


def gc(
    data_dir: DataDir = None,
    grace: Annotated[
        float,
        typer.Option(
            min=0,
            help="Leave orphans and partial writes younger than this many hours.",
        ),
    ] = 24.0,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be removed; remove nothing.")
    ] = False,
) -> None:
    """Remove orphan blobs, partial writes and the staging files of dead processes.

    Safe while `serve` runs: an orphan an upload is about to reference is kept.
    """
    from photostore.backup.library_check import collect_library_garbage
    from photostore.db.embedded import start_cluster
    from photostore.runtime import database_runtime

    settings = settings_from(data_dir)
    if not settings.uses_embedded_database:
        fail("photostore gc collects a data folder with the embedded database")
    with database_runtime(settings):
        cluster = start_cluster(settings.embedded_pgdata)
        try:
            with contextlib.ExitStack() as bars:

                def bar(total: int) -> Callable[[int], None]:
                    progress = bars.enter_context(
                        typer.progressbar(length=total, label="orphans", file=sys.stderr)
                    )
                    return progress.update

                report = collect_library_garbage(
                    settings, cluster, grace * 3600, dry_run=dry_run, progress=bar
                )
        finally:
            cluster.stop()
    verb = "would remove" if dry_run else "removed"
    staging = report.staging
    typer.echo(
        f"{verb} {report.originals} orphan originals, {report.thumbnails} orphan thumbnails "
        f"and {report.partial_writes} partial writes ({report.bytes / 2**20:.1f} MiB); "
        f"kept {report.young} younger than {grace:g} h and {report.in_use} still in use; "
        f"{verb} {staging.files} staging files ({staging.bytes / 2**20:.1f} MiB) of "
        f"{staging.folders} stopped processes"
    )
    for key in report.unknown:
        typer.echo(f"  left alone (not a photostore blob): {key}")


def _say(line: str) -> None:
    typer.echo(line, err=True)

"""The ``photostore import`` and ``photostore export`` commands (docs/operations.md,
"Import and export")."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from photostore.cli_common import DataDir, fail, run_with_context, settings_from

if TYPE_CHECKING:
    from photostore.services.context import ServiceContext
    from photostore.transfer.export import ExportDone
    from photostore.transfer.summary import ImportSummary

User = Annotated[str, typer.Option("--user", help="The email of the account.")]


@contextmanager
def progress_bar(what: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr, told ``(done, total)``; nothing when stderr is no TTY."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def export(
    user: User,
    to: Annotated[
        Path,
        typer.Option(
            "--to", help="The export folder: new, empty, or an earlier export of the account."
        ),
    ],
    data_dir: DataDir = None,
) -> None:
    """Export an account's library: every original byte-exact and one library.json of
    every field (docs/export-format.md); `photostore import` reads it back."""
    from photostore.services.users import UserService
    from photostore.transfer.export import export_to_folder

    started = time.monotonic()

    async def work(ctx: ServiceContext) -> ExportDone:
        owner = await UserService(ctx).by_email(user)
        with progress_bar("exporting") as progress:
            return await export_to_folder(ctx, owner.id, to, progress)

    try:
        done = run_with_context(settings_from(data_dir), work)
    except OSError as exc:
        fail(f"the export into {to} failed: {exc}")
    seconds = time.monotonic() - started
    typer.echo(
        f"exported {done.images} images to {to}: {done.written} originals written "
        f"({done.bytes_written / 2**20:.1f} MiB), {done.kept} already there; {seconds:.1f} s"
    )


def import_(
    source: Annotated[
        Path,
        typer.Argument(
            help="A folder of photos (an Immich or PhotoPrism library too), or an export.",
            exists=True,
            file_okay=False,
        ),
    ],
    user: User,
    data_dir: DataDir = None,
) -> None:
    """Import a folder tree of photos with their sidecars, or an export of `photostore
    export`, into an account. Run again, it stores what is missing and skips the rest."""
    from photostore.services.users import UserService
    from photostore.transfer.folder import import_folder
    from photostore.transfer.layout import DOCUMENT
    from photostore.transfer.restore import import_export

    started = time.monotonic()

    async def work(ctx: ServiceContext) -> ImportSummary:
        owner = await UserService(ctx).by_email(user)
        with progress_bar("importing") as progress:
            if (source / DOCUMENT).is_file():
                return await import_export(ctx, owner.id, source, progress)
            return await import_folder(ctx, owner.id, source, progress=progress)

    try:
        summary = run_with_context(settings_from(data_dir), work, stages=True)
    except OSError as exc:
        fail(f"the import stopped: {exc}; run it again to go on")
    seconds = time.monotonic() - started
    for line in summary.lines():
        typer.echo(line)
    typer.echo(f"{summary.files} files in {seconds:.1f} s")

"""What the ``photostore`` command's modules share: the data folder option, settings
from the command line, and how a command fails."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from photostore.config import Settings
from photostore.errors import PhotostoreError

if TYPE_CHECKING:
    from photostore.services.context import ServiceContext

T = TypeVar("T")

# Options that stand for a setting default to None: unset, the setting's own default or
# PHOTOSTORE_ variable applies, so that each default is written once, in Settings.
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder of the embedded database, blobs and staging files "
        f"(default: PHOTOSTORE_DATA_DIR, else {Settings.model_fields['data_dir'].default})",
        show_default=False,
    ),
]


def settings_from(data_dir: Path | None, **options: object) -> Settings:
    """The settings from the environment, with the options given on the command line."""
    given = {name: value for name, value in options.items() if value is not None}
    if data_dir is not None:
        given["data_dir"] = data_dir
    settings = Settings(**given)  # type: ignore[arg-type]
    # Resolved once, so that a change of folder later in the process changes nothing.
    return settings.model_copy(update={"data_dir": settings.data_dir.resolve()})


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


def passphrase(settings: Settings, *, confirm: bool) -> str:
    """The key export passphrase: ``PHOTOSTORE_KEYS_PASSPHRASE``, else asked for."""
    if settings.keys_passphrase is not None:
        return settings.keys_passphrase.get_secret_value()
    return str(typer.prompt("passphrase", hide_input=True, confirmation_prompt=confirm))


def run_with_context(
    settings: Settings,
    work: Callable[[ServiceContext], Awaitable[T]],
    *,
    stages: bool = False,
) -> T:
    """Run ``work`` with a service context on ``settings``' database (started if embedded);
    a photostore error is printed and exits 1. ``stages``: the context has a staging
    folder of this process's own (``services.staging_area``), for a command that stores
    files as uploads are stored."""
    from photostore.provider import open_context
    from photostore.runtime import database_runtime
    from photostore.services.master_keys import MasterKeysMissing
    from photostore.services.staging_area import StagingArea

    async def run(ready: Settings) -> T:
        staging = StagingArea.claim(ready.staging_dir) if stages else None
        ctx = await open_context(ready, staging)
        try:
            return await work(ctx)
        finally:
            await ctx.close()

    with database_runtime(settings) as ready:
        try:
            return asyncio.run(run(ready))
        except PhotostoreError as exc:
            fail(exc.detail)
        except MasterKeysMissing as exc:
            fail(str(exc))

"""The ``photostore keys`` commands: rotate, export and import the master keys
(docs/operations.md, "Encryption keys")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from photostore.cli_common import DataDir, fail, passphrase, settings_from
from photostore.config import Settings
from photostore.errors import PhotostoreError

keys_app = typer.Typer(help="Encryption keys.", no_args_is_help=True)


@keys_app.command("rotate")
def keys_rotate(data_dir: DataDir = None) -> None:
    """Re-wrap every user's data key under a new master key (blobs are not rewritten).

    With the key file (the default), a new master key is made and the old one is kept
    until every data key is re-wrapped, then forgotten. With PHOTOSTORE_MASTER_KEY,
    set it to the new key and PHOTOSTORE_RETIRED_MASTER_KEYS to the old one first.
    Stop `serve` first: a running server still holds the old key.
    """
    import asyncio

    from photostore.db.embedded import running_cluster_socket
    from photostore.runtime import database_runtime

    settings = settings_from(data_dir)
    if settings.uses_embedded_database and running_cluster_socket(settings.embedded_pgdata):
        typer.echo("stop `photostore serve` on this folder before rotating keys", err=True)
        raise typer.Exit(code=1)
    with database_runtime(settings) as ready:
        try:
            changed = asyncio.run(_rotate(ready))
        except PhotostoreError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(code=1) from exc
    typer.echo(f"re-wrapped {changed} data keys under the new master key")


async def _rotate(settings: Settings) -> int:
    from photostore.crypto.masterkeys import (
        KEY_BYTES,
        MasterKeyring,
        keyring_for,
        write_key_file,
    )
    from photostore.provider import build_context
    from photostore.services.key_rotation import rewrap_data_keys

    ring = keyring_for(settings)
    key_file = settings.resolved_master_key_file
    if settings.master_key is None:
        # Write the new key before re-wrapping anything, keeping the old ones: a crash in
        # between leaves every data key openable, and running rotate again finishes.
        import secrets

        ring = MasterKeyring(
            current=secrets.token_bytes(KEY_BYTES), retired=(ring.current, *ring.retired)
        )
        write_key_file(key_file, ring)
    ctx = build_context(settings)
    try:
        changed = await rewrap_data_keys(ctx, ring)
    finally:
        await ctx.close()
    if settings.master_key is None:
        write_key_file(key_file, MasterKeyring(current=ring.current))
    return changed


@keys_app.command("export")
def keys_export(
    to: Annotated[Path, typer.Option("--to", help="The file to write (mode 0600).")],
    data_dir: DataDir = None,
) -> None:
    """Write the folder's master keys and deletion log to a file sealed by a passphrase.

    Keep the file apart from the backups it opens (docs/operations.md, "Encryption keys").
    The passphrase is PHOTOSTORE_KEYS_PASSPHRASE, or asked for twice.
    """
    from photostore.crypto.key_export import KeyFileRefused
    from photostore.crypto.key_transfer import export_keys
    from photostore.crypto.masterkeys import NoMasterKey

    settings = settings_from(data_dir)
    try:
        key_ids = export_keys(settings, to, passphrase(settings, confirm=True))
    except (KeyFileRefused, NoMasterKey) as exc:
        fail(str(exc))
    typer.echo(f"exported master keys {', '.join(key_ids)} to {to}")


@keys_app.command("import")
def keys_import(
    source: Annotated[Path, typer.Option("--from", help="A file of `photostore keys export`.")],
    data_dir: DataDir = None,
) -> None:
    """Add the master keys and deletion log of an export file to this folder's; nothing
    the folder holds is dropped. The passphrase is PHOTOSTORE_KEYS_PASSPHRASE, or asked for.
    """
    from photostore.crypto.key_export import KeyFileRefused
    from photostore.crypto.key_transfer import import_keys, read_export

    settings = settings_from(data_dir)
    try:
        done = import_keys(settings, read_export(source, passphrase(settings, confirm=False)))
    except KeyFileRefused as exc:
        fail(str(exc))
    added = ", ".join(done.key_ids) or "none (the folder held them all)"
    typer.echo(
        f"imported master keys: {added}; deleted accounts added to the log: {done.deletions}"
    )

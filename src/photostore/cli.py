"""The ``photostore`` command: serve, migrate, user, service-keys, db, search, keys,
backup, restore, verify, gc, import, export."""

from __future__ import annotations

import signal
import uuid
from datetime import timedelta
from types import FrameType
from typing import TYPE_CHECKING, Annotated, TypeVar
from urllib.parse import quote

import typer

from photostore.auth.principal import Role
from photostore.backup_cli import backup_app, gc, restore, verify
from photostore.cli_common import DataDir, fail, run_with_context, settings_from
from photostore.config import Settings
from photostore.keys_cli import keys_app
from photostore.transfer_cli import export, import_

if TYPE_CHECKING:
    from photostore.services.context import ServiceContext

T = TypeVar("T")

app = typer.Typer(help="photostore: storage for photo applications.", no_args_is_help=True)
user_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
search_app = typer.Typer(help="The vector search engine.", no_args_is_help=True)
service_keys_app = typer.Typer(
    help="Keys of the other services of the photo application (they act for any user).",
    no_args_is_help=True,
)
app.add_typer(user_app, name="user")
app.add_typer(db_app, name="db")
app.add_typer(search_app, name="search")
app.add_typer(keys_app, name="keys")
app.add_typer(service_keys_app, name="service-keys")
deletions_app = typer.Typer(
    help="Deleted accounts, kept deleted across restores.", no_args_is_help=True
)
app.add_typer(deletions_app, name="deletions")


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to listen on (default: PHOTOSTORE_HOST, else "
            f"{Settings.model_fields['host'].default})",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="Port to listen on (default: PHOTOSTORE_PORT, else "
            f"{Settings.model_fields['port'].default})",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start the API (and the embedded PostgreSQL unless PHOTOSTORE_DATABASE_URL is set)."""
    import uvicorn

    from photostore.app import create_app
    from photostore.observability.logging import configure_logging
    from photostore.runtime import database_and_cluster

    settings = settings_from(data_dir, host=host, port=port)
    configure_logging(settings.log_level)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM and then raises the signal again;
    # turning that into an exception lets the embedded PostgreSQL stop cleanly after it.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _raise_stop)
    try:
        with database_and_cluster(settings) as (ready, cluster):
            _refuse_missing_keys(ready)
            if settings.uses_embedded_database and not (
                settings.backup_target is not None and settings.backup_archive_seconds > 0
            ):
                from photostore.backup.wal_archive import release_unused_slot

                release_unused_slot(settings)
            uvicorn.run(
                create_app(ready, embedded=cluster),
                host=settings.host,
                port=settings.port,
                log_config=None,
                access_log=False,
                # uvicorn believes X-Forwarded-For from loopback unless told otherwise:
                # one client could then name a new address per login and walk around the
                # per-address limit. Only the configured proxies are believed.
                proxy_headers=bool(settings.trusted_proxies),
                forwarded_allow_ips=settings.trusted_proxies or None,
            )
    except _StopRequested:
        typer.echo("photostore stopped", err=True)


def _refuse_missing_keys(settings: Settings) -> None:
    """Stop with the reason, before the server starts, when a master key is missing (the
    app's start checks it too, but uvicorn would bury the message in a traceback)."""
    import asyncio

    from photostore.provider import check_start
    from photostore.services.master_keys import MasterKeysMissing

    try:
        asyncio.run(check_start(settings))
    except MasterKeysMissing as exc:
        fail(str(exc))


class _StopRequested(Exception):
    """SIGINT or SIGTERM arrived: stop serving, then release the database."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _StopRequested(signal.Signals(signum).name)


@app.command()
def migrate(
    data_dir: DataDir = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Bring the schema to this revision, down if it is older (default: the "
            "newest); see docs/operations.md, 'Upgrading and downgrading'",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Apply the database migrations (or undo them down to --to) and exit."""
    from photostore.db.migrate import known_revisions, migrate_to
    from photostore.runtime import database_and_cluster, schema_owner_url

    known = known_revisions()
    if to is not None and to not in known:
        fail(f"no revision {to!r}; this photostore knows {', '.join(known)}")
    settings = settings_from(data_dir)
    with database_and_cluster(settings, migrate=False) as (_, cluster):
        migrate_to(schema_owner_url(settings, cluster), to or known[-1])
    typer.echo(f"the database schema is at {to or known[-1]}")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="The account's email (its login name).")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    data_dir: DataDir = None,
    admin: Annotated[bool, typer.Option("--admin", help="Give the admin role.")] = False,
) -> None:
    """Create an account (works whether or not `serve` runs on the same folder)."""
    from photostore.services.users import UserService

    async def create(ctx: ServiceContext) -> tuple[str, str]:
        role = Role.ADMIN if admin else Role.USER
        user = await UserService(ctx).create(email, password, role)
        return user.email, str(user.id)

    stored_email, user_id = run_with_context(settings_from(data_dir), create)
    typer.echo(f"created {'admin' if admin else 'user'} {stored_email} ({user_id})")


@service_keys_app.command("create")
def service_key_create(
    name: Annotated[str, typer.Option(help="Which service holds it, e.g. 'upload service'.")],
    scope: Annotated[
        list[str],
        typer.Option(help="A data scope (images:read, images:write, ...); repeat for more."),
    ],
    data_dir: DataDir = None,
    expires_days: Annotated[
        int | None, typer.Option(min=1, help="Expire after this many days (default: never).")
    ] = None,
) -> None:
    """Make a service key and print it once (it acts for whichever user a request names).

    Only this command makes service keys: no account can, admins included. Every admin
    sees them (GET /v1/admin/service-keys) and may revoke any.
    """
    from photostore.services.service_keys import ServiceKeyService, parse_scopes

    async def create(ctx: ServiceContext) -> tuple[str, str]:
        service = ServiceKeyService(ctx)
        expires = None if expires_days is None else ctx.clock() + timedelta(days=expires_days)
        created = await service.create(name, parse_scopes(scope), expires)
        return str(created.key.id), created.token

    key_id, token = run_with_context(settings_from(data_dir), create)
    typer.echo(f"created service key {key_id}; it is shown once:", err=True)
    typer.echo(token)


@service_keys_app.command("list")
def service_key_list(data_dir: DataDir = None) -> None:
    """Every service key (revoked ones too), newest first; never a secret."""
    from photostore.domain.keys import ServiceKey
    from photostore.services.service_keys import ServiceKeyService

    async def listed(ctx: ServiceContext) -> list[ServiceKey]:
        return await ServiceKeyService(ctx).list()

    for key in run_with_context(settings_from(data_dir), listed):
        state = "revoked" if key.revoked_at is not None else "active"
        typer.echo(f"{key.id}\t{state}\t{key.name}\t{','.join(key.scopes)}")


@service_keys_app.command("revoke")
def service_key_revoke(
    key_id: Annotated[uuid.UUID, typer.Argument(help="The id `service-keys list` shows.")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a service key: from the next request on, it is refused (401)."""
    from photostore.services.service_keys import ServiceKeyService

    async def revoke(ctx: ServiceContext) -> None:
        await ServiceKeyService(ctx).revoke(key_id)

    run_with_context(settings_from(data_dir), revoke)
    typer.echo(f"revoked service key {key_id}")


@db_app.command("url")
def db_url(data_dir: DataDir = None) -> None:
    """Print a psql connection URL for the running embedded database (superuser)."""
    from photostore.db.embedded import DATABASE, SUPERUSER, running_cluster_socket

    settings = settings_from(data_dir)
    where = running_cluster_socket(settings.embedded_pgdata)
    if where is None:
        typer.echo(
            f"the embedded database in {settings.data_dir} is not running; "
            "start `photostore serve`",
            err=True,
        )
        raise typer.Exit(code=1)
    socket_dir, port = where
    typer.echo(
        f"postgresql://{SUPERUSER}@/{DATABASE}?host={quote(str(socket_dir), safe='')}&port={port}"
    )


@search_app.command("optimize")
def search_optimize(
    data_dir: DataDir = None,
    min_vectors: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Index spaces with at least this many vectors (default: "
            "PHOTOSTORE_VECTOR_INDEX_MIN_VECTORS, else "
            f"{Settings.model_fields['vector_index_min_vectors'].default})",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Build HNSW indexes for large embedding spaces, drop those of dropped spaces."""
    from photostore.runtime import database_runtime
    from photostore.search.maintenance import optimize

    settings = settings_from(data_dir, vector_index_min_vectors=min_vectors)
    with database_runtime(settings) as ready:
        owner_url = _owner_libpq_url(settings, ready)
        report = optimize(
            owner_url,
            ready.vector_index_min_vectors,
            progress=lambda line: typer.echo(line, err=True),
        )
    typer.echo(
        f"vector indexes: {len(report.built)} built, {len(report.dropped)} dropped, "
        f"{len(report.kept)} kept"
    )


def _owner_libpq_url(settings: Settings, ready: Settings) -> str:
    """A libpq URL of the role that owns the schema (index DDL needs the owner).

    ``settings`` are the ones given (embedded or not); ``ready`` has the database URL.
    """
    from photostore.db.embedded import DATABASE, OWNER_ROLE, running_cluster_socket

    if not settings.uses_embedded_database:
        url = ready.migration_database_url or ready.database_url
        assert url is not None
        return url.replace("postgresql+psycopg://", "postgresql://", 1)
    where = running_cluster_socket(settings.embedded_pgdata)
    assert where is not None, "database_runtime started the embedded cluster"
    socket_dir, port = where
    host = quote(str(socket_dir), safe="")
    return f"postgresql://{OWNER_ROLE}@/{DATABASE}?host={host}&port={port}"


@deletions_app.command("apply")
def deletions_apply(data_dir: DataDir = None) -> None:
    """Delete again every account of the deletion log that a restore brought back.

    `serve` does this on every start; run it after restoring blobs or a database by
    hand, before anyone reads them. The log is `deletions.jsonl` beside the master key
    file (docs/operations.md, "Deleted accounts and backups").
    """
    from photostore.services.deletions import Reapplied, reapply_deletions

    async def apply(ctx: ServiceContext) -> Reapplied:
        return await reapply_deletions(ctx)

    done = run_with_context(settings_from(data_dir), apply)
    for user_id in done.accounts:
        typer.echo(f"deleted again {user_id}")
    typer.echo(f"{len(done.accounts)} accounts deleted again; the log holds {done.logged}")


# Registered here, after the commands above, for their order in --help.
app.add_typer(backup_app, name="backup")
app.command()(restore)
app.command()(verify)
app.command()(gc)
app.command()(export)
app.command("import")(import_)


def main() -> None:
    try:
        app()
    except RuntimeError as exc:
        # A database refused at start says why and what to do; a traceback would bury it.
        from photostore.db.checks import DatabaseRefused
        from photostore.db.migrate import SchemaRefused

        if not isinstance(exc, DatabaseRefused | SchemaRefused):
            raise
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None

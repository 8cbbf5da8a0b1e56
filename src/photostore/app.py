"""The ASGI application: ``create_app(settings)`` builds it; the lifespan owns resources."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
from fastapi import FastAPI
from starlette.types import ASGIApp

if TYPE_CHECKING:
    from photostore.backup.schedule import BackupSchedule

from photostore.api import (
    admin,
    albums,
    analysis,
    api_keys,
    batches,
    changes,
    embeddings,
    export,
    faces,
    health,
    image_batches,
    images,
    people,
    search,
    tags,
    users,
)
from photostore.api.headers import SecurityHeadersMiddleware
from photostore.api.openapi_document import complete_document, operation_id
from photostore.api.problems import error_response, install_problem_handlers
from photostore.auth.signing import signing_key_for
from photostore.auth.tokens import TokenCodec
from photostore.config import Settings
from photostore.db.embedded import EmbeddedCluster
from photostore.db.supervisor import PostmasterSupervisor
from photostore.media.decode import configure_vips
from photostore.observability.audit import AuditMiddleware
from photostore.observability.middleware import Metrics, RequestContextMiddleware
from photostore.provider import open_context
from photostore.services.context import ServiceContext
from photostore.services.deletions import reapply_deletions
from photostore.services.staging_area import StagingArea, sweep_staging
from photostore.storage.space import MIB

log = logging.getLogger(__name__)


def _log_sweep(root: Path) -> None:
    swept = sweep_staging(root)
    if swept.folders or swept.files:
        log.info(
            "removed %d staging files (%d bytes) of %d stopped processes",
            swept.files,
            swept.bytes,
            swept.folders,
        )


async def _sweep_staging_forever(root: Path, interval: float) -> None:
    """Remove the staging folders of processes that died, every ``interval`` seconds,
    so that their plaintext uploads do not wait for a start (``services.staging_area``)."""
    while True:
        await anyio.sleep(interval)
        try:
            await anyio.to_thread.run_sync(_log_sweep, root)
        except OSError:
            log.warning("the staging sweep failed; it runs again in %s s", interval, exc_info=True)


def _start_backups(
    settings: Settings, app: FastAPI, background: anyio.abc.TaskGroup
) -> BackupSchedule | None:
    """The backup schedule of ``serve`` when ``backup_target`` is set, and the
    continuous archive unless turned off, running in ``background``, with the schedule's
    figures in the app's metrics."""
    if settings.backup_target is None:
        return None
    from photostore.backup.schedule import BackupMetrics, BackupSchedule
    from photostore.backup.wal_archive import WalArchive

    schedule = BackupSchedule(settings)
    app.state.metrics.registry.register(BackupMetrics(schedule))
    background.start_soon(schedule.run)
    if settings.backup_archive_seconds > 0:
        background.start_soon(WalArchive(settings).run, settings.backup_archive_seconds)
    return schedule


async def _before_first_request(ctx: ServiceContext, settings: Settings) -> None:
    """What a start does with the database and the disk before it serves."""
    # A database restored from a backup must not serve an account deleted since the
    # backup was taken (services.deletions).
    reapplied = await reapply_deletions(ctx)
    if reapplied.accounts:
        log.warning(
            "deleted again %d accounts a restore had brought back (the deletion log holds %d)",
            len(reapplied.accounts),
            reapplied.logged,
        )
    if ctx.free_space.below_floor():
        # Started anyway: reads need no room, and the floor is kept for the database.
        log.warning(
            "only %d MiB free on the data folder's disks, under the %d MiB kept free "
            "(PHOTOSTORE_MIN_FREE_DISK_MB): uploads are refused with 507 until space is freed",
            ctx.free_space.free_bytes() // MIB,
            settings.min_free_disk_mb,
        )


def _supervise(embedded: EmbeddedCluster | None, interval: float) -> asyncio.Task[None] | None:
    """The task keeping the ``embedded`` cluster running, if there is one to keep."""
    if embedded is None or interval <= 0:
        return None
    return asyncio.create_task(PostmasterSupervisor(embedded, interval).run())


class PhotostoreApp(FastAPI):
    """FastAPI with the security headers outermost, outside Starlette's error middleware,
    so that even an unexpected error's 500 carries them (``api.headers``)."""

    def build_middleware_stack(self) -> ASGIApp:
        pages = (self.docs_url, self.swagger_ui_oauth2_redirect_url, self.redoc_url)
        return SecurityHeadersMiddleware(super().build_middleware_stack(), pages)

    def openapi(self) -> dict[str, Any]:
        """FastAPI's document with every answer the routes really give
        (``api.openapi_document``)."""
        if self.openapi_schema is None:
            complete_document(super().openapi(), self.routes)
        return super().openapi()


def create_app(settings: Settings, embedded: EmbeddedCluster | None = None) -> FastAPI:
    """The photostore API for ``settings`` (whose ``database_url`` must be set); with the
    ``embedded`` cluster it runs on, the lifespan keeps that running (``db.supervisor``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_vips()
        _log_sweep(settings.staging_dir)
        signing = signing_key_for(settings)
        staging = StagingArea.claim(settings.staging_dir)
        try:
            ctx = await open_context(settings, staging)
        except BaseException:
            staging.release()
            raise
        supervising: asyncio.Task[None] | None = None
        try:
            await _before_first_request(ctx, settings)
            app.state.ctx = ctx
            app.state.tokens = TokenCodec(
                signing.secret,
                settings.token_issuer,
                settings.token_audience,
                timedelta(minutes=settings.access_token_minutes),
                refresh_lifetime=timedelta(days=settings.refresh_token_days),
                key_id=signing.key_id,
            )
            supervising = _supervise(embedded, settings.embedded_database_check_seconds)
            async with anyio.create_task_group() as background:
                background.start_soon(
                    _sweep_staging_forever, settings.staging_dir, settings.staging_sweep_seconds
                )
                app.state.backups = _start_backups(settings, app, background)
                yield
                background.cancel_scope.cancel()
        finally:
            if supervising is not None:
                # Before the pools close: a restart under way finishes, none begins after.
                supervising.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await supervising
            await ctx.close()

    app = PhotostoreApp(
        title="photostore",
        version="0.1.0",
        summary="Storage of users' photos, metadata, analysis results and vectors.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    metrics = Metrics()
    app.state.metrics = metrics
    install_problem_handlers(app)
    # In this order: a route of an earlier router wins where two paths could match.
    for module in (
        health,
        users,
        export,
        image_batches,
        images,
        embeddings,
        analysis,
        batches,
        changes,
        faces,
        people,
        tags,
        albums,
        search,
        api_keys,
        admin,
    ):
        app.include_router(module.router)
    # Inside RequestContextMiddleware (added after it, so it wraps this one): the request
    # id is known when the audit row is written.
    app.add_middleware(AuditMiddleware, answer=error_response)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app

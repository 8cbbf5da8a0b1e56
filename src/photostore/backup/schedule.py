"""Scheduled backups in ``serve``: a point every ``backup_interval_minutes`` into
``backup_target``, then retention, and the age of the newest point for health and metrics.

When the newest point is due is read from the target, not remembered: several ``serve``
processes of one data folder each run a schedule, the first to take the target's lock
makes the point, and the others find it there and wait for the next one. A failed
backup is logged and counted and tried again after ``RETRY_SECONDS`` (or the interval,
if shorter); it never stops the service.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import anyio
import psycopg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from photostore.backup.create import create_backup, open_target
from photostore.backup.layout import BackupRefused, Target, TargetBusy
from photostore.backup.retention import prune
from photostore.backup.wal_archive import read_horizon
from photostore.config import Settings
from photostore.db.embedded import held_cluster
from photostore.db.programs import PostgresProgramFailed

log = logging.getLogger(__name__)

RETRY_SECONDS = 15 * 60.0
# How often a waiting schedule looks at the target again (another process may have made
# the point, or an operator a manual one).
RECHECK_SECONDS = 60.0


class BackupSchedule:
    """The backup schedule of one ``serve`` process."""

    def __init__(self, settings: Settings) -> None:
        assert settings.backup_target is not None
        self._settings = settings
        self._target = Target(settings.backup_target)
        self._interval = settings.backup_interval_minutes * 60
        self.failures = 0
        self.last_failure_at: datetime | None = None
        self._retry_at: datetime | None = None

    def newest_point_age_seconds(self, now: datetime | None = None) -> float | None:
        """Seconds since the newest restorable point was made; None before the first."""
        try:
            newest = self._target.newest_point_time()
        except OSError:
            return None
        if newest is None:
            return None
        return ((now or datetime.now(UTC)) - newest).total_seconds()

    def seconds_until_due(self, now: datetime) -> float:
        """How long until the next backup should start (0: now)."""
        if self._retry_at is not None and now < self._retry_at:
            return (self._retry_at - now).total_seconds()
        age = self.newest_point_age_seconds(now)
        return 0.0 if age is None else max(0.0, self._interval - age)

    async def run(self) -> None:
        """Back up whenever a point is due, until cancelled."""
        while True:
            wait = self.seconds_until_due(datetime.now(UTC))
            if wait > 0:
                await anyio.sleep(min(wait, RECHECK_SECONDS))
                continue
            # A backup runs for minutes and cannot be interrupted halfway in a thread;
            # at a stop the process leaves it, and the folder of the point it did not
            # finish is no point (the next prune removes it).
            await anyio.to_thread.run_sync(self.back_up, abandon_on_cancel=True)

    def back_up(self) -> None:
        """Make one point and prune the target; failures are logged and counted."""
        # The service's settings name the embedded cluster's URL; the settings checked
        # that backups are configured only for the embedded database.
        folder_settings = self._settings.model_copy(update={"database_url": None})
        try:
            target = open_target(folder_settings, self._target.root)
            done = create_backup(
                folder_settings,
                target,
                full_every=self._settings.backup_full_every,
                cluster=held_cluster(folder_settings.embedded_pgdata),
            )
            prune(target, self._settings.backup_keep)
        except TargetBusy:
            log.info("another backup is writing to the target; looking again later")
            self._retry_in(RECHECK_SECONDS)
            return
        # psycopg.Error: the database down or restarting (db.supervisor) as the point began.
        except (BackupRefused, PostgresProgramFailed, OSError, RuntimeError, psycopg.Error):
            self.failures += 1
            self.last_failure_at = datetime.now(UTC)
            self._retry_in(min(RETRY_SECONDS, self._interval))
            log.exception("the scheduled backup failed, and made no point")
            return
        self._retry_at = None
        log.info(
            "scheduled backup: point %s (%s), %d blobs, %.1f s",
            done.manifest.id,
            done.manifest.kind,
            len(done.manifest.blobs),
            done.manifest.seconds,
        )

    def _retry_in(self, seconds: float) -> None:
        self._retry_at = datetime.now(UTC) + timedelta(seconds=seconds)

    def archive_horizon_age_seconds(self) -> float | None:
        """Seconds since the continuous archive's horizon; None without one."""
        horizon = read_horizon(self._target)
        return None if horizon is None else (datetime.now(UTC) - horizon).total_seconds()

    def status(self) -> dict[str, object]:
        """The schedule's state as ``/readyz`` reports it."""
        age = self.newest_point_age_seconds()
        horizon_age = self.archive_horizon_age_seconds()
        return {
            "newest_point_age_seconds": None if age is None else round(age, 1),
            "archive_horizon_age_seconds": None if horizon_age is None else round(horizon_age, 1),
            "interval_seconds": self._interval,
            "failures": self.failures,
            "last_failure_at": (
                None if self.last_failure_at is None else self.last_failure_at.isoformat()
            ),
        }


class BackupMetrics(Collector):
    """The schedule's figures for ``/metrics``, read at each scrape."""

    def __init__(self, schedule: BackupSchedule) -> None:
        self._schedule = schedule

    def collect(self) -> Iterator[Metric]:
        age = self._schedule.newest_point_age_seconds()
        if age is not None:
            yield GaugeMetricFamily(
                "photostore_backup_newest_point_age_seconds",
                "Seconds since the newest restorable backup point was made",
                value=age,
            )
        horizon_age = self._schedule.archive_horizon_age_seconds()
        if horizon_age is not None:
            yield GaugeMetricFamily(
                "photostore_backup_archive_horizon_age_seconds",
                "Seconds since the latest time a restore through the continuous archive reaches",
                value=horizon_age,
            )
        yield CounterMetricFamily(
            "photostore_backup_failures",
            "Scheduled backups that failed since the process started",
            value=self._schedule.failures,
        )

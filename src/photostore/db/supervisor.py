"""Keeping the embedded PostgreSQL running while ``serve`` runs, without an operator.

Every ``PHOTOSTORE_EMBEDDED_DATABASE_CHECK_SECONDS`` a ``serve`` process reads the
cluster's ``postmaster.pid`` and looks for its process (no connection, no query). When
the postmaster is gone (killed, crashed, taken by the out-of-memory killer) it starts it
again, with the socket folder it had, so the URL every pool holds stays right; the
server replays its WAL (crash recovery) before it takes connections. Meanwhile requests
answer 503 with Retry-After (``db.errors``), and the first ones after it succeed: a pool
drops its dead connections at the first that fails (``db.session``).

Several processes may share one cluster: the restart runs under the wheel's lock
(``db.postmaster.cluster_lock``) and checks again inside it, so one process starts the
server and the others find it running. Each then points its handle at the new postmaster,
so a clean stop of the last of them stops it, as it would have stopped the first one.

A start that fails (the killed server's backends not yet gone, a full disk) is logged and
tried again at the next check.
"""

from __future__ import annotations

import logging
import subprocess
import time

import anyio

from photostore.db.embedded import EmbeddedCluster
from photostore.db.postmaster import adopt_running_postmaster, cluster_lock, live_postmaster_pid
from photostore.db.programs import PostgresProgramFailed, run_pg_ctl

log = logging.getLogger(__name__)

# Crash recovery replays the WAL written since the last checkpoint (up to max_wal_size).
START_WAIT_SECONDS = 300


def restart_if_gone(cluster: EmbeddedCluster) -> bool:
    """Start ``cluster``'s postmaster again if none runs; True if this call started it.

    Whichever process started it, this one's handle then points at the running one.
    """
    with cluster_lock():
        started = live_postmaster_pid(cluster.pgdata) is None
        if started:
            run_pg_ctl(
                cluster.pgdata,
                "start",
                "--wait",
                f"--timeout={START_WAIT_SECONDS}",
                # As the wheel starts it: no TCP at all, the socket where it was.
                "-o",
                '-h ""',
                "-o",
                f"-k {cluster.socket_dir}",
                "-l",
                str(cluster.pgdata / "log"),
                timeout=START_WAIT_SECONDS + 30,
            )
        adopt_running_postmaster(cluster.handle, cluster.pgdata)
    return started


class PostmasterSupervisor:
    """Checks the embedded cluster every ``interval`` seconds, restarting it when gone."""

    def __init__(self, cluster: EmbeddedCluster, interval: float) -> None:
        self.cluster = cluster
        self.interval = interval
        self.known_pid = live_postmaster_pid(cluster.pgdata)

    async def run(self) -> None:
        """Check until cancelled (the lifespan's end); a restart under way finishes first:
        the worker thread is not abandoned."""
        while True:
            await anyio.sleep(self.interval)
            await anyio.to_thread.run_sync(self.check)

    def check(self) -> None:
        """One check: nothing when the known postmaster runs; the handle pointed at a new
        one another process started; else a restart."""
        pid = live_postmaster_pid(self.cluster.pgdata)
        if pid is not None:
            if pid != self.known_pid:
                with cluster_lock():
                    adopt_running_postmaster(self.cluster.handle, self.cluster.pgdata)
                log.warning("the embedded PostgreSQL runs again (pid %d), started elsewhere", pid)
                self.known_pid = pid
            return
        log.warning(
            "the embedded PostgreSQL (pid %s) in %s is gone; starting it again",
            self.known_pid,
            self.cluster.pgdata,
        )
        began = time.monotonic()
        try:
            started = restart_if_gone(self.cluster)
        except (PostgresProgramFailed, subprocess.TimeoutExpired, OSError) as exc:
            log.warning("the embedded PostgreSQL did not start (%s); trying again", exc)
            return
        self.known_pid = live_postmaster_pid(self.cluster.pgdata)
        log.warning(
            "the embedded PostgreSQL runs again (pid %s, %s in %.1f s)",
            self.known_pid,
            "restarted by this process" if started else "started by another process",
            time.monotonic() - began,
        )

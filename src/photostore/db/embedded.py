"""The embedded PostgreSQL: a pgserver cluster inside the data folder.

pgserver ships PostgreSQL 16 with pgvector and starts it listening on a Unix socket only
(no TCP port), so nothing outside this machine can reach it. Several photostore
processes may share one cluster: pgserver counts the processes holding it and the last
one to let go stops the server cleanly.

The cluster holds two roles besides the superuser:

* ``photostore_owner`` owns the schema and runs migrations;
* ``photostore_app`` is what the service connects as: not a superuser, not the owner of
  any table, not BYPASSRLS, so row-level security always applies to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import psycopg
from psycopg import sql

from photostore.db.rls import DEFAULT_APP_ROLE

log = logging.getLogger(__name__)

OWNER_ROLE = "photostore_owner"
APP_ROLE = DEFAULT_APP_ROLE
DATABASE = "photostore"
SUPERUSER = "postgres"


@dataclass(frozen=True)
class EmbeddedCluster:
    """A running embedded cluster and how to reach it."""

    pgdata: Path
    socket_dir: Path
    port: int
    handle: Any  # pgserver.PostgresServer; untyped third-party object

    def url(self, role: str, database: str = DATABASE, *, driver: str = "psycopg") -> str:
        """A SQLAlchemy URL (``driver`` set) or a libpq URL (``driver=""``) for ``role``."""
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        host = quote(str(self.socket_dir), safe="")
        return f"{scheme}://{role}@/{database}?host={host}&port={self.port}"

    def stop(self) -> None:
        """Let go of the cluster; pgserver stops it when no other process holds it."""
        self.handle.cleanup()


def start_cluster(pgdata: Path) -> EmbeddedCluster:
    """Start (or join) the embedded cluster in ``pgdata`` and make sure roles exist."""
    from pgserver.postgres_server import (
        get_server,
    )  # imported here: it touches the file system on import

    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_holders(pgdata)
    log.info("starting embedded PostgreSQL in %s", pgdata)
    handle = get_server(pgdata, cleanup_mode="stop")
    info = handle.get_postmaster_info()
    cluster = EmbeddedCluster(
        pgdata=pgdata, socket_dir=Path(info.socket_dir), port=int(info.port), handle=handle
    )
    ensure_roles(cluster)
    return cluster


def _forget_dead_holders(pgdata: Path) -> None:
    """Drop processes that died without letting go from pgserver's list of holders.

    pgserver stops the cluster when its last holder exits; a holder killed outright
    (SIGKILL, power cut) stays listed and would keep the cluster running for ever.
    """
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList

    holders_file = pgdata / ".handle_pids.json"
    if not holders_file.exists():
        return
    with PostgresServer._lock:  # pgserver's own inter-process lock
        holders = DiskList(holders_file)
        alive = [pid for pid in holders.get() if psutil.pid_exists(pid)]
        holders.put(alive)


def running_cluster_socket(pgdata: Path) -> tuple[Path, int] | None:
    """Where a cluster already running in ``pgdata`` listens, or None if none runs."""
    from pgserver.utils import PostmasterInfo

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

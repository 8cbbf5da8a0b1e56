"""What backups, drills and verification read of a whole embedded database, as its
superuser over the Unix socket: row counts of every table, the blob rows, and when the
oldest open transaction began (for ``photostore gc``).

These are an operator's reads of every user's rows at once (a backup copies them all
anyway); they never run on a request's path, whose statements stay scoped by owner and
row-level security.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from photostore.db.embedded import DATABASE, SUPERUSER, EmbeddedCluster, superuser_connect
from photostore.db.programs import PostgresProgramFailed, run_postgres_program

_TABLES = (
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
    "AND tablename <> 'alembic_version' ORDER BY tablename"
)


@dataclass(frozen=True)
class StoredOriginal:
    """A row of ``blobs``: an original file that must be in the blob store."""

    owner_id: uuid.UUID
    sha256: str
    byte_size: int


@dataclass(frozen=True)
class StoredThumbnail:
    """A row of ``derivatives``: a thumbnail that must be in the blob store."""

    owner_id: uuid.UUID
    image_id: uuid.UUID
    kind: str
    byte_size: int


def table_row_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Rows of every table of the schema, by table name (in the connection's snapshot)."""
    counts = {}
    for (table,) in conn.execute(_TABLES).fetchall():
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone()
        counts[table] = int(row[0]) if row is not None else 0
    return counts


def lock_every_table(conn: psycopg.Connection[Any], timeout_seconds: float) -> None:
    """Hold off every write (``SHARE`` mode: reads go on) until the transaction ends."""
    tables = [row[0] for row in conn.execute(_TABLES).fetchall()]
    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{timeout_seconds}s")))
    conn.execute(
        sql.SQL("LOCK TABLE {} IN SHARE MODE").format(
            sql.SQL(", ").join(sql.Identifier(t) for t in tables)
        )
    )


def stored_originals(conn: psycopg.Connection[Any]) -> list[StoredOriginal]:
    """Every original the database references."""
    rows = conn.execute("SELECT owner_id, sha256, byte_size FROM blobs ORDER BY 1, 2")
    return [StoredOriginal(*row) for row in rows.fetchall()]


def stored_thumbnails(conn: psycopg.Connection[Any]) -> list[StoredThumbnail]:
    """Every thumbnail the database references."""
    rows = conn.execute(
        "SELECT owner_id, image_id, kind, byte_size FROM derivatives ORDER BY 1, 2, 3"
    )
    return [StoredThumbnail(*row) for row in rows.fetchall()]


def oldest_transaction_start(conn: psycopg.Connection[Any]) -> datetime | None:
    """When the oldest transaction still open on the connection's database began (the
    connection's own aside); None when no other is open."""
    row = conn.execute(
        "SELECT min(xact_start) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ).fetchone()
    return None if row is None else row[0]


def master_key_ids(conn: psycopg.Connection[Any]) -> list[str]:
    """The master keys the stored data keys are wrapped under."""
    rows = conn.execute("SELECT master_key_id FROM master_key_uses WHERE data_keys > 0 ORDER BY 1")
    return [row[0] for row in rows.fetchall()]


@dataclass(frozen=True)
class LibraryRows:
    """The blob rows of the whole database."""

    originals: list[StoredOriginal]
    thumbnails: list[StoredThumbnail]


def read_library(cluster: EmbeddedCluster) -> LibraryRows:
    """Every original and thumbnail row, read in one snapshot."""
    with superuser_connect(cluster, DATABASE) as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return LibraryRows(stored_originals(conn), stored_thumbnails(conn))


def oldest_transaction_in(cluster: EmbeddedCluster) -> datetime | None:
    """:func:`oldest_transaction_start` of the photostore database, read now."""
    with superuser_connect(cluster, DATABASE) as conn:
        return oldest_transaction_start(conn)


def row_counts_in(cluster: EmbeddedCluster) -> dict[str, int]:
    """Rows of every table, read in one snapshot."""
    with superuser_connect(cluster, DATABASE) as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return table_row_counts(conn)


def database_damage(cluster: EmbeddedCluster) -> list[str]:
    """What ``pg_amcheck`` (tables and B-tree indexes) and the server's page checksum
    counts find wrong in the database; empty when nothing is."""
    problems = []
    try:
        run_postgres_program(
            "pg_amcheck",
            "--host", str(cluster.socket_dir),
            "--port", str(cluster.port),
            "--username", SUPERUSER,
            "--no-password",
            # The amcheck extension, made on first use (the checks need it).
            "--install-missing",
            DATABASE,
        )  # fmt: skip
    except PostgresProgramFailed as exc:
        problems.append(str(exc))
    with superuser_connect(cluster, DATABASE) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(checksum_failures), 0) FROM pg_stat_database"
        ).fetchone()
    if row is not None and int(row[0]) > 0:
        problems.append(f"{row[0]} data page checksum failures since the server started")
    return problems

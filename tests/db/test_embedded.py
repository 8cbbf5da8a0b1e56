"""The embedded engine: what a cluster photostore creates runs and holds."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from photostore.db.embedded import (
    ENGINE_MAJOR,
    EmbeddedCluster,
    EngineMismatch,
    refuse_other_engine,
)
from photostore.db.tuning import GIB, MIB, embedded_server_settings, machine_memory_bytes


def _settings_of(cluster: EmbeddedCluster, *names: str) -> dict[str, str]:
    with psycopg.connect(cluster.url("postgres", "postgres", driver=""), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name", (list(names),)
        ).fetchall()
    return dict(rows)


def test_the_embedded_engine_is_postgresql_18_with_pgvector_0_8_and_pg_trgm(
    pg_cluster: EmbeddedCluster,
) -> None:
    with psycopg.connect(
        pg_cluster.url("postgres", "postgres", driver=""), autocommit=True
    ) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
        available: dict[str, str] = dict(
            conn.execute(
                "SELECT name, default_version FROM pg_available_extensions "
                "WHERE name IN ('vector', 'pg_trgm', 'amcheck')"
            ).fetchall()
        )
    assert version is not None
    assert int(version[0]) // 10000 == ENGINE_MAJOR
    major, minor = (int(part) for part in available["vector"].split(".")[:2])
    assert (major, minor) >= (0, 8)
    assert {"pg_trgm", "amcheck"} <= available.keys()


def test_a_new_cluster_has_checksums_and_settings_sized_for_the_machine(
    pg_cluster: EmbeddedCluster,
) -> None:
    sized = embedded_server_settings(machine_memory_bytes())
    actual = _settings_of(
        pg_cluster, "data_checksums", "max_connections", "summarize_wal", "wal_level"
    )
    assert actual == {
        "data_checksums": "on",
        "max_connections": sized["max_connections"],
        "summarize_wal": "on",
        "wal_level": "replica",
    }
    with psycopg.connect(
        pg_cluster.url("postgres", "postgres", driver=""), autocommit=True
    ) as conn:
        shared_buffers = conn.execute(
            "SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers'"
        ).fetchone()
    assert shared_buffers is not None
    assert f"{shared_buffers[0] // MIB}MB" == sized["shared_buffers"]


@pytest.mark.parametrize(
    ("memory", "shared_buffers", "work_mem", "max_connections"),
    [
        (2 * GIB, "512MB", "5MB", "100"),
        (24 * GIB, "6144MB", "30MB", "200"),
        (256 * GIB, "8192MB", "64MB", "200"),
    ],
)
def test_server_settings_grow_with_memory_within_caps(
    memory: int, shared_buffers: str, work_mem: str, max_connections: str
) -> None:
    settings = embedded_server_settings(memory)
    assert settings["shared_buffers"] == shared_buffers
    assert settings["work_mem"] == work_mem
    assert settings["max_connections"] == max_connections


def test_a_container_memory_limit_wins_over_the_machine(tmp_path: Path) -> None:
    limit = tmp_path / "memory.max"
    limit.write_text(f"{512 * MIB}\n")
    assert machine_memory_bytes(limit) == 512 * MIB
    limit.write_text("max\n")
    assert machine_memory_bytes(limit) > 512 * MIB
    assert machine_memory_bytes(tmp_path / "absent") == machine_memory_bytes(limit)


def test_a_cluster_of_another_major_version_is_refused_with_how_to_move(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    (pgdata / "PG_VERSION").write_text("16\n")
    with pytest.raises(EngineMismatch, match=r"PostgreSQL 16 cluster .* runs PostgreSQL 18"):
        refuse_other_engine(pgdata)
    (pgdata / "PG_VERSION").write_text(f"{ENGINE_MAJOR}\n")
    refuse_other_engine(pgdata)

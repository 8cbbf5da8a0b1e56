"""The `photostore` command end to end: serve on the embedded default, users, db url.

These run the real command in subprocesses, against a real embedded PostgreSQL in a
fresh data folder, and talk to the server over loopback HTTP.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import psycopg
import pytest

from photostore.db.embedded import EmbeddedCluster, ensure_database
from tests import imagegen
from tests.conftest import ScratchDatabase, postgres_folder
from tests.processes import free_port, login, postgres_running_in, run_cli, serving

pytestmark = pytest.mark.slow  # every test starts the command, most a server and a cluster


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with postgres_folder() as folder:
        yield folder / "photostore-data"


def test_serve_keeps_photos_across_restarts_and_stops_postgres(data_dir: Path) -> None:
    pgdata = data_dir.resolve() / "pgdata"

    created = run_cli(
        "user",
        "create",
        "--data-dir",
        str(data_dir),
        "--email",
        "admin@example.org",
        "--password",
        "admin password",
        "--admin",
    )
    assert created.returncode == 0, created.stderr
    assert "created admin admin@example.org" in created.stdout
    assert created.stderr == "", "a plain command prints no warnings"
    assert not postgres_running_in(pgdata), "user create must let go of the database it started"

    photo = imagegen.make_jpeg(None, 300, 200, seed=5)
    with serving(data_dir) as base:
        # A second process on the same folder while serve runs.
        second = run_cli(
            "user",
            "create",
            "--data-dir",
            str(data_dir),
            "--email",
            "ada@example.org",
            "--password",
            "ada password",
        )
        assert second.returncode == 0, second.stderr
        duplicate = run_cli(
            "user",
            "create",
            "--data-dir",
            str(data_dir),
            "--email",
            "ada@example.org",
            "--password",
            "ada password",
        )
        assert duplicate.returncode == 1
        assert "already exists" in duplicate.stderr

        url = run_cli("db", "url", "--data-dir", str(data_dir))
        assert url.returncode == 0, url.stderr
        with psycopg.connect(url.stdout.strip()) as conn:
            assert conn.execute("SELECT count(*) FROM users").fetchone() == (2,)

        headers = login(base, "ada@example.org", "ada password")
        uploaded = httpx.post(
            f"{base}/v1/images", files={"file": ("p.jpg", photo)}, headers=headers
        )
        assert uploaded.status_code == 201, uploaded.text
        image_id = uploaded.json()["id"]
        assert uploaded.headers["x-request-id"]
        assert postgres_running_in(pgdata)

    assert not postgres_running_in(pgdata), "PostgreSQL must stop when serve stops"
    assert run_cli("db", "url", "--data-dir", str(data_dir)).returncode == 1

    with serving(data_dir) as base:
        headers = login(base, "ada@example.org", "ada password")
        content = httpx.get(f"{base}/v1/images/{image_id}/content", headers=headers)
        assert content.status_code == 200
        assert content.content == photo
        metrics = httpx.get(f"{base}/metrics")
        assert "photostore_http_requests_total" in metrics.text
    assert not postgres_running_in(pgdata)


def test_help_lists_the_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("serve", "migrate", "user", "service-keys", "db"):
        assert command in result.stdout


def test_an_external_database_is_used_when_its_url_is_set(
    pg_cluster: EmbeddedCluster, data_dir: Path
) -> None:
    # An empty database of the test cluster stands in for an operator's PostgreSQL,
    # prepared as docs/operations.md says: migrations run as the owner role, the
    # service role only gets rows.
    name = f"external_{os.getpid()}"
    ensure_database(pg_cluster, name)
    database = ScratchDatabase(name=name, cluster=pg_cluster)
    env = {
        "PHOTOSTORE_DATABASE_URL": database.app_url,
        "PHOTOSTORE_MIGRATION_DATABASE_URL": database.owner_url,
    }
    migrated = run_cli("migrate", "--data-dir", str(data_dir), env=env)
    assert migrated.returncode == 0, migrated.stderr
    created = run_cli(
        "user",
        "create",
        "--data-dir",
        str(data_dir),
        "--email",
        "ext@example.org",
        "--password",
        "external db",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    with database.superuser_connect() as conn:
        assert conn.execute("SELECT email FROM users").fetchall() == [("ext@example.org",)]
        owner = conn.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'images'"
        ).fetchone()
        assert owner == ("photostore_owner",)
    assert not (data_dir / "pgdata").exists(), "no embedded cluster with an external database"
    with psycopg.connect(
        pg_cluster.url("postgres", "postgres", driver=""), autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_service_keys_come_from_the_operator_command(
    pg_cluster: EmbeddedCluster, data_dir: Path
) -> None:
    name = f"service_keys_{os.getpid()}"
    ensure_database(pg_cluster, name)
    database = ScratchDatabase(name=name, cluster=pg_cluster)
    env = {
        "PHOTOSTORE_DATABASE_URL": database.app_url,
        "PHOTOSTORE_MIGRATION_DATABASE_URL": database.owner_url,
    }
    base = ["--data-dir", str(data_dir)]
    try:
        refused = run_cli(
            "service-keys", "create", *base, "--name", "x", "--scope", "account", env=env
        )
        assert refused.returncode == 1
        assert "cannot carry the scopes ['account']" in refused.stderr
        created = run_cli(
            "service-keys", "create", *base, "--name", "uploads",
            "--scope", "images:write", "--scope", "images:read", env=env,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        token = created.stdout.strip()
        assert token.startswith("psk_") and "shown once" in created.stderr
        key_id = str(uuid.UUID(token.split("_")[1]))
        listed = run_cli("service-keys", "list", *base, env=env)
        assert (
            listed.stdout.split("\n")[0] == f"{key_id}\tactive\tuploads\timages:read,images:write"
        )
        revoked = run_cli("service-keys", "revoke", key_id, *base, env=env)
        assert revoked.returncode == 0, revoked.stderr
        assert "\trevoked\t" in run_cli("service-keys", "list", *base, env=env).stdout
        with database.superuser_connect() as conn:
            row = conn.execute(
                "SELECT revoked_at IS NOT NULL, revoked_by_admin_id FROM service_keys"
            )
            assert row.fetchall() == [(True, None)]
    finally:
        with psycopg.connect(
            pg_cluster.url("postgres", "postgres", driver=""), autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_a_folder_without_its_key_refuses_to_start_until_the_keys_are_imported(
    data_dir: Path,
) -> None:
    passphrase = {"PHOTOSTORE_KEYS_PASSPHRASE": "correct horse battery staple"}
    email, password = "ada@example.org", "ada password"
    made = run_cli(
        "user", "create", "--data-dir", str(data_dir), "--email", email, "--password", password
    )
    assert made.returncode == 0, made.stderr
    photo = imagegen.make_png(None, 40, 30, seed=2)
    with serving(data_dir) as base:
        headers = login(base, email, password)
        stored = httpx.post(f"{base}/v1/images", headers=headers, files={"file": ("a.png", photo)})
        assert stored.status_code == 201, stored.text
    export = data_dir.parent / "keys.json"
    exported = run_cli(
        "keys", "export", "--data-dir", str(data_dir), "--to", str(export), env=passphrase
    )
    assert exported.returncode == 0, exported.stderr
    key_folder = data_dir.parent / f"{data_dir.name}-keys"
    key_file = key_folder / "master.json"
    key_file.unlink()

    refused = run_cli("service-keys", "list", "--data-dir", str(data_dir))
    assert refused.returncode != 0
    assert refused.stderr.startswith("error: the database holds data keys"), refused.stderr
    assert "keys import" in refused.stderr
    refused_serve = run_cli("serve", "--data-dir", str(data_dir), "--port", str(free_port()))
    assert refused_serve.returncode == 1
    assert "error: the database holds data keys" in refused_serve.stderr, refused_serve.stderr
    assert not key_file.exists(), "a refused start made a new key"

    wrong = run_cli(
        "keys",
        "import",
        "--data-dir",
        str(data_dir),
        "--from",
        str(export),
        env={"PHOTOSTORE_KEYS_PASSPHRASE": "not the passphrase at all"},
    )
    assert wrong.returncode == 1 and "passphrase is wrong" in wrong.stderr
    imported = run_cli(
        "keys", "import", "--data-dir", str(data_dir), "--from", str(export), env=passphrase
    )
    assert imported.returncode == 0, imported.stderr
    with serving(data_dir) as base:
        headers = login(base, email, password)
        got = httpx.get(f"{base}/v1/images/{stored.json()['id']}/content", headers=headers)
        assert got.status_code == 200 and got.content == photo

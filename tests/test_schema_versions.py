"""A start on a schema at another revision than this photostore's newest is refused with
what to do, through the real start (the app's lifespan, `photostore serve`); `photostore
migrate --to` takes the schema down and back up."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient

from photostore.app import create_app
from photostore.config import Settings
from photostore.db.checks import DatabaseRefused
from photostore.db.migrate import READABLE_SINCE, alembic_config, known_revisions
from tests.conftest import ScratchDatabase
from tests.processes import run_cli, serving

KNOWN = known_revisions()
HEAD, BELOW_HEAD = KNOWN[-1], KNOWN[-2]
FUTURE = "0099_of_a_newer_release"


def _record_revision(database: ScratchDatabase, revision: str) -> None:
    with database.superuser_connect() as conn:
        conn.execute("UPDATE alembic_version SET version_num = %s", (revision,))


def _revision(database: ScratchDatabase) -> str:
    with database.superuser_connect() as conn:
        found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert found is not None
    return str(found[0])


def _refusal(settings: Settings) -> str:
    with pytest.raises(DatabaseRefused) as refused, TestClient(create_app(settings)):
        pass
    return str(refused.value)


def test_the_app_refuses_a_schema_newer_than_it_knows(
    settings: Settings, database: ScratchDatabase
) -> None:
    _record_revision(database, FUTURE)
    message = _refusal(settings)
    assert f"at revision {FUTURE}, which this photostore does not know" in message
    assert f"its newest is {HEAD}" in message
    assert f"`photostore migrate --to {HEAD}` with the newer one" in message
    assert "restore a backup taken before the upgrade" in message


def test_the_app_names_the_command_on_an_older_schema(
    settings: Settings, database: ScratchDatabase
) -> None:
    _record_revision(database, BELOW_HEAD)
    message = _refusal(settings)
    assert f"at revision {BELOW_HEAD}, and this photostore needs {HEAD}" in message
    assert "run `photostore migrate` (with an external database, with " in message
    assert "PHOTOSTORE_MIGRATION_DATABASE_URL set to the URL of the role that owns" in message


def test_a_schema_older_than_the_readable_revision_is_known_to_be_older(
    settings: Settings, database: ScratchDatabase
) -> None:
    below = KNOWN[KNOWN.index(READABLE_SINCE) - 1]
    command.downgrade(alembic_config(database.owner_url), below)
    message = _refusal(settings)
    assert f"older than {READABLE_SINCE}, and this photostore needs {HEAD}" in message
    assert "run `photostore migrate`" in message


def test_a_database_never_migrated_is_refused_with_the_command(
    settings: Settings, database: ScratchDatabase
) -> None:
    command.downgrade(alembic_config(database.owner_url), "base")
    with database.superuser_connect() as conn:
        conn.execute("DROP TABLE alembic_version")
    assert "holds no photostore schema: run `photostore migrate`" in _refusal(settings)


def _external(database: ScratchDatabase, *, owner: bool) -> dict[str, str]:
    env = {"PHOTOSTORE_DATABASE_URL": database.app_url}
    if owner:
        env["PHOTOSTORE_MIGRATION_DATABASE_URL"] = database.owner_url
    return env


@pytest.mark.slow  # starts the command four times and a server
def test_serve_on_an_older_external_schema_names_the_command_that_migrates_it(
    database: ScratchDatabase, tmp_path: Path
) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    down = run_cli("migrate", *data, "--to", BELOW_HEAD, env=_external(database, owner=True))
    assert down.returncode == 0, down.stderr
    assert _revision(database) == BELOW_HEAD

    # Given only the service role, serve does not migrate: it says how to.
    refused = run_cli("serve", *data, env=_external(database, owner=False))
    assert refused.returncode == 1, refused.stderr
    refusal = "error: photostore cannot use this database: the database's schema is"
    assert refusal in refused.stderr
    assert "run `photostore migrate` (with an external database" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert _revision(database) == BELOW_HEAD

    up = run_cli("migrate", *data, env=_external(database, owner=True))
    assert up.returncode == 0, up.stderr
    assert up.stdout.strip() == f"the database schema is at {HEAD}"
    with serving(tmp_path / "data", _external(database, owner=False)):
        assert _revision(database) == HEAD


@pytest.mark.slow  # starts the command
def test_serve_refuses_a_newer_schema_before_migrating_it(
    database: ScratchDatabase, tmp_path: Path
) -> None:
    _record_revision(database, FUTURE)
    refused = run_cli(
        "serve", "--data-dir", str(tmp_path / "data"), env=_external(database, owner=True)
    )
    assert refused.returncode == 1, refused.stderr
    assert f"error: the database's schema is at revision {FUTURE}" in refused.stderr
    assert f"`photostore migrate --to {HEAD}`" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert _revision(database) == FUTURE

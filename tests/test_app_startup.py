"""What the application checks and tidies when it starts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from photostore.app import create_app
from photostore.config import Settings
from photostore.db.checks import DatabaseFacts, DatabaseRefused, database_problems
from photostore.db.embedded import APP_ROLE, OWNER_ROLE
from tests.conftest import ScratchDatabase


@pytest.mark.parametrize("environment", ["production", "development"])
def test_a_service_role_that_owns_the_tables_is_refused_in_every_environment(
    settings: Settings, database: ScratchDatabase, environment: str
) -> None:
    owner = settings.model_copy(
        update={
            "database_url": database.owner_url,
            "environment": environment,
            "secret_key": SecretStr("k" * 40),
        }
    )
    with pytest.raises(DatabaseRefused, match="owns"), TestClient(create_app(owner)):
        pass


def test_a_service_role_that_is_a_member_of_the_owner_role_is_refused(
    settings: Settings, database: ScratchDatabase
) -> None:
    role = f"member_{database.name}"
    with database.superuser_connect() as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS IN ROLE {OWNER_ROLE}")
    try:
        member = settings.model_copy(
            update={"database_url": database.cluster.url(role, database.name)}
        )
        with pytest.raises(DatabaseRefused, match="member"), TestClient(create_app(member)):
            pass
    finally:
        with database.superuser_connect() as conn:
            conn.execute(f"DROP ROLE {role}")


def test_a_superuser_is_refused(settings: Settings, database: ScratchDatabase) -> None:
    superuser = settings.model_copy(
        update={"database_url": database.cluster.url("postgres", database.name)}
    )
    with pytest.raises(DatabaseRefused, match="a superuser"), TestClient(create_app(superuser)):
        pass


def test_a_database_without_pgvector_is_refused_with_what_to_run(
    settings: Settings, database: ScratchDatabase
) -> None:
    with database.superuser_connect() as conn:
        conn.execute(f"CREATE DATABASE {database.name}_plain")
    try:
        plain = settings.model_copy(
            update={"database_url": database.cluster.url(APP_ROLE, f"{database.name}_plain")}
        )
        with (
            pytest.raises(DatabaseRefused, match="CREATE EXTENSION vector"),
            TestClient(create_app(plain)),
        ):
            pass
    finally:
        with database.superuser_connect() as conn:
            conn.execute(f"DROP DATABASE {database.name}_plain WITH (FORCE)")


FIT = DatabaseFacts(
    server_version_num=180006,
    pgvector_version="0.8.6",
    role="photostore_app",
    is_superuser=False,
    bypasses_rls=False,
    tables_owned=0,
)


@pytest.mark.parametrize(
    ("facts", "named"),
    [
        (replace(FIT, server_version_num=140011), "PostgreSQL 14; photostore needs 15"),
        (replace(FIT, pgvector_version="0.7.4"), "pgvector is 0.7.4; photostore needs 0.8"),
        (replace(FIT, bypasses_rls=True), "has BYPASSRLS"),
    ],
)
def test_an_old_engine_or_a_role_that_bypasses_rls_is_named(
    facts: DatabaseFacts, named: str
) -> None:
    assert any(named in problem for problem in database_problems(facts))


def test_the_oldest_supported_engine_passes() -> None:
    oldest = replace(FIT, server_version_num=150000, pgvector_version="0.8.0")
    assert database_problems(oldest) == []
    assert database_problems(replace(oldest, pgvector_version="0.10.1")) == []


def test_the_fenced_service_role_starts_in_production(settings: Settings) -> None:
    production = settings.model_copy(
        update={"environment": "production", "secret_key": SecretStr("k" * 40)}
    )
    with TestClient(create_app(production)) as client:
        assert client.get("/readyz").json() == {"status": "ready"}


def test_health_endpoints(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "photostore_http_requests_total" in response.text


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    generated = client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    echoed = client.get("/healthz", headers={"X-Request-ID": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    refused = client.get("/healthz", headers={"X-Request-ID": "bad id\twith tab"})
    assert refused.headers["x-request-id"] != "bad id\twith tab"
    problem = client.get("/v1/nowhere", headers={"X-Request-ID": "trace-456"})
    assert problem.status_code == 404
    assert problem.json()["request_id"] == "trace-456"
    assert problem.headers["content-type"] == "application/problem+json"

"""What the application checks and tidies when it starts."""

from __future__ import annotations

import os
import time

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from photostore.app import create_app
from photostore.config import Settings
from tests.conftest import ScratchDatabase


def test_production_refuses_a_service_role_that_owns_the_tables(
    settings: Settings, database: ScratchDatabase
) -> None:
    owner = settings.model_copy(
        update={
            "database_url": database.owner_url,
            "environment": "production",
            "secret_key": SecretStr("k" * 40),
        }
    )
    with pytest.raises(RuntimeError, match="owns"), TestClient(create_app(owner)):
        pass


def test_outside_production_a_privileged_role_only_warns(
    settings: Settings, database: ScratchDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    owner = settings.model_copy(update={"database_url": database.owner_url})
    with TestClient(create_app(owner)) as client:
        assert client.get("/readyz").status_code == 200
    assert "row-level security is not guaranteed" in caplog.text


def test_the_fenced_service_role_starts_in_production(settings: Settings) -> None:
    production = settings.model_copy(
        update={"environment": "production", "secret_key": SecretStr("k" * 40)}
    )
    with TestClient(create_app(production)) as client:
        assert client.get("/readyz").json() == {"status": "ready"}


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(environment="production")
    with pytest.raises(ValueError, match="32 characters"):
        Settings(secret_key="short")


def test_staging_files_left_by_a_crash_are_removed(settings: Settings) -> None:
    settings.staging_dir.mkdir(parents=True)
    stale = settings.staging_dir / "upload-stale"
    fresh = settings.staging_dir / "upload-fresh"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    long_ago = time.time() - 7 * 3600
    os.utime(stale, (long_ago, long_ago))
    with TestClient(create_app(settings)):
        pass
    assert not stale.exists()
    assert fresh.exists()


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

"""Logs: a database error is logged without the values of its statement (issue 13, 8)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import text

from photostore.app import create_app
from photostore.config import Settings
from photostore.observability.logging import JsonFormatter

CANARY = "canary-4f1e@example.org"

# Each statement fails with the canary in a different place of PostgreSQL's answer.
FAILING = {
    "invalid input quotes the value": ("SELECT CAST(:v AS uuid)", "22P02"),
    "a unique violation's detail names the key": (
        "INSERT INTO seen (email) VALUES (:v), (:v)",
        "23505",
    ),
    "a check violation's detail holds the whole row": (
        "INSERT INTO seen (email) VALUES (:v || 'x')",
        "23514",
    ),
}


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Every log record, formatted as `photostore serve` writes it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield out
    root.removeHandler(handler)
    root.setLevel(old_level)


def _app_with_a_failing_route(settings: Settings) -> FastAPI:
    app = create_app(settings)

    @app.get("/test-only/fail/{case}")
    async def fail(case: str, request: Request) -> None:
        statement, _ = FAILING[case]
        async with request.app.state.ctx.db.engine.connect() as conn:
            await conn.execute(
                text("CREATE TEMP TABLE seen (email text PRIMARY KEY CHECK (email NOT LIKE '%x'))")
            )
            await conn.execute(text(statement), {"v": CANARY})

    return app


@pytest.mark.parametrize("case", list(FAILING))
def test_a_database_error_is_logged_without_its_values(
    settings: Settings, logs: io.StringIO, case: str
) -> None:
    with TestClient(_app_with_a_failing_route(settings), raise_server_exceptions=False) as client:
        response = client.get(f"/test-only/fail/{case}")
    assert response.status_code == 500
    assert CANARY not in response.text
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    errors = [line for line in lines if line["level"] == "error"]
    assert errors, lines
    written = logs.getvalue()
    assert CANARY not in written
    assert "canary-4f1e" not in written
    # What an operator needs is still there: the condition and the statement's text.
    exception = errors[-1]["exception"]
    assert f"SQLSTATE {FAILING[case][1]}" in exception
    assert "[SQL: " in exception

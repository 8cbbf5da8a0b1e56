"""Logs: a database error is logged without the values of its statement (issue 13, 8); a
damaged image kept is one line."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import text

import photostore
from photostore.app import create_app
from photostore.config import Settings
from photostore.observability.logging import JsonFormatter
from tests import imagegen

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


_DAMAGED_SCRIPT = """
import sys
from pathlib import Path
from photostore.media import DecodeLimits, ImageFormat, configure_vips, probe_image
from photostore.observability.logging import configure_logging

configure_logging("INFO")
configure_vips()
assert probe_image(Path(sys.argv[1]), ImageFormat.PNG, DecodeLimits()).damaged
"""


def test_a_damaged_image_kept_is_one_log_line_not_one_per_bad_row(tmp_path: Path) -> None:
    # libvips warns once per row it cannot read: about a hundred lines for this PNG.
    path = tmp_path / "cut.png"
    path.write_bytes(imagegen.truncate(imagegen.make_png(None, 300, 200)))
    src = Path(photostore.__file__).resolve().parents[1]
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", _DAMAGED_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
        },
    )
    lines = [json.loads(line) for line in completed.stderr.splitlines()]
    assert [line["logger"] for line in lines] == ["photostore.media.decode"]
    assert "kept damaged PNG image" in lines[0]["message"]

"""The client keeps up with the server by construction: a method of both clients for
every operation of the OpenAPI document, a pager for every paged list, and typed bodies
with the members of the document's schemas. Importing it loads none of the server.

These read the document of an application that is built, not started: no database.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import subprocess
import sys
import typing
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from photostore.app import create_app
from photostore.client import AsyncClient, Client, Retries, errors, schemas
from photostore.client._call import Upload
from photostore.client._route import Pager
from photostore.client.retries import parse_retry_after
from photostore.client.routes.images import ImageRoutes
from photostore.config import Settings

SERVER_PACKAGES = ("photostore.api", "photostore.services", "photostore.db", "pyvips", "fastapi")


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("openapi")
    settings = Settings(environment="test", data_dir=folder, database_url="postgresql://")
    return create_app(settings).openapi()


def _operations(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for item in document["paths"].values():
        yield from item.values()


def _schemas_by_title(node: object) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object schema of the document with a title, inline ones included."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node and "title" in node:
            yield node["title"], node
        for value in node.values():
            yield from _schemas_by_title(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas_by_title(value)


def test_every_operation_is_a_method_of_both_clients(document: dict[str, Any]) -> None:
    names = {operation["operationId"] for operation in _operations(document)}
    assert {"upload_image", "search", "write_analysis_batch", "healthz"} <= names
    sync, concurrent = Client("http://127.0.0.1:9"), AsyncClient("http://127.0.0.1:9")
    missing = sorted(
        name
        for name in names
        if not (callable(getattr(sync, name, None)) and callable(getattr(concurrent, name, None)))
    )
    assert missing == [], f"operations without a client method: {missing}"


def test_every_paged_list_has_a_pager(document: dict[str, Any]) -> None:
    page_schemas = {
        name
        for name, schema in document["components"]["schemas"].items()
        if "next_cursor" in schema.get("properties", {})
    }
    paged = {
        operation["operationId"]
        for operation in _operations(document)
        for answer in operation["responses"].values()
        for content in answer.get("content", {}).values()
        if content.get("schema", {}).get("$ref", "").split("/")[-1] in page_schemas
    }
    assert {"list_images", "search", "list_accounts"} <= paged
    pagers = {
        value.route.name
        for name in dir(Client)
        if isinstance(value := typing.cast(object, getattr(Client, name)), Pager)
    }
    assert pagers == paged


def _members(kind: object) -> tuple[frozenset[str], frozenset[str]]:
    typed: Any = typing.get_origin(kind) or kind
    return typed.__required_keys__, typed.__optional_keys__


def test_every_body_type_has_the_members_of_its_schema(document: dict[str, Any]) -> None:
    by_title = dict(_schemas_by_title(document))
    names = [
        name
        for name, value in vars(schemas).items()
        if typing.get_origin(value) in (schemas.Page, schemas.Items)
        or (isinstance(value, type) and value.__module__ == schemas.__name__)
    ]
    names.remove("Page")
    names.remove("Items")
    assert len(names) > 40
    for name in names:
        assert name in by_title, f"{name} is no schema of the document"
        schema = by_title[name]
        required, optional = _members(getattr(schemas, name))
        assert required | optional == set(schema["properties"]), name
        if optional:  # a body of a request: what it may leave out, the server defaults
            assert required == set(schema.get("required", [])), name


def test_importing_the_client_loads_none_of_the_server() -> None:
    code = "import json, sys; import photostore.client; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(done.stdout)
    heavy = [m for m in loaded if any(m == p or m.startswith(p + ".") for p in SERVER_PACKAGES)]
    assert "photostore.client" in loaded
    assert heavy == []


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, errors.BadRequestError),
        (401, errors.UnauthenticatedError),
        (403, errors.ForbiddenError),
        (404, errors.NotFoundError),
        (405, errors.ProblemError),
        (409, errors.ConflictError),
        (413, errors.TooLargeError),
        (415, errors.UnsupportedMediaTypeError),
        (416, errors.RangeNotSatisfiableError),
        (422, errors.InvalidInputError),
        (429, errors.RateLimitedError),
        (500, errors.ServerError),
        (502, errors.ServerError),
        (503, errors.UnavailableError),
        (507, errors.InsufficientStorageError),
    ],
)
def test_each_status_raises_its_class(status: int, kind: type[errors.ProblemError]) -> None:
    problem = {"type": "https://photostore.dev/problems/x", "status": status, "detail": "d"}
    error = errors.error_for(status, problem, "", 3.0)
    assert type(error) is kind
    assert (error.status, error.detail, error.retry_after) == (status, "d", 3.0)


def test_an_answer_that_is_no_problem_document_is_raised_with_its_text() -> None:
    error = errors.error_for(502, None, "<html>Bad gateway</html>", None)
    assert isinstance(error, errors.ServerError)
    assert error.problem == {
        "status": 502,
        "title": "HTTP 502",
        "detail": "<html>Bad gateway</html>",
    }


def test_waits_follow_retry_after_up_to_its_cap_else_back_off() -> None:
    retries = Retries(backoff=1.0, max_backoff=4.0, max_retry_after=10.0)
    assert retries.wait(1, 3.0) == 3.0
    assert retries.wait(1, 3600.0) == 10.0
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (9, 4.0)]:
        waits = [retries.wait(attempt, None) for _ in range(50)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(set(waits)) > 1, "no jitter"


def test_retry_after_is_read_as_seconds_or_a_date() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_only_an_upload_that_can_be_read_again_is_tried_again(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"x")
    reading, writing = os.pipe()
    os.close(writing)
    with os.fdopen(reading, "rb") as pipe, path.open("rb") as file:
        assert Upload(path).replayable
        assert Upload(b"bytes").replayable
        assert Upload(io.BytesIO(b"x")).replayable
        assert Upload(file).replayable
        assert not Upload(pipe).replayable


def test_every_part_of_an_upload_is_a_parameter_of_upload_image(
    document: dict[str, Any],
) -> None:
    form = document["paths"]["/v1/images"]["post"]["requestBody"]["content"]
    parts = set(form["multipart/form-data"]["schema"]["properties"])
    parameters = set(inspect.signature(ImageRoutes.upload_image.build).parameters)
    # ``file`` is the first argument; ``xmp`` is another name of the ``sidecar`` part.
    assert parts - {"file", "xmp"} <= parameters

"""A property-based run over the OpenAPI document, as an authenticated user.

Schemathesis draws requests for every operation from the document (seeded, so the run is
the same every time); each must answer without a server error, and every documented
answer must match its schema. Operations that end the session (logout, deleting the
account) are left out: they would turn every later request into a 401.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from photostore.app import create_app
from photostore.config import Settings
from tests import imagegen
from tests.conftest import Account, upload

pytestmark = pytest.mark.slow  # hundreds of generated requests

SKIPPED = {("POST", "/v1/auth/logout"), ("DELETE", "/v1/users/me")}
EXAMPLES = 400

SCHEMA = schemathesis.openapi.from_dict(
    create_app(Settings(environment="test", database_url="postgresql+psycopg://x@/y")).openapi()
)
OPERATIONS = sorted(
    (
        (op.method.upper(), op.path)
        for result in SCHEMA.get_all_operations()
        if isinstance(result, Ok) and (op := result.ok()) is not None
    ),
)
STRATEGIES = {
    (m, p): SCHEMA[p][m.lower()].as_strategy() for m, p in OPERATIONS if (m, p) not in SKIPPED
}


def _httpx_files(files: Any) -> list[tuple[str, Any]]:
    """Schemathesis builds ``requests``-style multipart parts; httpx wants bytes or str."""
    items = files.items() if isinstance(files, dict) else files
    parts = []
    for name, value in items:
        if isinstance(value, tuple):
            filename, content, *rest = value
            parts.append((name, (filename, _bytes(content), *rest)))
        else:
            parts.append((name, (None, _bytes(value))))
    return parts


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_no_server_errors_and_answers_match_the_schema(client: TestClient, alice: Account) -> None:
    upload(client, alice, imagegen.make_png(None, 16, 16))
    keys = sorted(STRATEGIES)
    statuses: list[int] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: Any) -> None:
        operation = data.draw(st.sampled_from(keys))
        case = data.draw(STRATEGIES[operation])
        kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=alice.headers)
        kwargs.pop("allow_redirects", None)
        kwargs.pop("follow_redirects", None)
        if "files" in kwargs:
            kwargs["files"] = _httpx_files(kwargs["files"])
        response = client.request(**kwargs)
        statuses.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    run()
    print(f"\n{len(statuses)} requests over {len(keys)} operations: {sorted(set(statuses))}")
    # The run reached the handlers as an authenticated user, not only the validators.
    assert statuses.count(200) > 10


# Hostile values, each placed in every place of its kind: values that broke a library
# behind a route (Python's int(), json, datetime, PostgreSQL's query parser, the multipart
# parser) before they were handled. Each must answer without a server error.
def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


HOSTILE_TEXT = (
    "a\x00b",  # PostgreSQL stores no NUL
    "-" * 500,  # a NOT per sign on websearch_to_tsquery's 32-deep stack
    "- " * 250,
    "9" * 5000,  # over Python's 4,300 digits for int()
    "Infinity",
    "NaN",
    "1e309",
    "x" * 10_000,
)
HOSTILE_CURSORS = (
    _cursor('{"o":Infinity,"f":"x"}'),  # int(inf): OverflowError
    _cursor('{"o":1e309,"f":"x"}'),
    _cursor('{"o":NaN,"f":"x"}'),
    _cursor('{"o":' + "9" * 300 + ',"f":"x"}'),
    _cursor('["2020-01-01T00:00:00+00:00",5]'),  # uuid.UUID(5): AttributeError
    _cursor('["t","x",5]'),
    _cursor("[Infinity,1e309]"),
    _cursor("[" * 300 + "]" * 300),
)
HOSTILE_IDS = ("9" * 5000, "-" * 500, "%00", "%FF", "x" * 5000)
HOSTILE_RANGES = (
    "bytes=" + "9" * 5000 + "-",
    "bytes=-" + "9" * 5000,
    "bytes=0-" + "9" * 5000,
    "bytes=" + "0" * 5000 + "1-2",
)
DOCUMENT = SCHEMA.raw_schema


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _string_fields(operation: dict[str, Any]) -> tuple[str | None, list[str]]:
    """The media type of an operation's body and the names of its string fields."""
    for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
        properties = _resolve(content["schema"]).get("properties", {})
        names = [
            name
            for name, field in properties.items()
            if "string" in json.dumps({k: v for k, v in field.items() if k != "description"})
        ]
        return media_type, names
    return None, []


def _multipart_with_a_long_boundary() -> dict[str, Any]:
    boundary = "b" * 300  # python-multipart refuses over 256 with an error of its own
    part = f"--{boundary}\r\nContent-Disposition: form-data; name=file\r\n\r\nx\r\n"
    return {
        "content": f"{part}--{boundary}--\r\n".encode(),
        "headers": {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    }


def _hostile_requests(image_id: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every (method, path, request keywords) of the matrix, one hostile value each."""
    for path, methods in DOCUMENT["paths"].items():
        for lower, operation in methods.items():
            method = lower.upper()
            if (method, path) in SKIPPED:
                continue
            parameters = operation.get("parameters", [])
            names = [p["name"] for p in parameters if p["in"] == "path"]
            fill = {name: image_id if "id" in name else "ocr" for name in names}
            base = path.format(**fill)
            for name in names:
                for value in HOSTILE_IDS:
                    yield method, path.format(**{**fill, name: value}), {}
            for parameter in (p for p in parameters if p["in"] == "query"):
                name = parameter["name"]
                for value in HOSTILE_CURSORS if name == "cursor" else HOSTILE_TEXT:
                    yield method, base, {"params": {name: value}}
            if method == "GET":
                for value in HOSTILE_RANGES:
                    yield method, base, {"headers": {"Range": value}}
            media_type, fields = _string_fields(operation)
            if media_type == "multipart/form-data":
                yield method, base, _multipart_with_a_long_boundary()
            key = "json" if media_type == "application/json" else "data"
            for field in fields:
                for value in (*HOSTILE_TEXT, *(HOSTILE_CURSORS if field == "cursor" else ())):
                    yield method, base, {key: {field: value}}
            if len(fields) > 1:  # all at once: a search text and a cursor of its own
                for value in (*HOSTILE_TEXT, *(HOSTILE_CURSORS if "cursor" in fields else ())):
                    yield method, base, {key: dict.fromkeys(fields, value)}


def test_hostile_values_in_every_place_answer_without_a_server_error(
    client: TestClient, alice: Account
) -> None:
    image_id = upload(client, alice, imagegen.make_png(None, 16, 16)).json()["id"]
    lenient = TestClient(client.app, raise_server_exceptions=False)
    failures = []
    requests = list(_hostile_requests(image_id))
    for method, path, kwargs in requests:
        headers = {**alice.headers, **kwargs.pop("headers", {})}
        response = lenient.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 500:
            failures.append(f"{method} {path[:60]} {str(kwargs)[:80]}: {response.status_code}")
    print(f"\n{len(requests)} hostile requests")
    assert not failures, "\n".join(failures)

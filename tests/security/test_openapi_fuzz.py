"""A property-based run over the OpenAPI document, as an authenticated user.

Schemathesis draws requests for every operation from the document (seeded, so the run is
the same every time); each must answer without a server error, and every documented
answer must match its schema. Operations that end the session (logout, deleting the
account) are left out: they would turn every later request into a 401.
"""

from __future__ import annotations

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

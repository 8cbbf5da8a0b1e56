"""Default deny: every route refuses (403) a principal that holds no permission at all.

A route that forgets to declare its permission (``api.deps.require``) answers something
else and fails here. The principal is an API key made with an empty scope list.
"""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tests.conftest import Account
from tests.routes import api_operations
from tests.security.conftest import bearer, create_key

# Public by design; POST /v1/users has its own rule (admins, or anyone with sign-up open).
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/v1/auth/token"),
    ("POST", "/v1/auth/refresh"),
    ("POST", "/v1/users"),
}


def _fill(path: str) -> str:
    """Any value per path parameter: the permission check comes before any lookup."""
    parts = []
    for part in path.split("/"):
        is_param = part.startswith("{")
        parts.append((str(uuid.uuid4()) if part.endswith("_id}") else "x") if is_param else part)
    return "/".join(parts)


def test_a_principal_without_permissions_is_refused_everywhere(
    client: TestClient, alice: Account
) -> None:
    _, secret = create_key(client, alice, [], name="no scopes")
    headers = bearer(secret)
    operations = [op for op in api_operations(client.app) if op not in PUBLIC]  # type: ignore[arg-type]
    assert len(operations) > 20
    answers = {
        (method, path): client.request(method, _fill(path), headers=headers)
        for method, path in operations
    }
    wrong = {f"{m} {p}": r.status_code for (m, p), r in answers.items() if r.status_code != 403}
    assert wrong == {}, f"routes that do not refuse a principal without permissions: {wrong}"
    for response in answers.values():
        assert response.json()["type"].endswith("/forbidden")


def test_the_public_routes_need_no_credentials(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/metrics").status_code == 200

"""Fixtures of the security tests: an admin, API keys, a service key."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

import pytest
from fastapi.testclient import TestClient

from photostore.auth.principal import Role
from photostore.services.service_keys import ServiceKeyService, parse_scopes
from photostore.services.users import UserService
from tests.conftest import Account


def login(client: TestClient, email: str, password: str) -> dict[str, str]:
    """Access and refresh token of a fresh login."""
    response = client.post("/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin(client: TestClient) -> Account:
    """An admin account, made the way the CLI makes one (admins cannot sign up)."""
    email, password = "root@example.org", "admin password"
    service = UserService(client.app.state.ctx)  # type: ignore[attr-defined]
    user = client.portal.call(service.create, email, password, Role.ADMIN)  # type: ignore[union-attr]
    tokens = login(client, email, password)
    return Account(
        id=user.id, email=email, password=password, headers=bearer(tokens["access_token"])
    )


def create_key(
    client: TestClient,
    owner: Account,
    scopes: Sequence[str],
    kind: str = "user",
    name: str = "test key",
) -> tuple[uuid.UUID, str]:
    """A new API key of ``owner``: its id and its secret string."""
    response = client.post(
        "/v1/api-keys",
        json={"name": name, "kind": kind, "scopes": list(scopes)},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"]), response.json()["key"]


DATA_SCOPES = (
    "images:read",
    "images:write",
    "analysis:write",
    "faces:write",
    "library:write",
    "search:read",
)


def make_service_key(client: TestClient, scopes: Sequence[str], name: str = "service") -> str:
    """A service key made the way `photostore service-keys create` makes one; its secret."""
    service = ServiceKeyService(client.app.state.ctx)  # type: ignore[attr-defined]
    assert client.portal is not None
    created = client.portal.call(service.create, name, parse_scopes(list(scopes)), None)
    return created.token


@pytest.fixture
def service_headers(client: TestClient) -> Callable[[Account], dict[str, str]]:
    """Headers of a service key (all data scopes) acting for the given account."""
    secret = make_service_key(client, DATA_SCOPES, name="upload service")

    def for_user(account: Account) -> dict[str, str]:
        return {**bearer(secret), "X-Photostore-User": str(account.id)}

    return for_user

"""No body is read before its caller is authenticated, every body FastAPI parses is
bounded by its route's limit, and a bulk vector body by its space's dimension.

Against a real ``photostore serve``: a request sends its head and the first KiB of a
40 MiB body, then waits. A server that reads the body first never answers (it waits for
the rest); a server that authenticates first, or refuses from ``Content-Length``, answers
at once.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest
from bench.serving import photostore_serve
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from photostore.api.bodies import json_values_at_most
from photostore.api.embeddings import batch_values_at_most
from photostore.api.routing import GuardedRoute
from photostore.app import create_app
from photostore.auth.tokens import TokenCodec
from photostore.config import Settings
from photostore.db.embedded import EmbeddedCluster
from photostore.services.embeddings import MAX_VECTOR_BATCH
from tests.conftest import Account, scratch_database

pytestmark = pytest.mark.slow  # the module starts `photostore serve`

SECRET = "a test secret of the bodies-before-auth server, 32+"
DECLARED = 40 * 1024 * 1024
JSON_LIMIT = 1024 * 1024
PROBLEMS = "https://photostore.dev/problems/"


@dataclass(frozen=True)
class Server:
    base: str
    port: int
    user_id: uuid.UUID
    token: str


def _codec(secret: str, minutes: int = 60) -> TokenCodec:
    return TokenCodec(secret, "photostore", "photostore-api", timedelta(minutes=minutes))


@pytest.fixture(scope="module")
def server(
    pg_cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One server for the module: a database of its own, a known secret, a user."""
    with scratch_database(pg_cluster, f"bodies_{os.getpid()}") as database:
        settings = {
            "secret_key": SECRET,
            "allow_signup": "true",
            "max_json_body_bytes": str(JSON_LIMIT),
            "migration_database_url": database.owner_url,
        }
        data_dir = tmp_path_factory.mktemp("bodies") / "data"
        with photostore_serve(data_dir, settings, database.app_url) as base:
            email, password = "bodies@example.org", "correct horse"
            created = httpx.post(f"{base}/v1/users", json={"email": email, "password": password})
            assert created.status_code == 202, created.text  # open sign-up
            token = httpx.post(
                f"{base}/v1/auth/token", data={"username": email, "password": password}
            )
            assert token.status_code == 200, token.text
            access = token.json()["access_token"]
            me = httpx.get(f"{base}/v1/users/me", headers={"Authorization": f"Bearer {access}"})
            yield Server(
                base=base,
                port=int(base.rsplit(":", 1)[1]),
                user_id=uuid.UUID(me.json()["id"]),
                token=access,
            )


def answer_to_a_head(
    port: int, method: str, path: str, headers: dict[str, str], declared: int = DECLARED
) -> int | None:
    """The status answered to a request that declares ``declared`` bytes of body and sends
    1 KiB of them; None when no answer comes within 5 seconds (the body is being awaited)."""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {declared}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b"{" + b" " * 1023)
        received = b""
        try:
            while b"\r\n" not in received:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        except TimeoutError:
            return None
    return int(received.split(b" ", 2)[1]) if received else None


def forged() -> str:
    return _codec("another secret, not the server's, 32 chars+").issue(uuid.uuid4(), 0, role="user")


def expired(server: Server) -> str:
    past = datetime.now(UTC) - timedelta(hours=2)
    return _codec(SECRET).issue(server.user_id, 0, role="user", now=past)


JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
MULTIPART = {"Content-Type": "multipart/form-data; boundary=xyz"}


@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [
        ("POST", "/v1/albums", JSON),
        ("PATCH", "/v1/images/0195e4a2-5b7c-7d10-8a3e-2f4c6b8d9e01", JSON),
        ("POST", "/v1/search", JSON),
        ("POST", "/v1/embedding-spaces/clip/vectors", JSON),
        ("POST", "/v1/images", MULTIPART),
        ("POST", "/v1/users/me/password", JSON),
    ],
)
@pytest.mark.parametrize("credentials", ["none", "forged", "expired", "unknown key"])
def test_a_route_that_needs_a_caller_answers_401_before_reading_the_body(
    server: Server, method: str, path: str, content_type: dict[str, str], credentials: str
) -> None:
    authorization = {
        "none": {},
        "forged": {"Authorization": f"Bearer {forged()}"},
        "expired": {"Authorization": f"Bearer {expired(server)}"},
        "unknown key": {"Authorization": "Bearer psk_" + "a" * 40},
    }[credentials]
    status = answer_to_a_head(server.port, method, path, {**content_type, **authorization})
    assert status == 401, "the body was awaited before the credentials were checked"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/v1/auth/token", FORM), ("/v1/auth/refresh", FORM), ("/v1/users", JSON)],
)
def test_an_anonymous_route_refuses_a_large_body_from_its_length(
    server: Server, path: str, content_type: dict[str, str]
) -> None:
    assert answer_to_a_head(server.port, "POST", path, content_type) == 413


def test_an_anonymous_body_without_a_length_is_refused_as_it_passes_16_kib(
    server: Server,
) -> None:
    chunks = iter([b"username=a%40example.org&password=" + b"x" * 1000] + [b"x" * 1024] * 40)
    response = httpx.post(f"{server.base}/v1/auth/token", content=chunks, headers=FORM)
    assert response.status_code == 413, response.text
    assert response.json()["type"] == PROBLEMS + "too-large"
    assert "16384 bytes" in response.json()["detail"]


def test_an_authenticated_json_body_is_bounded_by_max_json_body_bytes(server: Server) -> None:
    headers = {**JSON, "Authorization": f"Bearer {server.token}"}
    assert answer_to_a_head(server.port, "POST", "/v1/albums", headers) == 413
    within = httpx.post(
        f"{server.base}/v1/albums",
        json={"name": "trip", "description": "d" * 9000},
        headers={"Authorization": f"Bearer {server.token}"},
    )
    assert within.status_code == 201, within.text
    over = httpx.post(
        f"{server.base}/v1/search",
        content=b'{"text": "x", "pad": "' + b" " * JSON_LIMIT + b'"}',
        headers=headers,
    )
    assert over.status_code == 413, over.text
    assert over.json()["type"] == PROBLEMS + "too-large"


def test_a_login_still_answers_within_the_limit(server: Server) -> None:
    response = httpx.post(
        f"{server.base}/v1/auth/token",
        data={"username": "bodies@example.org", "password": "correct horse"},
    )
    assert response.status_code == 200, response.text


def _routes(app: FastAPI) -> Iterator[object]:
    for route in app.routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from included.routes
        else:
            yield route


def test_every_api_route_is_guarded(tmp_path: Path) -> None:
    app = create_app(Settings(environment="test", data_dir=tmp_path, database_url="postgresql://"))
    api_routes = [r for r in _routes(app) if isinstance(r, APIRoute)]
    assert len(api_routes) > 50
    unguarded = [r.path for r in api_routes if not isinstance(r, GuardedRoute)]
    assert unguarded == [], "make the router with route_class=GuardedRoute"


def test_a_bulk_write_with_more_numbers_than_its_space_holds_is_refused_unparsed(
    client: TestClient, alice: Account
) -> None:
    space = {"name": "tiny", "model": "m", "dimension": 4, "metric": "l2"}
    assert client.post("/v1/embedding-spaces", json=space, headers=alice.headers).status_code == 201
    # 1,000 items of 16,000 zeros: 30 MiB that cost 10 s and 1 GB to parse, in a space
    # whose largest valid batch holds 4,000 numbers.
    item = b'{"image_id": "' + str(uuid.uuid4()).encode() + b'", "values": [' + b"0," * 15999
    body = b'{"items": [' + b",".join([item + b"0]}"] * 1000) + b"]}"
    response = client.post(
        "/v1/embedding-spaces/tiny/vectors",
        content=body,
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["type"] == PROBLEMS + "too-large"
    assert "JSON values" in response.json()["detail"]


@pytest.mark.parametrize("dimension", [1, 3, 512])
def test_the_bound_of_a_bulk_body_admits_its_largest_valid_batch(dimension: int) -> None:
    items = [
        {"image_id": str(uuid.uuid4()), "values": [-1.5e-7] * dimension}
        for _ in range(MAX_VECTOR_BATCH)
    ]
    for separators in [(",", ":"), (", ", ": ")]:
        body = json.dumps({"items": items}, separators=separators).encode()
        assert json_values_at_most(body) <= batch_values_at_most(dimension)

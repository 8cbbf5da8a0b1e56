"""Security headers: ``nosniff`` and a strict content security policy on every answer
(files, errors, a 500 included); the documentation pages get a policy of their own."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from photostore.app import create_app
from photostore.config import Settings
from tests import imagegen
from tests.conftest import Account, upload

STRICT = "default-src 'none'; frame-ancestors 'none'"


def _assert_strict(response: object, what: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["x-content-type-options"] == "nosniff", what
    assert headers["content-security-policy"] == STRICT, what


@pytest.fixture
def failing_client(settings: Settings) -> Iterator[TestClient]:
    """The application with one more route, which fails as a bug would."""
    app = create_app(settings)

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_every_answer_carries_nosniff_and_a_strict_policy(
    client: TestClient, alice: Account
) -> None:
    # A JPEG with a web page appended: served as an image, and a browser told so.
    polyglot = imagegen.make_jpeg(None, 32, 24, seed=9) + b"<html><script>alert(1)</script>"
    image_id = upload(client, alice, polyglot).json()["id"]
    answers = {
        "an original": client.get(f"/v1/images/{image_id}/content", headers=alice.headers),
        "a range of it": client.get(
            f"/v1/images/{image_id}/content", headers={**alice.headers, "Range": "bytes=0-9"}
        ),
        "a thumbnail": client.get(f"/v1/images/{image_id}/thumbnail", headers=alice.headers),
        "json": client.get("/v1/images", headers=alice.headers),
        "401": client.get("/v1/images"),
        "404": client.get("/no/such/path"),
        "422": client.post("/v1/users", json={"email": 5}),
        "health": client.get("/healthz"),
        "metrics": client.get("/metrics"),
        "openapi": client.get("/openapi.json"),
    }
    for what, response in answers.items():
        assert response.status_code < 500, (what, response.text)
        _assert_strict(response, what)
    assert answers["an original"].content == polyglot
    assert answers["an original"].headers["content-type"] == "image/jpeg"


def test_an_unexpected_error_carries_them_too(failing_client: TestClient) -> None:
    response = failing_client.get("/broken")
    assert response.status_code == 500
    _assert_strict(response, "500")


@pytest.mark.parametrize("path", ["/docs", "/docs/oauth2-redirect", "/redoc"])
def test_a_documentation_page_runs_only_its_own_inline_scripts(
    client: TestClient, path: str
) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["x-content-type-options"] == "nosniff"
    directives = page.headers["content-security-policy"].split("; ")
    policy = {name: value for name, _, value in (d.partition(" ") for d in directives)}
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    hashes = {
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in inline
    }
    script_src = set(policy["script-src"].split())
    assert script_src == {"https://cdn.jsdelivr.net", *hashes}
    assert (path == "/redoc") == (not inline)
    assert policy["connect-src"] == "'self'"

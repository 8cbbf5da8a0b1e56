"""Query parameters a route does not declare are refused with 400 naming them, on every
route, before any work: a filter the route does not have must not be ignored."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient

from tests import imagegen
from tests.conftest import Account, upload
from tests.routes import api_operations

PROBLEMS = "https://photostore.dev/problems/"


def test_every_route_refuses_a_query_parameter_it_does_not_declare(
    client: TestClient, alice: Account
) -> None:
    operations = api_operations(client.app)  # type: ignore[arg-type]
    assert len(operations) > 50
    for method, template in operations:
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), template)
        response = client.request(method, f"{path}?no_such_parameter=1", headers=alice.headers)
        assert response.status_code == 400, (method, template, response.status_code)
        assert response.json()["type"] == PROBLEMS + "bad-request"
        assert "'no_such_parameter'" in response.json()["detail"], (method, template)


def test_a_filter_the_timeline_lacks_is_named_with_the_ones_it_has(
    client: TestClient, alice: Account
) -> None:
    upload(client, alice, imagegen.make_jpeg(None, 16, 16))
    response = client.get("/v1/images?camera_make=Canon&order=asc", headers=alice.headers)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "'camera_make', 'order'" in detail
    assert "favorite" in detail and "tag" in detail
    assert client.get("/v1/images?favorite=false", headers=alice.headers).status_code == 200


def test_a_refused_parameter_leaves_the_image_as_it_was(client: TestClient, alice: Account) -> None:
    image = upload(client, alice, imagegen.make_jpeg(None, 16, 16)).json()
    url = f"/v1/images/{image['id']}"
    assert client.delete(f"{url}?permanent=true", headers=alice.headers).status_code == 400
    again = client.get(url, headers=alice.headers).json()
    assert again["trashed"] is False


def test_an_anonymous_caller_is_told_to_authenticate_first(client: TestClient) -> None:
    assert client.get("/v1/images?camera_make=Canon").status_code == 401

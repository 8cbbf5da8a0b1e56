"""Embedding spaces, vectors and near-duplicates through the HTTP API."""

from __future__ import annotations

import math
import uuid

import pytest
from fastapi.testclient import TestClient

from tests import imagegen
from tests.conftest import Account, upload

SPACE = {
    "name": "clip-vit-b32.v1",
    "model": "openai/clip-vit-b-32",
    "dimension": 3,
    "metric": "cosine",
}


def _image(client: TestClient, account: Account, seed: int) -> str:
    response = upload(client, account, imagegen.make_png(None, 8, 8, seed=seed))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _space(client: TestClient, account: Account, **changes: object) -> dict[str, object]:
    body = {**SPACE, **changes}
    response = client.post("/v1/embedding-spaces", json=body, headers=account.headers)
    assert response.status_code in {200, 201}, response.text
    return body


def _put(
    client: TestClient,
    account: Account,
    image_id: str,
    values: list[float],
    space: str = "clip-vit-b32.v1",
) -> int:
    response = client.put(
        f"/v1/images/{image_id}/embeddings/{space}",
        json={"values": values},
        headers=account.headers,
    )
    return response.status_code


def test_declaring_a_space_twice_is_idempotent_and_a_different_definition_conflicts(
    client: TestClient, alice: Account
) -> None:
    first = client.post("/v1/embedding-spaces", json=SPACE, headers=alice.headers)
    assert first.status_code == 201
    assert first.json() | {"created_at": None} == SPACE | {"created_at": None}
    again = client.post("/v1/embedding-spaces", json=SPACE, headers=alice.headers)
    assert again.status_code == 200
    for change in ({"dimension": 4}, {"metric": "l2"}, {"model": "other"}):
        clash = client.post("/v1/embedding-spaces", json=SPACE | change, headers=alice.headers)
        assert clash.status_code == 409
        assert clash.json()["type"].endswith("/conflict")


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Upper"},
        {"name": ""},
        {"name": "a" * 101},
        {"name": "has space"},
        {"dimension": 0},
        {"dimension": 16001},
        {"metric": "dot"},
        {"model": ""},
        {"model": "m" * 201},
    ],
)
def test_an_invalid_space_definition_is_422(
    client: TestClient, alice: Account, change: dict[str, object]
) -> None:
    response = client.post("/v1/embedding-spaces", json=SPACE | change, headers=alice.headers)
    assert response.status_code == 422, response.text


def test_spaces_are_listed_read_and_dropped_with_their_vectors(
    client: TestClient, alice: Account
) -> None:
    _space(client, alice)
    _space(client, alice, name="big", dimension=16000, metric="l2")
    listed = client.get("/v1/embedding-spaces", headers=alice.headers).json()["items"]
    assert [s["name"] for s in listed] == ["big", "clip-vit-b32.v1"]
    assert (
        client.get("/v1/embedding-spaces/big", headers=alice.headers).json()["dimension"] == 16000
    )
    image_id = _image(client, alice, 1)
    assert _put(client, alice, image_id, [1.0, 2.0, 3.0]) == 201
    assert (
        client.delete("/v1/embedding-spaces/clip-vit-b32.v1", headers=alice.headers).status_code
        == 204
    )
    assert (
        client.get("/v1/embedding-spaces/clip-vit-b32.v1", headers=alice.headers).status_code == 404
    )
    assert (
        client.delete("/v1/embedding-spaces/clip-vit-b32.v1", headers=alice.headers).status_code
        == 404
    )
    _space(client, alice)  # the same name again starts empty
    url = f"/v1/images/{image_id}/embeddings/clip-vit-b32.v1"
    assert client.get(url, headers=alice.headers).status_code == 404


def test_a_vector_is_created_then_replaced_read_and_deleted(
    client: TestClient, alice: Account
) -> None:
    _space(client, alice)
    _space(client, alice, name="raw", metric="l2")
    image_id = _image(client, alice, 2)
    assert _put(client, alice, image_id, [3.0, 0.0, 4.0]) == 201
    assert _put(client, alice, image_id, [0.0, 3.0, 4.0]) == 200
    url = f"/v1/images/{image_id}/embeddings/clip-vit-b32.v1"
    stored = client.get(url, headers=alice.headers).json()
    # Cosine spaces keep unit vectors.
    assert stored["values"] == pytest.approx([0.0, 0.6, 0.8], abs=1e-6)
    assert stored["metric"] == "cosine"
    assert _put(client, alice, image_id, [3.0, 0.0, 4.0], space="raw") == 201
    raw = client.get(f"/v1/images/{image_id}/embeddings/raw", headers=alice.headers).json()
    assert raw["values"] == [3.0, 0.0, 4.0]
    assert client.delete(url, headers=alice.headers).status_code == 204
    assert client.get(url, headers=alice.headers).status_code == 404
    assert client.delete(url, headers=alice.headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('{"values": [1.0, 2.0]}', "3-dimensional"),
        ('{"values": [1.0, 2.0, 3.0, 4.0]}', "3-dimensional"),
        ('{"values": []}', "empty"),
        ('{"values": [1.0, NaN, 3.0]}', "finite"),
        ('{"values": [1.0, Infinity, 3.0]}', "finite"),
        ('{"values": [1.0, -Infinity, 3.0]}', "finite"),
        ('{"values": [1.0, 1e39, 3.0]}', "32-bit"),
        ('{"values": [0.0, 0.0, 0.0]}', "zero vector"),
        ('{"values": ["a", 1, 2]}', ""),
        ('{"vector": [1, 2, 3]}', ""),
    ],
)
def test_a_bad_vector_is_422_with_a_clear_message(
    client: TestClient, alice: Account, body: str, words: str
) -> None:
    _space(client, alice)
    image_id = _image(client, alice, 3)
    response = client.put(
        f"/v1/images/{image_id}/embeddings/clip-vit-b32.v1",
        content=body,
        headers=alice.headers | {"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert words in response.text


def test_unknown_space_or_image_is_404(client: TestClient, alice: Account) -> None:
    _space(client, alice)
    image_id = _image(client, alice, 4)
    assert _put(client, alice, image_id, [1.0, 0.0, 0.0], space="nope") == 404
    assert _put(client, alice, str(uuid.uuid4()), [1.0, 0.0, 0.0]) == 404


def test_another_users_image_or_space_is_404_on_every_embedding_route(
    client: TestClient, alice: Account, bob: Account
) -> None:
    _space(client, alice)
    _space(client, bob)  # the same space name exists for bob too
    image_id = _image(client, alice, 5)
    assert _put(client, alice, image_id, [1.0, 0.0, 0.0]) == 201
    url = f"/v1/images/{image_id}/embeddings/clip-vit-b32.v1"
    for method, json in (("PUT", {"values": [1.0, 0.0, 0.0]}), ("GET", None), ("DELETE", None)):
        response = client.request(method, url, json=json, headers=bob.headers)
        assert response.status_code == 404, (method, response.text)
    dupes = client.get(
        f"/v1/images/{image_id}/duplicates",
        params={"space": "clip-vit-b32.v1"},
        headers=bob.headers,
    )
    assert dupes.status_code == 404
    _space(client, alice, name="alice-only")
    for method in ("GET", "DELETE"):
        response = client.request(method, "/v1/embedding-spaces/alice-only", headers=bob.headers)
        assert response.status_code == 404
    assert [
        s["name"] for s in client.get("/v1/embedding-spaces", headers=bob.headers).json()["items"]
    ] == ["clip-vit-b32.v1"]
    # Alice's vector is untouched.
    assert client.get(url, headers=alice.headers).json()["values"] == [1.0, 0.0, 0.0]


def test_duplicates_are_the_near_images_nearest_first_without_itself_or_the_trash(
    client: TestClient, alice: Account
) -> None:
    _space(client, alice)
    original, near, nearer, far, trashed, no_vector = (
        _image(client, alice, 10 + i) for i in range(6)
    )
    angle = {near: 0.08, nearer: 0.03, far: 1.2, trashed: 0.01}
    assert _put(client, alice, original, [1.0, 0.0, 0.0]) == 201
    for image_id, theta in angle.items():
        assert _put(client, alice, image_id, [math.cos(theta), math.sin(theta), 0.0]) == 201
    assert client.delete(f"/v1/images/{trashed}", headers=alice.headers).status_code == 200
    response = client.get(
        f"/v1/images/{original}/duplicates",
        params={"space": "clip-vit-b32.v1", "max_distance": 0.01},
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["image_id"] for i in items] == [nearer, near]
    assert items[0]["distance"] == pytest.approx(1 - math.cos(0.03), abs=1e-6)
    limited = client.get(
        f"/v1/images/{original}/duplicates",
        params={"space": "clip-vit-b32.v1", "max_distance": 2, "limit": 1},
        headers=alice.headers,
    )
    assert [i["image_id"] for i in limited.json()["items"]] == [nearer]
    missing = client.get(
        f"/v1/images/{no_vector}/duplicates",
        params={"space": "clip-vit-b32.v1"},
        headers=alice.headers,
    )
    assert missing.status_code == 404
    assert "no vector" in missing.text

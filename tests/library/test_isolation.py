"""Isolation of the library: another user's id, in the path or inside a body, is a 404
for the whole request, and nothing of the other user changes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Account
from tests.library.factories import (
    BOX,
    make_album,
    make_analysis,
    make_face,
    make_image,
    make_person,
    make_tag,
)
from tests.routes import api_operations

LIBRARY_PREFIXES = ("/v1/albums", "/v1/faces", "/v1/people", "/v1/tags")
IMAGE_SUBRESOURCES = ("/analysis", "/faces", "/people")

# Bodies that would be valid if every id were the caller's own, so a 404 can only mean
# "not yours", never "bad request". "{mine}" is replaced by an id of the caller's.
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/v1/images/{image_id}/analysis/{analyzer}"): {"model_version": "1", "payload": {}},
    ("POST", "/v1/images/{image_id}/faces"): {"faces": [{"box": BOX, "score": 0.5, "model": "m"}]},
    ("PATCH", "/v1/faces/{face_id}"): {"person_id": None},
    ("PATCH", "/v1/people/{person_id}"): {"name": "Mallory"},
    ("POST", "/v1/people/{person_id}/merge"): {"person_ids": ["{mine}"]},
    ("PATCH", "/v1/tags/{tag_id}"): {"name": "stolen"},
    ("POST", "/v1/tags/{tag_id}/images"): {"image_ids": ["{mine}"]},
    ("POST", "/v1/tags/{tag_id}/images/remove"): {"image_ids": ["{mine}"]},
    ("PATCH", "/v1/albums/{album_id}"): {"name": "stolen"},
    ("POST", "/v1/albums/{album_id}/images"): {"image_ids": ["{mine}"]},
    ("POST", "/v1/albums/{album_id}/images/remove"): {"image_ids": ["{mine}"]},
}


def _library_routes(client: TestClient) -> list[tuple[str, str]]:
    return [
        (m, p)
        for m, p in api_operations(client.app)  # type: ignore[arg-type]
        if "{" in p and (p.startswith(LIBRARY_PREFIXES) or any(s in p for s in IMAGE_SUBRESOURCES))
    ]


def _alices_library(client: TestClient, alice: Account) -> dict[str, str]:
    image = make_image(client, alice, tags=["private"])
    person = make_person(client, alice, "Alice's friend")
    face = make_face(client, alice, image, person)
    make_analysis(client, alice, image)
    tag = make_tag(client, alice, "alice-only")
    album = make_album(client, alice, "Alice's album")
    for kind, target in [("tags", tag), ("albums", album)]:
        client.post(
            f"/v1/{kind}/{target}/images", json={"image_ids": [image]}, headers=alice.headers
        )
    return {
        "image_id": image,
        "person_id": person,
        "face_id": face,
        "tag_id": tag,
        "album_id": album,
        "analyzer": "detector",
    }


def _snapshot(client: TestClient, alice: Account, ids: dict[str, str]) -> list[Any]:
    """Everything of Alice's that a request of Bob's could have changed."""
    urls = [
        f"/v1/images/{ids['image_id']}",
        f"/v1/images/{ids['image_id']}/analysis",
        f"/v1/images/{ids['image_id']}/faces",
        f"/v1/people/{ids['person_id']}",
        f"/v1/tags/{ids['tag_id']}/images",
        f"/v1/albums/{ids['album_id']}",
        f"/v1/albums/{ids['album_id']}/images",
        "/v1/tags",
        "/v1/people",
    ]
    return [client.get(url, headers=alice.headers).json() for url in urls]


def test_every_library_route_is_in_the_matrix(client: TestClient) -> None:
    routes = _library_routes(client)
    writes = {route for route in routes if route[0] != "GET" and route[0] != "DELETE"}
    assert writes == set(VALID_BODIES)
    assert len(routes) == 25  # 4 analysis, 4 faces, 6 people, 5 tags, 6 albums


def test_another_users_ids_in_the_path_are_404_on_every_route(
    client: TestClient, alice: Account, bob: Account
) -> None:
    ids = _alices_library(client, alice)
    before = _snapshot(client, alice, ids)
    bobs = {"image": make_image(client, bob), "person": make_person(client, bob, "Bob")}
    for method, path in _library_routes(client):
        url = path
        for name, value in ids.items():
            url = url.replace("{" + name + "}", value)
        body = VALID_BODIES.get((method, path))
        if body is not None:
            mine = bobs["person"] if "person_ids" in body else bobs["image"]
            body = {k: [mine] if v == ["{mine}"] else v for k, v in body.items()}
        response = client.request(method, url, headers=bob.headers, json=body)
        assert response.status_code == 404, (method, url, response.text)
        assert response.json()["type"].endswith("/not-found")
    assert _snapshot(client, alice, ids) == before


def test_another_users_ids_inside_bodies_are_404_and_nothing_is_applied(
    client: TestClient, alice: Account, bob: Account
) -> None:
    ids = _alices_library(client, alice)
    before = _snapshot(client, alice, ids)
    image = make_image(client, bob)
    person = make_person(client, bob, "Bob")
    face = make_face(client, bob, image)
    tag = make_tag(client, bob, "bobs")
    album = make_album(client, bob, "Bob's album")
    mixed_images = {"image_ids": [image, ids["image_id"]]}
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"/v1/tags/{tag}/images", mixed_images),
        ("POST", f"/v1/tags/{tag}/images/remove", mixed_images),
        ("POST", f"/v1/albums/{album}/images", mixed_images),
        ("POST", f"/v1/albums/{album}/images/remove", mixed_images),
        ("POST", "/v1/people", {"name": "x", "face_ids": [face, ids["face_id"]]}),
        ("POST", f"/v1/people/{person}/merge", {"person_ids": [ids["person_id"]]}),
        ("PATCH", f"/v1/faces/{face}", {"person_id": ids["person_id"]}),
        (
            "POST",
            f"/v1/images/{image}/faces",
            {"faces": [{"box": BOX, "score": 0.5, "model": "m", "person_id": ids["person_id"]}]},
        ),
    ]
    for method, url, body in requests:
        response = client.request(method, url, headers=bob.headers, json=body)
        assert response.status_code == 404, (method, url, response.text)
    assert _snapshot(client, alice, ids) == before
    # Nothing of those requests was applied for Bob either.
    assert client.get(f"/v1/tags/{tag}/images", headers=bob.headers).json()["items"] == []
    assert client.get(f"/v1/albums/{album}", headers=bob.headers).json()["image_count"] == 0
    assert [p["id"] for p in client.get("/v1/people", headers=bob.headers).json()["items"]] == [
        person
    ]
    faces = client.get(f"/v1/images/{image}/faces", headers=bob.headers).json()["items"]
    assert [(f["id"], f["person_id"]) for f in faces] == [(face, None)]


def test_lists_never_show_another_users_library(
    client: TestClient, alice: Account, bob: Account
) -> None:
    _alices_library(client, alice)
    for url in ["/v1/tags", "/v1/albums", "/v1/people", "/v1/people?hidden=true"]:
        assert client.get(url, headers=bob.headers).json()["items"] == [], url

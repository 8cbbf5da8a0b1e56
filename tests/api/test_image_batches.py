"""Changes to many images in one request: all applied in one transaction, or none."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tests import imagegen
from tests.conftest import Account, upload

PROBLEMS = "https://photostore.dev/problems/"


def _images(client: TestClient, account: Account, count: int) -> list[str]:
    return [
        str(upload(client, account, imagegen.make_jpeg(None, 16, 16, seed=seed)).json()["id"])
        for seed in range(count)
    ]


def _read(client: TestClient, account: Account, image_id: str) -> dict[str, object]:
    body: dict[str, object] = client.get(f"/v1/images/{image_id}", headers=account.headers).json()
    return body


def test_a_batch_changes_each_image_as_its_patch_would(client: TestClient, alice: Account) -> None:
    first, second, third = _images(client, alice, 3)
    items = [
        {"id": second, "favorite": True, "title": "Harbour"},
        {"id": first, "taken_at": "2001-02-03T04:05:06+01:00", "tags": ["Sea", "sea", "boat"]},
        {"id": third, "description": "fog"},
    ]
    response = client.post("/v1/images/batch", json={"items": items}, headers=alice.headers)
    assert response.status_code == 200, response.text
    got = response.json()["items"]
    assert [item["id"] for item in got] == [second, first, third]
    assert _read(client, alice, second)["favorite"] is True
    assert _read(client, alice, second)["title"] == "Harbour"
    dated = _read(client, alice, first)
    assert dated["taken_at"] == "2001-02-03T04:05:06+01:00"
    assert dated["taken_at_source"] == "user"
    assert dated["tags"] == ["boat", "Sea"]
    assert _read(client, alice, third)["description"] == "fog"
    assert _read(client, alice, third)["favorite"] is False
    found = client.post("/v1/search", json={"text": "harbour"}, headers=alice.headers).json()
    assert [hit["image"]["id"] for hit in found["items"]] == [second]


def test_a_bad_item_is_422_naming_it_and_nothing_is_stored(
    client: TestClient, alice: Account
) -> None:
    first, second = _images(client, alice, 2)
    cases = [
        ([{"id": first, "favorite": True}, {"id": second, "taken_at": "1200-01-01T00:00:00Z"}],
         "items[1]"),
        ([{"id": first, "favorite": True}, {"id": second, "favorite": None}], "items[1]"),
        ([{"id": first, "favorite": True}, {"id": first, "title": "x"}], "as items[0]"),
        ([{"id": first, "favorite": True}, {"id": second, "owner_id": first}], "items.1"),
    ]  # fmt: skip
    for items, named in cases:
        response = client.post("/v1/images/batch", json={"items": items}, headers=alice.headers)
        assert response.status_code == 422, response.text
        assert named in response.json()["detail"], response.json()["detail"]
        assert _read(client, alice, first)["favorite"] is False
    empty = client.post("/v1/images/batch", json={"items": []}, headers=alice.headers)
    assert empty.status_code == 422
    over = [{"id": str(uuid.uuid4())}] * 1001
    assert (
        client.post("/v1/images/batch", json={"items": over}, headers=alice.headers).status_code
        == 422
    )


def test_one_foreign_image_is_404_and_nothing_of_the_batch_is_stored(
    client: TestClient, alice: Account, bob: Account
) -> None:
    (mine,) = _images(client, alice, 1)
    (theirs,) = _images(client, bob, 1)
    items = [{"id": mine, "favorite": True}, {"id": theirs, "favorite": True}]
    response = client.post("/v1/images/batch", json={"items": items}, headers=alice.headers)
    assert response.status_code == 404
    assert _read(client, alice, mine)["favorite"] is False
    assert _read(client, bob, theirs)["favorite"] is False
    for action in ("trash", "restore"):
        moved = client.post(
            f"/v1/images/{action}", json={"image_ids": [mine, theirs]}, headers=alice.headers
        )
        assert moved.status_code == 404
    assert _read(client, alice, mine)["trashed"] is False
    assert _read(client, bob, theirs)["trashed"] is False


def test_many_images_go_to_the_trash_and_come_back(client: TestClient, alice: Account) -> None:
    ids = _images(client, alice, 3)
    trashed = client.post("/v1/images/trash", json={"image_ids": ids[:2]}, headers=alice.headers)
    assert trashed.status_code == 200
    assert [item["trashed"] for item in trashed.json()["items"]] == [True, True]
    first_time = trashed.json()["items"][0]["trashed_at"]
    again = client.post("/v1/images/trash", json={"image_ids": ids[:1]}, headers=alice.headers)
    assert again.json()["items"][0]["trashed_at"] == first_time
    timeline = client.get("/v1/images", headers=alice.headers).json()["items"]
    assert [item["id"] for item in timeline] == [ids[2]]
    restored = client.post("/v1/images/restore", json={"image_ids": ids[:2]}, headers=alice.headers)
    assert [item["trashed"] for item in restored.json()["items"]] == [False, False]
    assert len(client.get("/v1/images", headers=alice.headers).json()["items"]) == 3
    twice = client.post(
        "/v1/images/trash", json={"image_ids": [ids[0], ids[0]]}, headers=alice.headers
    )
    assert twice.status_code == 422 and "image_ids[1]" in twice.json()["detail"]

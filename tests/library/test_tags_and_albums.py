"""The tag library and albums: names, counts, bulk add and remove, image pages."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account
from tests.library.factories import make_album, make_image, make_tag


def _walk(client: TestClient, account: Account, url: str) -> list[str]:
    """Every id a paged list returns, following next_cursor, limit 2."""
    seen: list[str] = []
    cursor = None
    while True:
        page = client.get(
            f"{url}?limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=account.headers
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


def test_tags_are_created_listed_by_name_and_counted(client: TestClient, alice: Account) -> None:
    image = make_image(client, alice, tags=["beach"])
    created = client.post("/v1/tags", json={"name": "  Zebra "}, headers=alice.headers)
    assert created.status_code == 201
    assert created.json()["name"] == "Zebra"
    assert created.json()["image_count"] == 0
    make_tag(client, alice, "apple")
    listed = client.get("/v1/tags", headers=alice.headers).json()
    assert [(t["name"], t["image_count"]) for t in listed["items"]] == [
        ("apple", 0),
        ("beach", 1),
        ("Zebra", 0),
    ]
    client.delete(f"/v1/images/{image}", headers=alice.headers)
    beach = client.get("/v1/tags", headers=alice.headers).json()["items"][1]
    assert beach["image_count"] == 0  # images in the trash are not counted


def test_tag_pages_have_no_gaps_or_repeats(client: TestClient, alice: Account) -> None:
    names = ["b", "A", "c", "D", "e"]
    ids = {make_tag(client, alice, n): n for n in names}
    seen = _walk(client, alice, "/v1/tags")
    assert [ids[i] for i in seen] == ["A", "b", "c", "D", "e"]


def test_tag_names_clash_ignoring_case(client: TestClient, alice: Account) -> None:
    tag = make_tag(client, alice, "Beach")
    other = make_tag(client, alice, "Sea")
    again = client.post("/v1/tags", json={"name": "BEACH"}, headers=alice.headers)
    assert again.status_code == 409
    assert again.json()["type"].endswith("/conflict")
    clash = client.patch(f"/v1/tags/{other}", json={"name": "beach"}, headers=alice.headers)
    assert clash.status_code == 409
    recased = client.patch(f"/v1/tags/{tag}", json={"name": "BEACH"}, headers=alice.headers)
    assert recased.json()["name"] == "BEACH"
    for body in [{"name": "a,b"}, {"name": "  "}, {"name": "x" * 101}, {"name": "x", "id": 1}]:
        assert client.post("/v1/tags", json=body, headers=alice.headers).status_code == 422, body


def test_bulk_tagging_is_idempotent(client: TestClient, alice: Account) -> None:
    tag = make_tag(client, alice, "trip")
    images = [make_image(client, alice) for _ in range(3)]
    url = f"/v1/tags/{tag}/images"
    first = client.post(url, json={"image_ids": images[:2]}, headers=alice.headers)
    assert first.status_code == 200, first.text
    assert first.json()["image_count"] == 2
    again = client.post(url, json={"image_ids": [*images, images[0]]}, headers=alice.headers)
    assert again.json()["image_count"] == 3
    record = client.get(f"/v1/images/{images[0]}", headers=alice.headers).json()
    assert record["tags"] == ["trip"]
    removed = client.post(
        f"{url}/remove", json={"image_ids": [images[0], images[0]]}, headers=alice.headers
    )
    assert removed.json()["image_count"] == 2
    removed_again = client.post(
        f"{url}/remove", json={"image_ids": [images[0]]}, headers=alice.headers
    )
    assert removed_again.json()["image_count"] == 2


@pytest.mark.parametrize("route", ["/v1/tags/{id}/images", "/v1/albums/{id}/images"])
def test_bulk_lists_are_bounded(client: TestClient, alice: Account, route: str) -> None:
    target = make_tag(client, alice) if "tags" in route else make_album(client, alice)
    url = route.replace("{id}", target)
    for ids in [[], [str(uuid.uuid4()) for _ in range(1001)], ["nope"]]:
        response = client.post(url, json={"image_ids": ids}, headers=alice.headers)
        assert response.status_code == 422, len(ids)


def test_deleting_a_tag_keeps_its_images(client: TestClient, alice: Account) -> None:
    image = make_image(client, alice, tags=["gone"])
    tag = client.get("/v1/tags", headers=alice.headers).json()["items"][0]["id"]
    assert client.delete(f"/v1/tags/{tag}", headers=alice.headers).status_code == 204
    assert client.get(f"/v1/images/{image}", headers=alice.headers).json()["tags"] == []
    assert client.delete(f"/v1/tags/{tag}", headers=alice.headers).status_code == 404


@pytest.mark.parametrize("kind", ["tags", "albums"])
def test_image_pages_follow_the_timeline_without_the_trash(
    client: TestClient, alice: Account, kind: str
) -> None:
    target = make_tag(client, alice) if kind == "tags" else make_album(client, alice)
    images = [make_image(client, alice, f"2022:01:{day:02d} 08:00:00") for day in (3, 1, 5, 2, 4)]
    make_image(client, alice)  # not a member
    client.post(f"/v1/{kind}/{target}/images", json={"image_ids": images}, headers=alice.headers)
    client.delete(f"/v1/images/{images[3]}", headers=alice.headers)
    seen = _walk(client, alice, f"/v1/{kind}/{target}/images")
    assert seen == [images[2], images[4], images[0], images[1]]


def test_albums_are_created_changed_listed_and_deleted(client: TestClient, alice: Account) -> None:
    created = client.post(
        "/v1/albums", json={"name": "Rome", "description": "May 2022"}, headers=alice.headers
    )
    assert created.status_code == 201
    album = created.json()
    assert (album["name"], album["description"], album["image_count"]) == ("Rome", "May 2022", 0)
    changed = client.patch(
        f"/v1/albums/{album['id']}", json={"description": None}, headers=alice.headers
    )
    assert (changed.json()["name"], changed.json()["description"]) == ("Rome", None)
    renamed = client.patch(
        f"/v1/albums/{album['id']}", json={"name": "Roma"}, headers=alice.headers
    )
    assert renamed.json()["name"] == "Roma"
    fetched = client.get(f"/v1/albums/{album['id']}", headers=alice.headers).json()
    assert fetched["name"] == "Roma"
    for body in [{"name": None}, {"name": ""}, {"name": "x" * 201}, {"cover": "x"}]:
        response = client.patch(f"/v1/albums/{album['id']}", json=body, headers=alice.headers)
        assert response.status_code == 422, body
    image = make_image(client, alice)
    client.post(
        f"/v1/albums/{album['id']}/images", json={"image_ids": [image]}, headers=alice.headers
    )
    assert client.delete(f"/v1/albums/{album['id']}", headers=alice.headers).status_code == 204
    assert client.get(f"/v1/albums/{album['id']}", headers=alice.headers).status_code == 404
    assert client.get(f"/v1/images/{image}", headers=alice.headers).status_code == 200


def test_album_pages_have_no_gaps_or_repeats(client: TestClient, alice: Account) -> None:
    made = [make_album(client, alice, f"A{n}") for n in range(5)]
    assert _walk(client, alice, "/v1/albums") == made[::-1]


def test_an_image_can_be_in_many_albums_and_adding_is_idempotent(
    client: TestClient, alice: Account
) -> None:
    first, second = make_album(client, alice, "One"), make_album(client, alice, "Two")
    images = [make_image(client, alice) for _ in range(2)]
    for album in [first, second, first]:
        response = client.post(
            f"/v1/albums/{album}/images", json={"image_ids": images}, headers=alice.headers
        )
        assert response.json()["image_count"] == 2
    removed = client.post(
        f"/v1/albums/{first}/images/remove", json={"image_ids": images[:1]}, headers=alice.headers
    )
    assert removed.json()["image_count"] == 1
    again = client.post(
        f"/v1/albums/{first}/images/remove", json={"image_ids": images[:1]}, headers=alice.headers
    )
    assert again.json()["image_count"] == 1
    assert client.get(f"/v1/albums/{second}", headers=alice.headers).json()["image_count"] == 2

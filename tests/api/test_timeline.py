"""The timeline: newest first, keyset pages, filters."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient

from tests import imagegen
from tests.conftest import Account, upload


def _with_date(seed: int, when: str) -> bytes:
    return imagegen.make_jpeg(
        None, 16, 16, seed=seed, exif=imagegen.make_exif(datetime_original=when)
    )


@pytest.fixture
def photos(client: TestClient, alice: Account) -> list[dict[str, object]]:
    """Twenty-five photos taken on distinct days of 2020, uploaded in random order."""
    days = list(range(1, 26))
    random.Random(4).shuffle(days)
    records = []
    for day in days:
        response = upload(client, alice, _with_date(day, f"2020:03:{day:02d} 10:00:00"))
        assert response.status_code == 201
        records.append(response.json())
    return records


def _all_pages(client: TestClient, account: Account, query: str) -> list[list[dict[str, object]]]:
    pages = []
    cursor = None
    while True:
        url = f"/v1/images?{query}" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=account.headers).json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_pages_walk_the_timeline_newest_first_without_gaps(
    client: TestClient, alice: Account, photos: list[dict[str, object]]
) -> None:
    pages = _all_pages(client, alice, "limit=7")
    assert [len(p) for p in pages] == [7, 7, 7, 4]
    seen = [item["taken_at"] for page in pages for item in page]
    assert seen == sorted((p["taken_at"] for p in photos), reverse=True)  # type: ignore[type-var]
    assert len({item["id"] for page in pages for item in page}) == 25


def test_same_taken_at_is_ordered_by_id_across_pages(client: TestClient, alice: Account) -> None:
    for seed in range(6):
        upload(client, alice, _with_date(100 + seed, "2019:01:01 00:00:00"))
    pages = _all_pages(client, alice, "limit=4")
    ids = [str(item["id"]) for page in pages for item in page]
    assert len(ids) == 6 == len(set(ids))
    assert ids == sorted(ids, reverse=True)


def test_date_filters(client: TestClient, alice: Account, photos: list[dict[str, object]]) -> None:
    body = client.get(
        "/v1/images?taken_after=2020-03-10T00:00:00Z&taken_before=2020-03-15T00:00:00Z",
        headers=alice.headers,
    ).json()
    days = [item["taken_at"][8:10] for item in body["items"]]
    assert days == ["14", "13", "12", "11", "10"]


def test_tag_and_favorite_filters(
    client: TestClient, alice: Account, photos: list[dict[str, object]]
) -> None:
    first, second = photos[0]["id"], photos[1]["id"]
    client.patch(
        f"/v1/images/{first}", json={"tags": ["Beach"], "favorite": True}, headers=alice.headers
    )
    client.patch(f"/v1/images/{second}", json={"tags": ["beach", "sea"]}, headers=alice.headers)
    beach = client.get("/v1/images?tag=BEACH", headers=alice.headers).json()["items"]
    assert {i["id"] for i in beach} == {first, second}
    sea = client.get("/v1/images?tag=sea", headers=alice.headers).json()["items"]
    assert [i["id"] for i in sea] == [second]
    favorites = client.get("/v1/images?favorite=true", headers=alice.headers).json()["items"]
    assert [i["id"] for i in favorites] == [first]
    not_favorites = client.get("/v1/images?favorite=false", headers=alice.headers).json()["items"]
    assert len(not_favorites) == 24
    assert client.get("/v1/images?tag=b%25", headers=alice.headers).json()["items"] == []


def test_trashed_images_leave_the_timeline_and_show_in_the_trash(
    client: TestClient, alice: Account, photos: list[dict[str, object]]
) -> None:
    gone = photos[3]["id"]
    client.delete(f"/v1/images/{gone}", headers=alice.headers)
    timeline = client.get("/v1/images?limit=500", headers=alice.headers).json()["items"]
    assert gone not in {i["id"] for i in timeline}
    trash = client.get("/v1/images?trashed=true", headers=alice.headers).json()["items"]
    assert [i["id"] for i in trash] == [gone]


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=501",
        "limit=x",
        "taken_after=yesterday",
        "taken_after=2020-01-01T00:00:00",
        "favorite=maybe",
    ],
)
def test_bad_list_parameters_are_422(client: TestClient, alice: Account, query: str) -> None:
    response = client.get(f"/v1/images?{query}", headers=alice.headers)
    assert response.status_code == 422, response.text


def test_a_forged_cursor_is_400(client: TestClient, alice: Account) -> None:
    response = client.get("/v1/images?cursor=bm9wZQ", headers=alice.headers)
    assert response.status_code == 400
    assert response.json()["type"].endswith("/bad-request")


def test_filters_for_a_service_with_work_to_do(client: TestClient, alice: Account) -> None:
    first = upload(client, alice, imagegen.make_jpeg(None, 16, 16, seed=71)).json()
    second = upload(client, alice, imagegen.make_jpeg(None, 16, 16, seed=72)).json()
    space = {"name": "clip", "model": "m", "dimension": 3, "metric": "cosine"}
    assert client.post("/v1/embedding-spaces", json=space, headers=alice.headers).is_success
    vector = {"values": [0.1, 0.2, 0.3]}
    url = f"/v1/images/{first['id']}/embeddings/clip"
    assert client.put(url, json=vector, headers=alice.headers).is_success
    result = {"model_version": "1", "payload": {"caption": "x"}}
    url = f"/v1/images/{second['id']}/analysis/captioner"
    assert client.put(url, json=result, headers=alice.headers).is_success

    def ids(query: str) -> list[str]:
        response = client.get(f"/v1/images?{query}", headers=alice.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids("missing_vector=clip") == [second["id"]]
    assert ids("missing_analysis=captioner") == [first["id"]]
    assert ids("missing_analysis=tagger") == sorted([first["id"], second["id"]], key=ids("").index)
    unknown = client.get("/v1/images?missing_vector=nope", headers=alice.headers)
    assert unknown.status_code == 404
    changed = client.patch(
        f"/v1/images/{first['id']}", json={"favorite": True}, headers=alice.headers
    ).json()
    since = changed["updated_at"].replace("+00:00", "Z")
    assert ids(f"updated_after={since}") == [first["id"]]
    assert set(ids(f"created_after={second['uploaded_at'].replace('+00:00', 'Z')}")) >= {
        second["id"]
    }
    assert ids("created_after=2999-01-01T00:00:00Z") == []

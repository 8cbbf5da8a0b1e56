"""Analysis results and faces of many images in one request: one transaction, all or
nothing, isolated like every route."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Account
from tests.library.factories import BOX, make_image, make_person

FACE = {"box": BOX, "score": 0.9, "model": "arcface"}


def _analysis(image_id: str, analyzer: str, caption: str) -> dict[str, object]:
    return {
        "image_id": image_id,
        "analyzer": analyzer,
        "model_version": "1",
        "payload": {
            "caption": caption,
            "objects": [{"label": "Dog", "confidence": 0.8, "box": BOX}],
        },
    }


def _search(client: TestClient, account: Account, text: str) -> list[str]:
    found = client.post("/v1/search", json={"text": text}, headers=account.headers).json()
    return [hit["image"]["id"] for hit in found["items"]]


def test_a_batch_of_results_is_stored_as_each_put_would(client: TestClient, alice: Account) -> None:
    first, second = make_image(client, alice), make_image(client, alice)
    items = [
        _analysis(first, "captioner", "a lighthouse"),
        _analysis(second, "captioner", "a harbour"),
        _analysis(first, "detector", "unused"),
    ]
    response = client.post("/v1/analysis/batch", json={"items": items}, headers=alice.headers)
    assert response.status_code == 201, response.text
    got = response.json()["items"]
    assert [(r["image_id"], r["analyzer"]) for r in got] == [
        (first, "captioner"),
        (second, "captioner"),
        (first, "detector"),
    ]
    read = client.get(f"/v1/images/{second}/analysis/captioner", headers=alice.headers).json()
    assert read["payload"]["caption"] == "a harbour"
    assert _search(client, alice, "lighthouse") == [first]
    assert sorted(_search(client, alice, "dog")) == sorted([first, second])


def test_a_bad_or_repeated_result_is_422_naming_it_and_nothing_is_stored(
    client: TestClient, alice: Account
) -> None:
    image = make_image(client, alice)
    good = _analysis(image, "captioner", "kept out")
    cases = [
        ([good, {**good, "analyzer": "Bad Name"}], "items.1.analyzer"),
        ([good, {**good, "model_version": ""}], "items.1.model_version"),
        ([good, dict(good)], "as items[0]"),
    ]
    for items, named in cases:
        response = client.post("/v1/analysis/batch", json={"items": items}, headers=alice.headers)
        assert response.status_code == 422, response.text
        assert named in response.json()["detail"], response.json()["detail"]
    assert client.get(f"/v1/images/{image}/analysis", headers=alice.headers).json()["items"] == []


def test_one_foreign_image_or_person_is_404_and_nothing_is_stored(
    client: TestClient, alice: Account, bob: Account
) -> None:
    mine, theirs = make_image(client, alice), make_image(client, bob)
    their_person = make_person(client, bob)
    results = [_analysis(mine, "captioner", "x"), _analysis(theirs, "captioner", "x")]
    sent = client.post("/v1/analysis/batch", json={"items": results}, headers=alice.headers)
    assert sent.status_code == 404
    assert client.get(f"/v1/images/{mine}/analysis", headers=alice.headers).json()["items"] == []
    for items in (
        [{"image_id": mine, "faces": [FACE]}, {"image_id": theirs, "faces": [FACE]}],
        [{"image_id": mine, "faces": [FACE, {**FACE, "person_id": their_person}]}],
    ):
        response = client.post("/v1/faces/batch", json={"items": items}, headers=alice.headers)
        assert response.status_code == 404
    assert client.get(f"/v1/images/{mine}/faces", headers=alice.headers).json()["items"] == []
    assert client.get(f"/v1/images/{theirs}/faces", headers=bob.headers).json()["items"] == []


def test_a_batch_of_faces_is_stored_per_image_and_names_are_searchable(
    client: TestClient, alice: Account
) -> None:
    first, second = make_image(client, alice), make_image(client, alice)
    person = make_person(client, alice, name="Ada Lovelace")
    items = [
        {"image_id": first, "faces": [FACE, {**FACE, "person_id": person}]},
        {"image_id": second, "faces": [FACE]},
    ]
    response = client.post("/v1/faces/batch", json={"items": items}, headers=alice.headers)
    assert response.status_code == 201, response.text
    got = response.json()["items"]
    assert [(item["image_id"], len(item["faces"])) for item in got] == [(first, 2), (second, 1)]
    assert got[0]["faces"][1]["person_id"] == person
    listed = client.get(f"/v1/images/{first}/faces", headers=alice.headers).json()["items"]
    assert {face["id"] for face in listed} == {face["id"] for face in got[0]["faces"]}
    assert _search(client, alice, "lovelace") == [first]
    twice = [{"image_id": first, "faces": [FACE]}, {"image_id": first, "faces": [FACE]}]
    again = client.post("/v1/faces/batch", json={"items": twice}, headers=alice.headers)
    assert again.status_code == 422 and "as items[0]" in again.json()["detail"]

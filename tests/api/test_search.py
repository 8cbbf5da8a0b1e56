"""POST /v1/search: filters, full text, vectors, fusion, paging and isolation."""

from __future__ import annotations

import math
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import imagegen
from tests.conftest import Account, upload
from tests.library.factories import make_album, make_analysis, make_face, make_image, make_person

DIM = 4


def _search(client: TestClient, account: Account, body: dict[str, object]) -> dict[str, Any]:
    response = client.post("/v1/search", json=body, headers=account.headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _ids(answer: dict[str, Any]) -> list[str]:
    return [item["image"]["id"] for item in answer["items"]]


def _space(client: TestClient, account: Account, name: str = "clip") -> None:
    body = {"name": name, "model": "test-model", "dimension": DIM, "metric": "cosine"}
    response = client.post("/v1/embedding-spaces", json=body, headers=account.headers)
    assert response.status_code in {200, 201}, response.text


def _vector(client: TestClient, account: Account, image_id: str, values: list[float]) -> None:
    response = client.put(
        f"/v1/images/{image_id}/embeddings/clip", json={"values": values}, headers=account.headers
    )
    assert response.status_code in {200, 201}, response.text


def _angle(degrees: float) -> list[float]:
    radians = math.radians(degrees)
    return [math.cos(radians), math.sin(radians), 0.0, 0.0]


def test_filters_alone_list_matches_in_timeline_order(client: TestClient, alice: Account) -> None:
    old = make_image(client, alice, taken="2019:05:01 10:00:00", tags=["beach"])
    new = make_image(client, alice, taken="2021:05:01 10:00:00", tags=["beach", "sea"])
    make_image(client, alice, taken="2020:05:01 10:00:00", tags=["city"])
    answer = _search(client, alice, {"filters": {"tags": ["Beach"]}})
    assert _ids(answer) == [new, old]
    assert all(item["score"] == 0 for item in answer["items"])
    both = _search(client, alice, {"filters": {"tags": ["beach", "sea"]}})
    assert _ids(both) == [new]
    dated = _search(client, alice, {"filters": {"taken_before": "2020-01-01T00:00:00Z"}})
    assert _ids(dated) == [old]


def test_album_person_label_and_place_filters(client: TestClient, alice: Account) -> None:
    in_album = make_image(client, alice)
    album = make_album(client, alice)
    added = client.post(
        f"/v1/albums/{album}/images", json={"image_ids": [in_album]}, headers=alice.headers
    )
    assert added.status_code in {200, 204}, added.text
    with_person = make_image(client, alice)
    person = make_person(client, alice, name="Ada")
    make_face(client, alice, image_id=with_person, person_id=person)
    labelled = make_image(client, alice)
    make_analysis(
        client,
        alice,
        image_id=labelled,
        payload={"scenes": [{"label": "Sunny  Beach", "confidence": 0.7}]},
    )
    exif = imagegen.make_exif(gps=imagegen.gps_tags((48, 51, 30), "N", (2, 17, 40), "E"))
    placed = upload(client, alice, imagegen.make_jpeg(None, 20, 20, seed=77, exif=exif)).json()[
        "id"
    ]

    assert _ids(_search(client, alice, {"filters": {"albums": [album]}})) == [in_album]
    assert _ids(_search(client, alice, {"filters": {"people": [person]}})) == [with_person]
    assert _ids(_search(client, alice, {"filters": {"labels": ["sunny beach"]}})) == [labelled]
    assert _ids(_search(client, alice, {"filters": {"has_gps": True}})) == [placed]
    paris = {"min_latitude": 48, "min_longitude": 2, "max_latitude": 49, "max_longitude": 3}
    assert _ids(_search(client, alice, {"filters": {"within": paris}})) == [placed]
    tokyo = {"min_latitude": 35, "min_longitude": 139, "max_latitude": 36, "max_longitude": 140}
    assert _ids(_search(client, alice, {"filters": {"within": tokyo}})) == []


def test_text_finds_descriptions_ocr_and_labels(client: TestClient, alice: Account) -> None:
    described = make_image(client, alice, description="grandmother's birthday cake")
    read = make_image(client, alice)
    make_analysis(
        client, alice, image_id=read, analyzer="ocr", payload={"ocr": [{"text": "Birthday sale"}]}
    )
    make_image(client, alice, description="nothing to see")
    answer = _search(client, alice, {"text": "birthday"})
    assert sorted(_ids(answer)) == sorted([described, read])
    assert all(item["text_rank"] > 0 for item in answer["items"])
    assert _ids(_search(client, alice, {"text": "cake"})) == [described]
    assert _ids(_search(client, alice, {"text": "birthday -cake"})) == [read]


def test_text_finds_parts_of_filenames_and_words_with_a_typo(
    client: TestClient, alice: Account, bob: Account
) -> None:
    holiday = make_image(client, alice, filename="IMG_holiday-2019.jpg")
    dated = make_image(client, alice, filename="IMG_20190704_1200.jpg")
    harbour = make_image(client, alice)
    make_analysis(client, alice, harbour, "captioner", {"caption": "A lighthouse by the harbour"})
    make_image(client, alice, filename="IMG_2020_garden.jpg")
    make_image(client, bob, filename="IMG_holiday-2019.jpg")

    assert _ids(_search(client, alice, {"text": "holiday 2019"})) == [holiday]
    # "2019" as a word is in one filename and a part of a word in the other: the word
    # match comes first, with a rank; the part after it, with none.
    found = _search(client, alice, {"text": "2019"})
    assert _ids(found) == [holiday, dated]
    assert found["items"][0]["text_rank"] > 0
    assert found["items"][1]["text_rank"] == 0
    assert _ids(_search(client, alice, {"text": "lighthuose"})) == [harbour]
    assert _ids(_search(client, alice, {"text": "harbor"})) == [harbour]
    assert _ids(_search(client, alice, {"text": "0704_12"})) == [dated]


def test_near_matches_follow_only_plain_words(client: TestClient, alice: Account) -> None:
    harbour = make_image(client, alice, description="the harbour at night")
    # Web-search syntax keeps its exact meaning: no typo tolerance inside it.
    assert _ids(_search(client, alice, {"text": '"harbor at night"'})) == []
    assert _ids(_search(client, alice, {"text": "harbour -night"})) == []
    assert _ids(_search(client, alice, {"text": "harbor night"})) == [harbour]
    # Too short for trigrams: words only.
    assert _ids(_search(client, alice, {"text": "at"})) == [harbour]
    assert _ids(_search(client, alice, {"text": "ni"})) == []


def test_vector_search_returns_nearest_first(client: TestClient, alice: Account) -> None:
    _space(client, alice)
    images = {angle: make_image(client, alice) for angle in (0, 10, 50, 90, 170)}
    for angle, image_id in images.items():
        _vector(client, alice, image_id, _angle(angle))
    answer = _search(client, alice, {"vector": {"space": "clip", "values": _angle(12)}, "limit": 3})
    assert _ids(answer) == [images[10], images[0], images[50]]
    distances = [item["distance"] for item in answer["items"]]
    assert distances == sorted(distances)
    like = _search(
        client, alice, {"vector": {"space": "clip", "like_image": images[0]}, "limit": 2}
    )
    assert _ids(like) == [images[10], images[50]]


def test_vector_search_respects_filters_and_the_trash(client: TestClient, alice: Account) -> None:
    _space(client, alice)
    near = make_image(client, alice, tags=["keep"])
    nearer_but_trashed = make_image(client, alice, tags=["keep"])
    far = make_image(client, alice, tags=["keep"])
    untagged = make_image(client, alice)
    for image_id, angle in ((near, 5), (nearer_but_trashed, 1), (far, 80), (untagged, 0)):
        _vector(client, alice, image_id, _angle(angle))
    client.delete(f"/v1/images/{nearer_but_trashed}", headers=alice.headers)
    body = {"filters": {"tags": ["keep"]}, "vector": {"space": "clip", "values": _angle(0)}}
    assert _ids(_search(client, alice, body)) == [near, far]


def test_text_and_vector_are_fused(client: TestClient, alice: Account) -> None:
    _space(client, alice)
    both = make_image(client, alice, description="red car")
    text_only = make_image(client, alice, description="a car with red paint, parked by a red door")
    vector_only = make_image(client, alice, description="a boat")
    for image_id, angle in ((both, 3), (text_only, 120), (vector_only, 1)):
        _vector(client, alice, image_id, _angle(angle))
    answer = _search(
        client, alice, {"text": "red car", "vector": {"space": "clip", "values": _angle(0)}}
    )
    ids = _ids(answer)
    assert ids[0] == both
    assert set(ids) == {both, text_only, vector_only}
    scores = [item["score"] for item in answer["items"]]
    assert scores == sorted(scores, reverse=True)


def test_ranked_pages_join_without_gaps(client: TestClient, alice: Account) -> None:
    _space(client, alice)
    ids = []
    for angle in range(0, 70, 10):
        image_id = make_image(client, alice)
        _vector(client, alice, image_id, _angle(angle))
        ids.append(image_id)
    body: dict[str, object] = {"vector": {"space": "clip", "values": _angle(0)}, "limit": 3}
    seen: list[str] = []
    while True:
        answer = _search(client, alice, body)
        seen.extend(_ids(answer))
        if answer["next_cursor"] is None:
            break
        body = {**body, "cursor": answer["next_cursor"]}
    assert seen == ids
    stale = client.post(
        "/v1/search",
        json={"vector": {"space": "clip", "values": _angle(45)}, "cursor": body["cursor"]},
        headers=alice.headers,
    )
    assert stale.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"vector": {"space": "clip"}},
        {
            "vector": {
                "space": "clip",
                "values": [1, 0, 0, 0],
                "like_image": "00000000-0000-0000-0000-000000000000",
            }
        },
        {"vector": {"space": "clip", "values": [1, 0]}},
        {"text": ""},
        {"limit": 0},
        {"limit": 101},
        {
            "filters": {
                "within": {
                    "min_latitude": 10,
                    "min_longitude": 0,
                    "max_latitude": 5,
                    "max_longitude": 1,
                }
            }
        },
        {"filters": {"owner_id": "x"}},
        {"owner_id": "x"},
    ],
)
def test_bad_searches_are_422(client: TestClient, alice: Account, body: dict[str, object]) -> None:
    _space(client, alice)
    response = client.post("/v1/search", json=body, headers=alice.headers)
    assert response.status_code == 422, response.text


def test_non_finite_values_are_422(client: TestClient, alice: Account) -> None:
    _space(client, alice)
    response = client.post(
        "/v1/search",
        content=b'{"vector": {"space": "clip", "values": [NaN, 0, 0, 0]}}',
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422


def test_search_never_crosses_users(client: TestClient, alice: Account, bob: Account) -> None:
    _space(client, alice)
    _space(client, bob)
    alices = make_image(client, alice, description="secret plans", tags=["private"])
    _vector(client, alice, alices, _angle(0))
    album = make_album(client, alice)
    person = make_person(client, alice)
    assert _ids(_search(client, bob, {"text": "secret"})) == []
    assert _ids(_search(client, bob, {"filters": {"tags": ["private"]}})) == []
    assert _ids(_search(client, bob, {"vector": {"space": "clip", "values": _angle(0)}})) == []
    for body in (
        {"vector": {"space": "clip", "like_image": alices}},
        {"filters": {"albums": [album]}},
        {"filters": {"people": [person]}},
    ):
        response = client.post("/v1/search", json=body, headers=bob.headers)
        assert response.status_code == 404, (body, response.text)


def test_an_unknown_space_is_404(client: TestClient, alice: Account) -> None:
    response = client.post(
        "/v1/search", json={"vector": {"space": "nope", "values": [1.0]}}, headers=alice.headers
    )
    assert response.status_code == 404

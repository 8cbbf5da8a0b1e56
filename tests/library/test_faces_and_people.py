"""Faces and people: storing faces, assigning and moving them, naming, hiding, merging
and deleting people, and the images a person shows up in."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Account
from tests.library.factories import BOX, make_face, make_image, make_person


def _person(client: TestClient, account: Account, person_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/people/{person_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_faces_are_stored_and_listed(client: TestClient, alice: Account) -> None:
    image = make_image(client, alice)
    person = make_person(client, alice, "Ada")
    body = {
        "faces": [
            {"box": BOX, "score": 0.9, "model": "arcface", "embedding": [0.5] * 512},
            {
                "box": {"x": 0, "y": 0, "width": 1, "height": 1},
                "score": 0.3,
                "model": "m",
                "person_id": person,
            },
        ]
    }
    created = client.post(f"/v1/images/{image}/faces", json=body, headers=alice.headers)
    assert created.status_code == 201, created.text
    first, second = created.json()["items"]
    assert first["box"] == BOX
    assert first["has_embedding"] is True
    assert first["person_id"] is None
    assert second["has_embedding"] is False
    assert second["person_id"] == person
    assert set(first) == {"id", "image_id", "person_id", "box", "score", "model", "has_embedding"}
    listed = client.get(f"/v1/images/{image}/faces", headers=alice.headers).json()["items"]
    # Faces added in one request share a creation time; within it the order is by id.
    assert [f["id"] for f in listed] == sorted([first["id"], second["id"]])
    assert _person(client, alice, person)["face_count"] == 1
    people = client.get(f"/v1/images/{image}/people", headers=alice.headers).json()["items"]
    assert [p["id"] for p in people] == [person]


def test_bad_faces_are_422_and_store_nothing(client: TestClient, alice: Account) -> None:
    image = make_image(client, alice)
    good: dict[str, Any] = {"box": BOX, "score": 0.5, "model": "m"}
    bad_faces = [
        {**good, "box": {"x": 0.9, "y": 0, "width": 0.2, "height": 0.1}},
        {**good, "box": {"x": 0, "y": 0.5, "width": 0.1, "height": 0.6}},
        {**good, "box": {**BOX, "x": -0.01}},
        {**good, "box": {**BOX, "depth": 1}},
        {**good, "score": 1.01},
        {**good, "model": ""},
        {**good, "embedding": []},
        {**good, "embedding": [0.0] * 4097},
        {**good, "colour": "red"},
        {**good, "person_id": "not-a-uuid"},
    ]
    for face in bad_faces:
        response = client.post(
            f"/v1/images/{image}/faces", json={"faces": [face]}, headers=alice.headers
        )
        assert response.status_code == 422, (face, response.text)
    too_many = client.post(
        f"/v1/images/{image}/faces", json={"faces": [good] * 101}, headers=alice.headers
    )
    assert too_many.status_code == 422
    for number in ["NaN", "Infinity", "-Infinity"]:
        raw = json.dumps({"faces": [good]})[:-3] + f', "embedding": [0.1, {number}]}}]}}'
        response = client.post(
            f"/v1/images/{image}/faces",
            content=raw,
            headers={**alice.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, (number, response.text)
    assert client.get(f"/v1/images/{image}/faces", headers=alice.headers).json() == {"items": []}


def test_faces_are_assigned_moved_and_unassigned(client: TestClient, alice: Account) -> None:
    ada, grace = make_person(client, alice, "Ada"), make_person(client, alice, "Grace")
    face = make_face(client, alice)
    assigned = client.patch(f"/v1/faces/{face}", json={"person_id": ada}, headers=alice.headers)
    assert assigned.json()["person_id"] == ada
    moved = client.patch(f"/v1/faces/{face}", json={"person_id": grace}, headers=alice.headers)
    assert moved.json()["person_id"] == grace
    assert _person(client, alice, ada)["face_count"] == 0
    assert _person(client, alice, grace)["face_count"] == 1
    cleared = client.patch(f"/v1/faces/{face}", json={"person_id": None}, headers=alice.headers)
    assert cleared.json()["person_id"] is None
    assert client.patch(f"/v1/faces/{face}", json={}, headers=alice.headers).status_code == 422


def test_a_deleted_face_is_gone(client: TestClient, alice: Account) -> None:
    image = make_image(client, alice)
    face = make_face(client, alice, image)
    assert client.delete(f"/v1/faces/{face}", headers=alice.headers).status_code == 204
    assert client.get(f"/v1/images/{image}/faces", headers=alice.headers).json() == {"items": []}
    assert client.delete(f"/v1/faces/{face}", headers=alice.headers).status_code == 404


def test_a_person_is_created_with_faces_taken_from_others(
    client: TestClient, alice: Account
) -> None:
    old = make_person(client, alice, "Old")
    faces = [make_face(client, alice, person_id=old) for _ in range(2)]
    response = client.post(
        "/v1/people", json={"name": "  New   Name ", "face_ids": faces}, headers=alice.headers
    )
    assert response.status_code == 201, response.text
    person = response.json()
    assert person["name"] == "New Name"
    assert person["face_count"] == 2
    assert person["hidden"] is False
    assert _person(client, alice, old)["face_count"] == 0
    unnamed = client.post("/v1/people", json={}, headers=alice.headers).json()
    assert unnamed["name"] is None


def test_people_are_renamed_and_hidden(client: TestClient, alice: Account) -> None:
    person = make_person(client, alice, "Ada")
    renamed = client.patch(f"/v1/people/{person}", json={"name": "Ada L."}, headers=alice.headers)
    assert renamed.json()["name"] == "Ada L."
    hidden = client.patch(f"/v1/people/{person}", json={"hidden": True}, headers=alice.headers)
    assert hidden.json()["hidden"] is True
    assert hidden.json()["name"] == "Ada L."
    unnamed = client.patch(f"/v1/people/{person}", json={"name": None}, headers=alice.headers)
    assert unnamed.json()["name"] is None
    for body in [{"hidden": None}, {"face_count": 3}, {"name": "x" * 201}]:
        response = client.patch(f"/v1/people/{person}", json=body, headers=alice.headers)
        assert response.status_code == 422, body


def test_the_people_list_filters_hidden_and_named(client: TestClient, alice: Account) -> None:
    named = make_person(client, alice, "Ada")
    unnamed = make_person(client, alice, None)
    hidden = make_person(client, alice, "Secret")
    client.patch(f"/v1/people/{hidden}", json={"hidden": True}, headers=alice.headers)

    def ids(query: str) -> list[str]:
        body = client.get(f"/v1/people{query}", headers=alice.headers).json()
        return [p["id"] for p in body["items"]]

    assert ids("") == [unnamed, named]
    assert ids("?named=true") == [named]
    assert ids("?named=false") == [unnamed]
    assert ids("?hidden=true") == [hidden]


def test_people_pages_have_no_gaps_or_repeats(client: TestClient, alice: Account) -> None:
    made = [make_person(client, alice, f"P{n}") for n in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        url = "/v1/people?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=alice.headers).json()
        seen += [p["id"] for p in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1]


def test_merge_moves_faces_and_deletes_the_merged(client: TestClient, alice: Account) -> None:
    kept, first, second = (make_person(client, alice, n) for n in ["Ada", "A.", "Lovelace"])
    for person in [kept, first, second, second]:
        make_face(client, alice, person_id=person)
    response = client.post(
        f"/v1/people/{kept}/merge", json={"person_ids": [first, second]}, headers=alice.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["face_count"] == 4
    assert response.json()["name"] == "Ada"
    for gone in [first, second]:
        assert client.get(f"/v1/people/{gone}", headers=alice.headers).status_code == 404
    itself = client.post(
        f"/v1/people/{kept}/merge", json={"person_ids": [kept]}, headers=alice.headers
    )
    assert itself.status_code == 422
    empty = client.post(f"/v1/people/{kept}/merge", json={"person_ids": []}, headers=alice.headers)
    assert empty.status_code == 422


def test_deleting_a_person_keeps_the_faces_unassigned(client: TestClient, alice: Account) -> None:
    person = make_person(client, alice, "Ada")
    image = make_image(client, alice)
    face = make_face(client, alice, image, person)
    assert client.delete(f"/v1/people/{person}", headers=alice.headers).status_code == 204
    assert client.get(f"/v1/people/{person}", headers=alice.headers).status_code == 404
    faces = client.get(f"/v1/images/{image}/faces", headers=alice.headers).json()["items"]
    assert [(f["id"], f["person_id"]) for f in faces] == [(face, None)]


def test_a_persons_images_follow_the_timeline_without_the_trash(
    client: TestClient, alice: Account
) -> None:
    person = make_person(client, alice, "Ada")
    images = [make_image(client, alice, f"2021:05:{day:02d} 12:00:00") for day in range(1, 6)]
    for image in [*images, images[0]]:
        make_face(client, alice, image, person)
    make_image(client, alice)  # without the person
    client.delete(f"/v1/images/{images[2]}", headers=alice.headers)
    seen: list[str] = []
    cursor = None
    while True:
        url = f"/v1/people/{person}/images?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=alice.headers).json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [images[4], images[3], images[1], images[0]]

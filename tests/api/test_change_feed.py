"""The change feed: every change of a user's library, in an order a cursor follows without
ever skipping a change that commits late, and never another user's."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from photostore.db.embedded import APP_ROLE
from tests import imagegen
from tests.conftest import Account, ScratchDatabase, upload
from tests.library.factories import BOX

FACE = {"box": BOX, "score": 0.9, "model": "arcface"}


def _image(client: TestClient, account: Account, seed: int) -> str:
    data = imagegen.make_jpeg(None, 16, 16, seed=seed)
    return str(upload(client, account, data).json()["id"])


def _read(client: TestClient, account: Account, cursor: str | None, limit: int = 100) -> Any:
    query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
    response = client.get(f"/v1/changes{query}", headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _all(client: TestClient, account: Account, cursor: str | None = None) -> tuple[list[Any], str]:
    """Every change after ``cursor``, in pages of 3, and the cursor after them."""
    items: list[Any] = []
    while True:
        page = _read(client, account, cursor, limit=3)
        items += page["items"]
        cursor = page["next_cursor"]
        if not page["items"]:
            assert cursor is not None
            return items, cursor


def test_every_kind_of_change_is_listed_in_order(
    client: TestClient, alice: Account, bob: Account
) -> None:
    start = _read(client, alice, None)
    assert start["items"] == []
    image = _image(client, alice, 1)
    _image(client, bob, 2)
    headers = alice.headers
    url = f"/v1/images/{image}"
    assert client.patch(url, json={"favorite": True}, headers=headers).is_success
    assert client.delete(url, headers=headers).is_success
    assert client.post(f"{url}/restore", headers=headers).is_success
    tag = client.post("/v1/tags", json={"name": "sea"}, headers=headers).json()["id"]
    tagged = {"image_ids": [image]}
    assert client.post(f"/v1/tags/{tag}/images", json=tagged, headers=headers).is_success
    result = {"model_version": "1", "payload": {"caption": "x"}}
    assert client.put(f"{url}/analysis/captioner", json=result, headers=headers).is_success
    assert client.post(f"{url}/faces", json={"faces": [FACE]}, headers=headers).is_success
    space = {"name": "clip", "model": "m", "dimension": 3, "metric": "cosine"}
    assert client.post("/v1/embedding-spaces", json=space, headers=headers).is_success
    vector = {"values": [0.1, 0.2, 0.3]}
    assert client.put(f"{url}/embeddings/clip", json=vector, headers=headers).is_success
    assert client.delete(f"{url}/embeddings/clip", headers=headers).is_success
    assert client.delete(f"{url}?purge=true", headers=headers).status_code == 204

    items, end = _all(client, alice, start["next_cursor"])
    assert [(item["kind"], item["detail"]) for item in items] == [
        ("image.created", None),
        ("image.updated", None),
        ("image.trashed", None),
        ("image.restored", None),
        ("image.updated", None),
        ("analysis.written", "captioner"),
        ("faces.written", None),
        ("embedding.written", "clip"),
        ("embedding.deleted", "clip"),
        ("image.purged", None),
    ]
    assert {item["image_id"] for item in items} == {image}
    assert _read(client, alice, end)["items"] == []
    latest = client.get("/v1/changes?latest=true", headers=headers).json()
    assert latest["items"] == []
    assert _read(client, alice, latest["next_cursor"])["items"] == []
    assert [item["kind"] for item in _all(client, bob)[0]] == ["image.created"]


def test_a_forged_cursor_is_400(client: TestClient, alice: Account) -> None:
    for cursor in ("garbage", "WyJ0IiwieCIsMV0", "WyJjIiwtMSwwXQ"):
        response = client.get(f"/v1/changes?cursor={cursor}", headers=alice.headers)
        assert response.status_code == 400, cursor


def _in_transaction_of(conn: psycopg.Connection[Any], account: Account) -> None:
    conn.execute("SELECT set_config('app.user_id', %s, true)", (str(account.id),))


def test_a_change_committed_late_is_not_passed_by_the_cursor(
    client: TestClient, alice: Account, database: ScratchDatabase
) -> None:
    early, late = _image(client, alice, 3), _image(client, alice, 4)
    _, cursor = _all(client, alice)
    with psycopg.connect(database.cluster.url(APP_ROLE, database.name, driver="")) as held:
        _in_transaction_of(held, alice)
        held.execute("UPDATE images SET favorite = true WHERE id = %s", (early,))
        # A younger transaction commits while the older one is still open.
        changed = client.patch(f"/v1/images/{late}", json={"title": "x"}, headers=alice.headers)
        assert changed.is_success
        while_held = _read(client, alice, cursor)
        assert while_held["items"] == []
        assert while_held["next_cursor"] == cursor
        held.commit()
    items, _ = _all(client, alice, cursor)
    assert [(item["kind"], item["image_id"]) for item in items] == [
        ("image.updated", early),
        ("image.updated", late),
    ]


def test_concurrent_writers_are_followed_without_a_gap_or_a_repeat(
    client: TestClient, alice: Account, database: ScratchDatabase
) -> None:
    images = [_image(client, alice, 10 + n) for n in range(4)]
    _, cursor = _all(client, alice)
    url = database.cluster.url(APP_ROLE, database.name, driver="")
    writes_per_writer = 15

    def write(image_id: str, seed: int) -> None:
        pace = random.Random(seed)
        with psycopg.connect(url) as conn:
            for _ in range(writes_per_writer):
                _in_transaction_of(conn, alice)
                conn.execute("UPDATE images SET favorite = NOT favorite WHERE id = %s", (image_id,))
                time.sleep(pace.uniform(0, 0.02))  # commits land out of their start order
                conn.commit()

    writers = [
        threading.Thread(target=write, args=(image_id, n)) for n, image_id in enumerate(images)
    ]
    for writer in writers:
        writer.start()
    followed: list[Any] = []
    while any(writer.is_alive() for writer in writers):
        page = _read(client, alice, cursor, limit=5)
        followed += page["items"]
        cursor = page["next_cursor"]
    for writer in writers:
        writer.join()
    rest, _ = _all(client, alice, cursor)
    followed += rest
    assert len(followed) == writes_per_writer * len(images)
    for image_id in images:
        assert sum(item["image_id"] == image_id for item in followed) == writes_per_writer
    everything, _ = _all(client, alice)
    assert followed == everything[-len(followed) :]

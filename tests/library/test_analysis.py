"""Analysis results: every write kept, the newest per analyzer current, labels and texts
derived from the newest write only."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account, ScratchDatabase
from tests.library.factories import BOX, make_analysis, make_image

FULL_PAYLOAD: dict[str, Any] = {
    "objects": [
        {"label": "  Golden   Retriever ", "confidence": 0.6, "box": BOX},
        {"label": "golden retriever", "confidence": 0.9, "box": BOX},
        {"label": "Ball", "confidence": 0.5, "box": BOX},
    ],
    "scenes": [{"label": "Beach", "confidence": 0.7}],
    "ocr": [{"text": "KEEP OUT", "box": BOX}, {"text": "private"}],
    "landmarks": [{"name": "Eiffel Tower", "place": "Paris"}],
    "caption": "A dog on a beach",
}


def _labels(database: ScratchDatabase, account: Account) -> list[tuple[str, str, str, float]]:
    with database.app_connect() as conn, conn.transaction():
        conn.execute("SELECT set_config('app.user_id', %s, true)", (str(account.id),))
        return conn.execute(
            "SELECT analyzer, kind, name, confidence FROM labels ORDER BY analyzer, kind, name"
        ).fetchall()


def _texts(database: ScratchDatabase, account: Account) -> list[tuple[str, str, str]]:
    with database.app_connect() as conn, conn.transaction():
        conn.execute("SELECT set_config('app.user_id', %s, true)", (str(account.id),))
        return conn.execute(
            "SELECT analyzer, kind, body FROM image_texts ORDER BY analyzer, kind"
        ).fetchall()


def test_a_write_is_stored_and_answered_with_201(client: TestClient, alice: Account) -> None:
    image_id = make_image(client, alice)
    response = client.put(
        f"/v1/images/{image_id}/analysis/yolo-v8",
        json={"model_version": "8.1", "payload": FULL_PAYLOAD},
        headers=alice.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["analyzer"] == "yolo-v8"
    assert body["model_version"] == "8.1"
    assert body["image_id"] == image_id
    assert body["payload"]["caption"] == "A dog on a beach"
    assert body["payload"]["ocr"][1] == {"text": "private"}
    assert set(body) == {"id", "image_id", "analyzer", "model_version", "payload", "created_at"}


def test_labels_and_texts_are_derived_and_normalized(
    client: TestClient, alice: Account, database: ScratchDatabase
) -> None:
    make_analysis(client, alice, payload=FULL_PAYLOAD)
    assert _labels(database, alice) == [
        ("detector", "landmark", "eiffel tower", None),
        ("detector", "object", "ball", 0.5),
        ("detector", "object", "golden retriever", 0.9),
        ("detector", "scene", "beach", 0.7),
    ]
    assert _texts(database, alice) == [
        ("detector", "caption", "A dog on a beach"),
        ("detector", "ocr", "KEEP OUT\nprivate"),
    ]


def test_a_newer_write_replaces_labels_and_texts_of_that_analyzer_only(
    client: TestClient, alice: Account, database: ScratchDatabase
) -> None:
    image_id = make_image(client, alice)
    make_analysis(client, alice, image_id, "detector", FULL_PAYLOAD)
    make_analysis(client, alice, image_id, "captioner", {"caption": "Old caption"})
    make_analysis(
        client, alice, image_id, "detector", {"scenes": [{"label": "Forest", "confidence": 0.4}]}
    )
    assert _labels(database, alice) == [("detector", "scene", "forest", 0.4)]
    assert _texts(database, alice) == [("captioner", "caption", "Old caption")]


def test_every_write_is_kept_and_the_newest_per_analyzer_is_current(
    client: TestClient, alice: Account
) -> None:
    image_id = make_image(client, alice)
    first = make_analysis(client, alice, image_id, "detector", {}, "1.0")
    second = make_analysis(client, alice, image_id, "detector", {}, "2.0")
    ocr = make_analysis(client, alice, image_id, "ocr", {"ocr": [{"text": "hi"}]}, "1.0")
    current = client.get(f"/v1/images/{image_id}/analysis", headers=alice.headers).json()
    assert [(r["analyzer"], r["id"]) for r in current["items"]] == [
        ("detector", second),
        ("ocr", ocr),
    ]
    newest = client.get(f"/v1/images/{image_id}/analysis/detector", headers=alice.headers)
    assert newest.json()["id"] == second
    by_version = client.get(
        f"/v1/images/{image_id}/analysis/detector?model_version=1.0", headers=alice.headers
    )
    assert by_version.json()["id"] == first
    history = client.get(f"/v1/images/{image_id}/analysis/detector/history", headers=alice.headers)
    assert [r["id"] for r in history.json()["items"]] == [second, first]
    assert history.json()["next_cursor"] is None


def test_history_pages_walk_every_write_newest_first(client: TestClient, alice: Account) -> None:
    image_id = make_image(client, alice)
    written = [make_analysis(client, alice, image_id, "ocr", {}, f"v{n}") for n in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        url = f"/v1/images/{image_id}/analysis/ocr/history?limit=2"
        page = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=alice.headers)
        seen += [r["id"] for r in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == written[::-1]


@pytest.mark.parametrize(
    "path",
    ["/analysis/nothing", "/analysis/detector?model_version=9.9"],
)
def test_no_result_is_404(client: TestClient, alice: Account, path: str) -> None:
    image_id = make_image(client, alice)
    make_analysis(client, alice, image_id)
    response = client.get(f"/v1/images/{image_id}{path}", headers=alice.headers)
    assert response.status_code == 404
    assert response.json()["type"].endswith("/not-found")


def test_an_image_without_results_lists_none(client: TestClient, alice: Account) -> None:
    image_id = make_image(client, alice)
    response = client.get(f"/v1/images/{image_id}/analysis", headers=alice.headers)
    assert response.json() == {"items": []}
    history = client.get(f"/v1/images/{image_id}/analysis/x/history", headers=alice.headers)
    assert history.json() == {"items": [], "next_cursor": None}


_BAD_BOX = {"x": 0.8, "y": 0.1, "width": 0.3, "height": 0.1}


_BAD_BODIES: list[dict[str, Any]] = [
    {"model_version": "1", "payload": {"objects": [{"label": "a", "confidence": 1.5, "box": BOX}]}},
    {
        "model_version": "1",
        "payload": {"objects": [{"label": "a", "confidence": 1, "box": _BAD_BOX}]},
    },
    {"model_version": "1", "payload": {"scenes": [{"label": "", "confidence": 0.5}]}},
    {"model_version": "1", "payload": {"ocr": [{"text": "x", "box": {**BOX, "x": -0.1}}]}},
    {"model_version": "1", "payload": {"faces": []}},
    {
        "model_version": "1",
        "payload": {"objects": [{"label": "a", "confidence": 0.5, "box": BOX, "colour": "red"}]},
    },
    {"model_version": "1", "payload": {"scenes": [{"label": "a", "confidence": 0.5}] * 201}},
    {"model_version": "1", "payload": {"caption": "x" * 10_001}},
    {"model_version": "1", "payload": {"landmarks": [{"name": "x" * 201}]}},
    {"model_version": "", "payload": {}},
    {"payload": {}},
    {"model_version": "1", "payload": {}, "extra": 1},
]


def test_bad_bodies_are_422_and_store_nothing(client: TestClient, alice: Account) -> None:
    image_id = make_image(client, alice)
    for body in _BAD_BODIES:
        response = client.put(f"/v1/images/{image_id}/analysis/x", json=body, headers=alice.headers)
        assert response.status_code == 422, (body, response.text)
    listed = client.get(f"/v1/images/{image_id}/analysis", headers=alice.headers).json()
    assert listed == {"items": []}


def test_nan_confidence_is_422(client: TestClient, alice: Account) -> None:
    image_id = make_image(client, alice)
    raw = '{"model_version": "1", "payload": {"scenes": [{"label": "a", "confidence": NaN}]}}'
    response = client.put(
        f"/v1/images/{image_id}/analysis/x",
        content=raw,
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text


def test_analyzer_names_outside_the_alphabet_are_refused(
    client: TestClient, alice: Account
) -> None:
    image_id = make_image(client, alice)
    for analyzer in ["Upper", "with space", "a" * 101, "slash%2Fx", "ünï"]:
        response = client.put(
            f"/v1/images/{image_id}/analysis/{analyzer}",
            json={"model_version": "1", "payload": {}},
            headers=alice.headers,
        )
        assert response.status_code in {404, 422}, (analyzer, response.text)
    listed = client.get(f"/v1/images/{image_id}/analysis", headers=alice.headers).json()
    assert listed == {"items": []}

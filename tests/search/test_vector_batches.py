"""Bulk vector writes: ``POST /v1/embedding-spaces/{space}/vectors``, all or nothing."""

from __future__ import annotations

import base64
import json
import math
import struct
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from photostore.app import create_app
from photostore.config import Settings
from photostore.search import planner as planner_module
from photostore.services.context import ServiceContext
from tests.conftest import Account, create_account
from tests.library.factories import make_image

DIM = 4
URL = "/v1/embedding-spaces/clip/vectors"


def _space(client: TestClient, account: Account, metric: str = "cosine") -> None:
    body = {"name": "clip", "model": "test-model", "dimension": DIM, "metric": metric}
    response = client.post("/v1/embedding-spaces", json=body, headers=account.headers)
    assert response.status_code == 201, response.text


def _angle(degrees: float) -> list[float]:
    radians = math.radians(degrees)
    return [math.cos(radians), math.sin(radians), 0.0, 0.0]


def _items(image_ids: list[str], first_angle: float = 0.0) -> list[dict[str, Any]]:
    return [
        {"image_id": image_id, "values": _angle(first_angle + 10 * n)}
        for n, image_id in enumerate(image_ids)
    ]


def _write(client: TestClient, account: Account, items: list[dict[str, Any]]) -> Any:
    return client.post(URL, json={"items": items}, headers=account.headers)


def _stored(client: TestClient, account: Account, image_id: str) -> list[float] | None:
    response = client.get(f"/v1/images/{image_id}/embeddings/clip", headers=account.headers)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    values: list[float] = response.json()["values"]
    return values


def _nearest(client: TestClient, account: Account, values: list[float]) -> list[str]:
    body = {"vector": {"space": "clip", "values": values}, "limit": 3}
    response = client.post("/v1/search", json=body, headers=account.headers)
    assert response.status_code == 200, response.text
    return [item["image"]["id"] for item in response.json()["items"]]


@pytest.fixture
def images(client: TestClient, alice: Account) -> list[str]:
    _space(client, alice)
    return [make_image(client, alice) for _ in range(4)]


def test_a_batch_stores_every_vector_and_replaces_earlier_ones(
    client: TestClient, alice: Account, images: list[str]
) -> None:
    single = client.put(
        f"/v1/images/{images[0]}/embeddings/clip",
        json={"values": [0.0, 0.0, 0.0, 2.0]},
        headers=alice.headers,
    )
    assert single.status_code == 201, single.text
    items = _items(images)
    items[1]["values"] = [3.0, 4.0, 0.0, 0.0]  # stored normalized, as a single write is
    response = _write(client, alice, items)
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": 4, "created": 3, "replaced": 1}
    assert _stored(client, alice, images[0]) == pytest.approx(_angle(0), abs=1e-6)
    assert _stored(client, alice, images[1]) == pytest.approx([0.6, 0.8, 0.0, 0.0], abs=1e-6)
    for n in (2, 3):
        assert _stored(client, alice, images[n]) == pytest.approx(_angle(10 * n), abs=1e-6)
    again = _write(client, alice, _items(images, first_angle=45))
    assert again.json() == {"stored": 4, "created": 0, "replaced": 4}
    assert _stored(client, alice, images[3]) == pytest.approx(_angle(75), abs=1e-6)


def test_an_l2_space_stores_the_values_as_sent(client: TestClient, alice: Account) -> None:
    _space(client, alice, metric="l2")
    image_id = make_image(client, alice)
    response = _write(client, alice, [{"image_id": image_id, "values": [3, -1.5, 0, 0]}])
    assert response.status_code == 200, response.text
    assert _stored(client, alice, image_id) == [3.0, -1.5, 0.0, 0.0]


def test_values_sent_as_base64_float32_are_stored_like_a_list(
    client: TestClient, alice: Account, images: list[str]
) -> None:
    items: list[dict[str, Any]] = [
        {"image_id": images[0], "values_base64": _b64(3.0, 4.0, 0.0, 0.0)},
        {"image_id": images[1], "values": [0.0, 0.0, 1.0, 0.0]},
    ]
    response = _write(client, alice, items)
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 2
    assert _stored(client, alice, images[0]) == pytest.approx([0.6, 0.8, 0.0, 0.0])
    assert _stored(client, alice, images[1]) == [0.0, 0.0, 1.0, 0.0]
    assert _nearest(client, alice, [0.6, 0.8, 0.0, 0.0])[0] == images[0]


def _b64(*values: float) -> str:
    """``values`` as the API's ``values_base64``: little-endian float32, base64."""
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


_B64_1000 = _b64(1.0, 0.0, 0.0, 0.0)

BAD_ITEMS: dict[str, tuple[str, str]] = {
    # name: (the third item's JSON, words of the answer)
    "too few values": ('{"image_id": "%s", "values": [1.0, 2.0]}', "4-dimensional"),
    "too many values": ('{"image_id": "%s", "values": [1, 2, 3, 4, 5]}', "4-dimensional"),
    "no values": ('{"image_id": "%s", "values": []}', "empty"),
    "NaN": ('{"image_id": "%s", "values": [1.0, NaN, 0, 0]}', "finite"),
    "infinity": ('{"image_id": "%s", "values": [1.0, -Infinity, 0, 0]}', "finite"),
    "beyond float32": ('{"image_id": "%s", "values": [1.0, 1e39, 0, 0]}', "32-bit"),
    "a zero vector": ('{"image_id": "%s", "values": [0, 0, 0, 0]}', "zero vector"),
    "a string": ('{"image_id": "%s", "values": [1.0, "2", 0, 0]}', "number"),
    "a malformed id": ('{"image_id": "not-an-id%s", "values": [1, 0, 0, 0]}', "UUID"),
    "an unknown field": ('{"image_id": "%s", "values": [1, 0, 0, 0], "x": 1}', "Extra"),
    "a repeated image": ('{"image_id": "%s", "values": [1, 0, 0, 0]}', "as items[0]"),
    "both encodings": (
        '{"image_id": "%s", "values": [1, 0, 0, 0], "values_base64": "' + _B64_1000 + '"}',
        "exactly one",
    ),
    "neither encoding": ('{"image_id": "%s"}', "exactly one"),
    "base64 of a wrong length": (
        '{"image_id": "%s", "values_base64": "' + _b64(1.0, 0.0) + '"}',
        "4-dimensional",
    ),
    "bytes that are not floats": ('{"image_id": "%s", "values_base64": "AAAAAAA="}', "4 bytes"),
    "not base64": ('{"image_id": "%s", "values_base64": "!!!!"}', "not base64"),
    "a NaN in base64": (
        '{"image_id": "%s", "values_base64": "' + _b64(1.0, math.nan, 0.0, 0.0) + '"}',
        "finite",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ITEMS))
def test_a_bad_item_is_422_naming_it_and_nothing_is_stored(
    client: TestClient, alice: Account, images: list[str], case: str
) -> None:
    template, words = BAD_ITEMS[case]
    bad_id = images[0] if case == "a repeated image" else images[2]
    good = [json.dumps(item) for item in _items(images[:2])]
    body = '{"items": [' + ", ".join([*good, template % bad_id]) + "]}"
    response = client.post(
        URL,
        content=body,
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"].endswith("/invalid-input")
    assert words in problem["detail"]
    named = "items[2]" in problem["detail"] or problem["errors"][0]["loc"][:3] == [
        "body",
        "items",
        "2",
    ]
    assert named, problem
    assert all(_stored(client, alice, image_id) is None for image_id in images)


def test_an_image_of_another_user_or_of_none_is_404_and_nothing_is_stored(
    client: TestClient, alice: Account, bob: Account, images: list[str]
) -> None:
    bobs = make_image(client, bob)
    answers = []
    for stranger in (bobs, str(uuid.uuid4())):
        items = _items([images[0], stranger, images[1]])
        response = _write(client, alice, items)
        assert response.status_code == 404, response.text
        answers.append({k: v for k, v in response.json().items() if k != "request_id"})
    # Another user's image answers exactly as one that does not exist.
    assert answers[0] == answers[1]
    assert answers[0]["detail"] == "items[1].image_id: no such image"
    assert all(_stored(client, alice, image_id) is None for image_id in images)
    # Nothing of Bob's changed either: his image has no vector in any space of his.
    _space(client, bob)
    assert _stored(client, bob, bobs) is None


def test_a_space_of_another_user_is_404(
    client: TestClient, alice: Account, bob: Account, images: list[str]
) -> None:
    response = _write(client, bob, _items([make_image(client, bob)]))
    assert response.status_code == 404, response.text
    assert response.json()["detail"] == "no embedding space named 'clip'"


@pytest.mark.parametrize(("count", "words"), [(0, "at least 1 item"), (1001, "at most 1000")])
def test_an_empty_batch_or_one_over_the_limit_is_refused(
    client: TestClient, alice: Account, images: list[str], count: int, words: str
) -> None:
    items = (_items(images) * 251)[:count]
    response = _write(client, alice, items)
    assert response.status_code == 422, response.text
    assert words in response.json()["detail"]
    assert all(_stored(client, alice, image_id) is None for image_id in images)


@pytest.fixture
def small_bodies(settings: Settings) -> Iterator[TestClient]:
    limited = settings.model_copy(update={"max_vector_batch_bytes": 400})
    with TestClient(create_app(limited)) as test_client:
        yield test_client


def test_a_body_over_the_byte_limit_is_413(small_bodies: TestClient) -> None:
    client = small_bodies
    carol = create_account(client, "carol@example.org")
    _space(client, carol)
    image_id = make_image(client, carol)
    fits = [{"image_id": image_id, "values": [1, 0, 0, 0]}]
    assert _write(client, carol, fits).status_code == 200
    body = json.dumps({"items": [{"image_id": image_id, "values": [0.123456789] * DIM}] * 8})
    declared = client.post(
        URL, content=body, headers={**carol.headers, "Content-Type": "application/json"}
    )
    # Without a Content-Length (chunked), the stream is cut off at the limit.
    streamed = client.post(
        URL,
        content=iter([body[:300].encode(), body[300:].encode()]),
        headers={**carol.headers, "Content-Type": "application/json"},
    )
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert response.json()["type"].endswith("/too-large")
        assert "400 bytes" in response.json()["detail"]


def test_a_body_that_is_not_json_is_415(
    client: TestClient, alice: Account, images: list[str]
) -> None:
    body = json.dumps({"items": _items(images)})
    response = client.post(
        URL, content=body, headers={**alice.headers, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415, response.text
    assert all(_stored(client, alice, image_id) is None for image_id in images)


def test_a_batch_is_found_by_search_at_once(
    client: TestClient, alice: Account, images: list[str]
) -> None:
    first = _write(client, alice, _items(images[:3]))
    assert first.status_code == 200, first.text
    assert _nearest(client, alice, _angle(21)) == [images[2], images[1], images[0]]
    moved = _write(client, alice, [{"image_id": images[0], "values": _angle(40)}])
    assert moved.status_code == 200, moved.text
    assert _nearest(client, alice, _angle(41)) == [images[0], images[2], images[1]]


@pytest.fixture
def cached_client(settings: Settings) -> Iterator[TestClient]:
    cached = settings.model_copy(
        update={"vector_cache_min_vectors": 3, "vector_cache_refresh_seconds": 3600}
    )
    with TestClient(create_app(cached)) as test_client:
        yield test_client


def test_a_batch_is_found_by_search_from_the_vector_cache(
    cached_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = cached_client
    dave = create_account(client, "dave@example.org")
    _space(client, dave)
    images = [make_image(client, dave) for _ in range(5)]
    assert _write(client, dave, _items(images[:4])).status_code == 200
    assert _nearest(client, dave, _angle(31)) == [images[3], images[2], images[1]]
    ctx: ServiceContext = client.app.state.ctx  # type: ignore[attr-defined]
    cache = ctx.vector_cache
    assert cache is not None and client.portal is not None
    client.portal.call(cache.settled)
    assert cache.used_bytes > 0  # the space is held as a matrix now

    def no_planner(*args: Any) -> None:
        raise AssertionError("answered by the planner, not by the matrix and the log")

    # From here on every answer comes from the held matrix and the change log: a new
    # image and a replaced vector, written by one batch, are seen at once.
    monkeypatch.setattr(planner_module, "_plan", no_planner)
    batch = [
        {"image_id": images[4], "values": _angle(100)},
        {"image_id": images[0], "values": _angle(95)},
    ]
    assert _write(client, dave, batch).json() == {"stored": 2, "created": 1, "replaced": 1}
    assert _nearest(client, dave, _angle(99)) == [images[4], images[0], images[3]]


def test_a_batch_writes_one_audit_row_like_every_request(
    client: TestClient, alice: Account, images: list[str]
) -> None:
    assert _write(client, alice, _items(images)).status_code == 200
    assert _write(client, alice, _items([str(uuid.uuid4())])).status_code == 404
    trail = client.get("/v1/users/me/audit?limit=10", headers=alice.headers).json()["items"]
    rows = [
        (r["action"], r["result"], r["target_type"], r["target_id"], r["principal_kind"])
        for r in trail
        if r["action"] == "POST /v1/embedding-spaces/{space}/vectors"
    ]
    assert rows == [
        ("POST /v1/embedding-spaces/{space}/vectors", 404, "space", "clip", "user"),
        ("POST /v1/embedding-spaces/{space}/vectors", 200, "space", "clip", "user"),
    ]

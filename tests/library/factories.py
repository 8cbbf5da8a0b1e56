"""One of each library resource for an account, made through the API.

The route-matrix isolation test imports these to build a resource of one user and call
every route with it as another user; the library tests use them as their fixtures' bricks.
Each function asserts its request succeeded and returns the new resource's id.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from fastapi.testclient import TestClient

from tests import imagegen
from tests.conftest import Account, upload

_seeds = itertools.count(10_000)

BOX = {"x": 0.1, "y": 0.2, "width": 0.3, "height": 0.4}


def make_image(
    client: TestClient,
    account: Account,
    taken: str | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
    filename: str = "photo.jpg",
) -> str:
    """A new (distinct) image; ``taken`` as ``YYYY:MM:DD HH:MM:SS`` sets its EXIF date."""
    exif = imagegen.make_exif(datetime_original=taken) if taken else None
    data = imagegen.make_jpeg(None, 16, 16, seed=next(_seeds), exif=exif)
    fields: dict[str, str | list[str]] = {"tags": tags or []}
    if description is not None:
        fields["description"] = description
    response = upload(client, account, data, filename, "image/jpeg", **fields)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def make_analysis(
    client: TestClient,
    account: Account,
    image_id: str | None = None,
    analyzer: str = "detector",
    payload: dict[str, object] | None = None,
    model_version: str = "1.0",
) -> str:
    image_id = image_id or make_image(client, account)
    body = {
        "model_version": model_version,
        "payload": payload
        if payload is not None
        else {"objects": [{"label": "Dog", "confidence": 0.9, "box": BOX}]},
    }
    response = client.put(
        f"/v1/images/{image_id}/analysis/{analyzer}", json=body, headers=account.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def make_person(
    client: TestClient, account: Account, name: str | None = "Ada", face_ids: Sequence[str] = ()
) -> str:
    body: dict[str, object] = {"name": name, "face_ids": list(face_ids)}
    response = client.post("/v1/people", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def make_face(
    client: TestClient,
    account: Account,
    image_id: str | None = None,
    person_id: str | None = None,
) -> str:
    image_id = image_id or make_image(client, account)
    face = {"box": BOX, "score": 0.8, "model": "arcface", "embedding": [0.1, 0.2, 0.3]}
    if person_id is not None:
        face["person_id"] = person_id
    response = client.post(
        f"/v1/images/{image_id}/faces", json={"faces": [face]}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["items"][0]["id"])


def make_tag(client: TestClient, account: Account, name: str | None = None) -> str:
    name = name or f"tag-{next(_seeds)}"
    response = client.post("/v1/tags", json={"name": name}, headers=account.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def make_album(client: TestClient, account: Account, name: str = "Holiday") -> str:
    response = client.post("/v1/albums", json={"name": name}, headers=account.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def make_space(
    client: TestClient, account: Account, name: str = "clip", dimension: int = 3
) -> tuple[str, int]:
    """An embedding space with one image's vector in it; returns (name, dimension)."""
    body = {"name": name, "model": "test-model", "dimension": dimension, "metric": "cosine"}
    response = client.post("/v1/embedding-spaces", json=body, headers=account.headers)
    assert response.status_code in {200, 201}, response.text
    image_id = make_image(client, account)
    values = [1.0] + [0.0] * (dimension - 1)
    stored = client.put(
        f"/v1/images/{image_id}/embeddings/{name}", json={"values": values}, headers=account.headers
    )
    assert stored.status_code in {200, 201}, stored.text
    return name, dimension

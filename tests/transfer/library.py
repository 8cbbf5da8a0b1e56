"""A small library with one of everything an export holds, and how to compare two."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi.testclient import TestClient

from photostore.config import Settings
from photostore.db.repositories.library import PARTS, LibraryRows, part_key
from photostore.services.context import ServiceContext
from tests.conftest import Account
from tests.library import factories

T = TypeVar("T")

# Set by the import's own write, not carried: a vector is written through its space's
# change log at the import's time (docs/export-format.md).
NOT_CARRIED = {"embeddings": {"updated_at"}}


def cli_env(settings: Settings, owner_url: str) -> dict[str, str]:
    """The environment of a ``photostore`` process on the test's database and folder."""
    assert settings.database_url is not None
    return {
        "PHOTOSTORE_DATABASE_URL": settings.database_url,
        "PHOTOSTORE_MIGRATION_DATABASE_URL": owner_url,
        "PHOTOSTORE_DATA_DIR": str(settings.data_dir),
    }


def call(client: TestClient, work: Callable[[ServiceContext], Awaitable[T]]) -> T:
    """``work`` on the running app's service context."""
    assert client.portal is not None
    ctx: ServiceContext = client.app.state.ctx  # type: ignore[attr-defined]
    return client.portal.call(functools.partial(work, ctx))


def build_library(client: TestClient, account: Account) -> list[str]:
    """Images with tags, an album, a person with a face, analysis, a vector, a title, a
    description, a favourite, a capture time and one image in the trash; their ids."""
    headers = account.headers
    first = factories.make_image(client, account, tags=["Beach", "family"], filename="a.jpg")
    second = factories.make_image(client, account, taken="2019:07:01 10:00:00")
    third = factories.make_image(client, account, description="kept in the trash")
    changed = client.patch(
        f"/v1/images/{first}",
        json={
            "title": "At the sea",
            "description": "Sun\nand sand",
            "taken_at": "2020-01-02T03:04:05-05:00",
            "favorite": True,
        },
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert client.delete(f"/v1/images/{third}", headers=headers).status_code == 200
    album = factories.make_album(client, account, "Holiday")
    added = client.post(
        f"/v1/albums/{album}/images", json={"image_ids": [second, first]}, headers=headers
    )
    assert added.status_code == 200, added.text
    person = factories.make_person(client, account, "Ada")
    factories.make_face(client, account, first, person)
    factories.make_face(client, account, second)
    factories.make_analysis(client, account, first)
    factories.make_analysis(
        client,
        account,
        first,
        "ocr",
        {"ocr": [{"text": "HELLO"}], "caption": "a sign"},
    )
    factories.make_tag(client, account, "unused")
    body = {"name": "clip", "model": "m", "dimension": 3, "metric": "cosine"}
    assert client.post("/v1/embedding-spaces", json=body, headers=headers).status_code == 201
    vector = client.put(
        f"/v1/images/{second}/embeddings/clip", json={"values": [0.25, 0.5, 1.0]}, headers=headers
    )
    assert vector.status_code in {200, 201}, vector.text
    return [first, second, third]


def library_rows(client: TestClient, owner_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every row of every part of the owner's library, as an export reads them."""

    async def read(ctx: ServiceContext) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for part in PARTS:
            async with ctx.db.for_user(owner_id) as session:
                rows = await LibraryRows(session, owner_id).page(part, None, 10_000)
            left_out = NOT_CARRIED.get(part, set())
            found[part] = [{k: v for k, v in row.items() if k not in left_out} for row in rows]
            assert [list(r) for r in found[part]] == [list(r) for r in rows] or left_out
            found[part].sort(key=lambda row: [str(row[k]) for k in part_key(part)])
        return found

    return call(client, read)


def originals(client: TestClient, owner_id: uuid.UUID) -> dict[str, bytes]:
    """The bytes of each stored original of the owner, by sha256."""

    async def read(ctx: ServiceContext) -> dict[str, bytes]:
        from photostore.services.images import ImageService

        images = ImageService(ctx)
        found: dict[str, bytes] = {}
        async with ctx.db.for_user(owner_id) as session:
            rows = await LibraryRows(session, owner_id).page("images", None, 10_000)
        for row in rows:
            ref = await images.original(owner_id, row["id"])
            found[row["sha256"]] = b"".join(await images.open_blob(ref, 0, ref.byte_size))
        return found

    return call(client, read)


def files_below(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }

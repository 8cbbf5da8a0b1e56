"""Reading originals (Range, ETag) and thumbnails."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from photostore.storage.base import BlobStore
from tests import imagegen
from tests.conftest import Account, upload


@pytest.fixture
def stored(client: TestClient, alice: Account) -> tuple[str, bytes]:
    data = imagegen.make_jpeg(None, 2000, 1000, seed=7)
    response = upload(client, alice, data)
    assert response.status_code == 201
    return response.json()["id"], data


def test_get_image_returns_the_record(
    client: TestClient, alice: Account, stored: tuple[str, bytes]
) -> None:
    image_id, data = stored
    record = client.get(f"/v1/images/{image_id}", headers=alice.headers)
    assert record.status_code == 200
    assert record.json()["byte_size"] == len(data)


def test_original_is_byte_exact_with_an_etag(
    client: TestClient, alice: Account, stored: tuple[str, bytes]
) -> None:
    image_id, data = stored
    response = client.get(f"/v1/images/{image_id}/content", headers=alice.headers)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"].strip('"') == response.headers["etag"].strip('"')
    assert "private" in response.headers["cache-control"]

    etag = response.headers["etag"]
    again = client.get(
        f"/v1/images/{image_id}/content", headers={**alice.headers, "If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.content == b""
    other = client.get(
        f"/v1/images/{image_id}/content", headers={**alice.headers, "If-None-Match": '"other"'}
    )
    assert other.status_code == 200


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=100-", 100, None),
        ("bytes=-50", -50, None),
        ("bytes=10-10", 10, 11),
    ],
)
def test_range_requests_give_206(
    client: TestClient,
    alice: Account,
    stored: tuple[str, bytes],
    header: str,
    start: int,
    end: int | None,
) -> None:
    image_id, data = stored
    response = client.get(
        f"/v1/images/{image_id}/content", headers={**alice.headers, "Range": header}
    )
    assert response.status_code == 206
    expected = data[start:end] if end is not None else data[start:]
    assert response.content == expected
    first = start if start >= 0 else len(data) + start
    assert (
        response.headers["content-range"]
        == f"bytes {first}-{first + len(expected) - 1}/{len(data)}"
    )


def test_a_range_past_the_end_is_416(
    client: TestClient, alice: Account, stored: tuple[str, bytes]
) -> None:
    image_id, data = stored
    response = client.get(
        f"/v1/images/{image_id}/content", headers={**alice.headers, "Range": f"bytes={len(data)}-"}
    )
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(data)}"


def test_a_range_we_do_not_serve_gives_the_whole_file(
    client: TestClient, alice: Account, stored: tuple[str, bytes]
) -> None:
    image_id, data = stored
    response = client.get(
        f"/v1/images/{image_id}/content", headers={**alice.headers, "Range": "bytes=0-1,5-9"}
    )
    assert response.status_code == 200
    assert response.content == data


@pytest.mark.parametrize(("size", "long_edge"), [("small", 256), ("preview", 1440)])
def test_thumbnails_have_the_promised_long_edge(
    client: TestClient, alice: Account, stored: tuple[str, bytes], size: str, long_edge: int
) -> None:
    image_id, _ = stored
    response = client.get(f"/v1/images/{image_id}/thumbnail?size={size}", headers=alice.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"
    thumb = Image.open(io.BytesIO(response.content))
    assert thumb.format == "WEBP"
    assert max(thumb.size) == long_edge
    assert thumb.size[0] > thumb.size[1]  # landscape stays landscape


def test_thumbnails_apply_the_exif_orientation(client: TestClient, alice: Account) -> None:
    data = imagegen.make_jpeg(None, 400, 200, exif=imagegen.make_exif(orientation=8))
    image_id = upload(client, alice, data).json()["id"]
    thumb = client.get(f"/v1/images/{image_id}/thumbnail", headers=alice.headers)
    assert Image.open(io.BytesIO(thumb.content)).size == (128, 256)


def test_a_lost_thumbnail_is_made_again_on_request(
    client: TestClient, alice: Account, stored: tuple[str, bytes], database: object
) -> None:
    from tests.conftest import ScratchDatabase

    assert isinstance(database, ScratchDatabase)
    image_id, _ = stored
    with database.superuser_connect() as conn:
        conn.execute("DELETE FROM derivatives WHERE image_id = %s", (image_id,))
    response = client.get(f"/v1/images/{image_id}/thumbnail?size=preview", headers=alice.headers)
    assert response.status_code == 200
    assert max(Image.open(io.BytesIO(response.content)).size) == 1440
    with database.superuser_connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM derivatives WHERE image_id = %s", (image_id,)
        ).fetchone()
    assert row is not None and row[0] == 2


def test_unknown_thumbnail_size_is_422(
    client: TestClient, alice: Account, stored: tuple[str, bytes]
) -> None:
    image_id, _ = stored
    response = client.get(f"/v1/images/{image_id}/thumbnail?size=huge", headers=alice.headers)
    assert response.status_code == 422


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "1", "00000000-0000-0000-0000-000000000000"])
def test_bad_or_unknown_ids(client: TestClient, alice: Account, bad_id: str) -> None:
    response = client.get(f"/v1/images/{bad_id}", headers=alice.headers)
    assert response.status_code in {404, 422}
    assert response.headers["content-type"] == "application/problem+json"


def test_an_inverted_range_is_ignored(
    client: TestClient, alice: Account, stored: tuple[str, bytes]
) -> None:
    image_id, data = stored
    response = client.get(
        f"/v1/images/{image_id}/content", headers={**alice.headers, "Range": "bytes=50-10"}
    )
    assert response.status_code == 200
    assert response.content == data


def test_a_stale_if_range_sends_the_whole_file(
    client: TestClient, alice: Account, stored: tuple[str, bytes]
) -> None:
    image_id, data = stored
    headers = {**alice.headers, "Range": f"bytes={len(data) + 10}-", "If-Range": '"stale"'}
    response = client.get(f"/v1/images/{image_id}/content", headers=headers)
    assert response.status_code == 200
    assert response.content == data
    etag = client.get(f"/v1/images/{image_id}/content", headers=alice.headers).headers["etag"]
    fresh = client.get(
        f"/v1/images/{image_id}/content",
        headers={**alice.headers, "Range": "bytes=0-3", "If-Range": etag},
    )
    assert fresh.status_code == 206
    assert fresh.content == data[:4]


class _LoopWatchingStore:
    """The app's blob store, noting for each blob opened whether the event loop's thread
    opened it (it must not: opening reads a data key from the database and decrypts)."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self.opened_on_loop: list[bool] = []

    def read_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 16
    ) -> Iterator[bytes]:
        try:
            asyncio.get_running_loop()
            self.opened_on_loop.append(True)
        except RuntimeError:
            self.opened_on_loop.append(False)
        return self.inner.read_range(key, start, end, chunk_size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("path", ["content", "thumbnail"])
def test_blobs_are_opened_off_the_event_loop(
    client: TestClient, alice: Account, stored: tuple[str, bytes], path: str
) -> None:
    image_id, data = stored
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    watching = _LoopWatchingStore(ctx.blobs)
    object.__setattr__(ctx, "blobs", watching)  # the context is a frozen dataclass
    try:
        response = client.get(f"/v1/images/{image_id}/{path}", headers=alice.headers)
    finally:
        object.__setattr__(ctx, "blobs", watching.inner)
    assert response.status_code == 200
    assert path == "thumbnail" or response.content == data
    assert watching.opened_on_loop == [False]

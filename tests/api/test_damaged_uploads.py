"""Damaged photos are kept: a file whose header and dimensions read but whose data is cut
short or partly corrupt is stored byte-exact, marked ``damaged``, with thumbnails of what
decodes; a file with no picture in it is still refused."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from photostore.app import create_app
from photostore.config import Settings
from tests import imagegen
from tests.conftest import Account, ScratchDatabase, upload

CAMERA_JPEG = "jpg/Reconyx_HC500_Hyperfire.jpg"  # 2048x1536, 425 kB: a real photo's scan


def _camera(corpus: Path) -> bytes:
    return (corpus / CAMERA_JPEG).read_bytes()


# name: (the damaged bytes, made from the corpus folder; the whole image's size)
DAMAGED: dict[str, tuple[Callable[[Path], bytes], tuple[int, int]]] = {
    "jpeg-cut": (lambda _: imagegen.truncate(imagegen.make_jpeg(None, 300, 200), 0.6), (300, 200)),
    "jpeg-corrupt-scan": (
        lambda _: imagegen.with_corrupt_scan(imagegen.make_jpeg(None, 300, 200)),
        (300, 200),
    ),
    "progressive-jpeg-cut": (
        lambda _: imagegen.truncate(imagegen.make_progressive_jpeg(None, 300, 200)),
        (300, 200),
    ),
    "png-cut": (lambda _: imagegen.truncate(imagegen.make_png(None, 300, 200)), (300, 200)),
    "gif-cut": (lambda _: imagegen.truncate(imagegen.make_gif(None, 300, 200)), (300, 200)),
    "camera-jpeg-cut": (lambda corpus: imagegen.truncate(_camera(corpus), 0.6), (2048, 1536)),
    "camera-jpeg-corrupt-scan": (
        lambda corpus: imagegen.with_corrupt_scan(_camera(corpus)),
        (2048, 1536),
    ),
}


def _thumbnail(client: TestClient, account: Account, image_id: str, size: str) -> Image.Image:
    response = client.get(f"/v1/images/{image_id}/thumbnail?size={size}", headers=account.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/webp"
    thumbnail = Image.open(io.BytesIO(response.content))
    assert thumbnail.format == "WEBP"
    thumbnail.load()
    return thumbnail


def _fit(size: tuple[int, int], long_edge: int) -> tuple[int, int]:
    """``size`` shrunk to ``long_edge`` (never enlarged), rounded as libvips rounds."""
    width, height = size
    scale = min(1.0, long_edge / max(width, height))
    return round(width * scale), round(height * scale)


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_damaged_photo_is_kept_byte_exact_marked_and_with_thumbnails(
    client: TestClient, alice: Account, exif_corpus: Path, case: str
) -> None:
    make, size = DAMAGED[case]
    data = make(exif_corpus)

    response = upload(client, alice, data, filename=f"{case}.jpg")

    assert response.status_code == 201, response.text
    record = response.json()
    assert record["damaged"] is True
    assert (record["width"], record["height"]) == size
    assert record["byte_size"] == len(data)
    image_id = record["id"]
    assert client.get(f"/v1/images/{image_id}", headers=alice.headers).json()["damaged"] is True
    stored = client.get(f"/v1/images/{image_id}/content", headers=alice.headers)
    assert stored.content == data
    for name, long_edge in (("small", 256), ("preview", 1440)):
        assert _thumbnail(client, alice, image_id, name).size == _fit(size, long_edge)


def test_the_damaged_filter_finds_the_damaged_photos(client: TestClient, alice: Account) -> None:
    whole = [upload(client, alice, imagegen.make_jpeg(None, 80, 60, seed=s)) for s in (1, 2)]
    damaged = upload(client, alice, imagegen.truncate(imagegen.make_jpeg(None, 80, 60, seed=3)))
    assert [r.json()["damaged"] for r in whole] == [False, False]

    def listed(query: str) -> set[str]:
        page = client.get(f"/v1/images{query}", headers=alice.headers)
        assert page.status_code == 200, page.text
        return {item["id"] for item in page.json()["items"]}

    assert listed("?damaged=true") == {damaged.json()["id"]}
    assert listed("?damaged=false") == {r.json()["id"] for r in whole}
    assert len(listed("")) == 3
    assert client.get("/v1/images?damaged=maybe", headers=alice.headers).status_code == 422


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (imagegen.cut_after_scan_header(imagegen.make_jpeg(None, 300, 200)), "no picture to keep"),
        (
            imagegen.cut_before_image_data(imagegen.make_png(None, 300, 200)),
            "header says PNG but the data is not valid PNG",
        ),
        (imagegen.truncate(imagegen.make_webp(None, 300, 200)), "WebP"),
    ],
    ids=["jpeg-headers-only", "png-header-only", "webp-cut"],
)
def test_a_file_with_no_picture_to_keep_is_refused_with_a_clear_message(
    client: TestClient, alice: Account, database: ScratchDatabase, data: bytes, message: str
) -> None:
    response = upload(client, alice, data)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"].endswith("/invalid-image")
    assert message in problem["detail"]
    with database.superuser_connect() as conn:
        row = conn.execute("SELECT count(*) FROM images").fetchone()
    assert row == (0,)


def test_a_server_refusing_damaged_files_still_shows_the_ones_it_kept(
    client: TestClient, alice: Account, settings: Settings, database: ScratchDatabase
) -> None:
    data = imagegen.truncate(imagegen.make_jpeg(None, 300, 200))
    image_id = upload(client, alice, data).json()["id"]
    with database.superuser_connect() as conn:  # lost: made again on the next request
        conn.execute("DELETE FROM derivatives WHERE image_id = %s", (image_id,))
    strict = settings.model_copy(update={"reject_damaged_images": True})
    with TestClient(create_app(strict)) as strict_client:
        assert _thumbnail(strict_client, alice, image_id, "preview").size == (300, 200)
        again = imagegen.truncate(imagegen.make_jpeg(None, 300, 200, seed=9))
        assert upload(strict_client, alice, again).status_code == 422

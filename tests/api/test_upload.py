"""Uploading originals: formats by content, the record, de-duplication, and bad input."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from photostore.app import create_app
from photostore.config import Settings
from tests import imagegen
from tests.conftest import Account, ScratchDatabase, create_account, upload

FORMATS: dict[str, tuple[Callable[..., bytes], str]] = {
    "jpeg": (imagegen.make_jpeg, "image/jpeg"),
    "png": (imagegen.make_png, "image/png"),
    "webp": (imagegen.make_webp, "image/webp"),
    "gif": (imagegen.make_gif, "image/gif"),
    "tiff": (imagegen.make_tiff, "image/tiff"),
    "heic": (imagegen.make_heic, "image/heic"),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_accepted_format_is_identified_by_content(
    client: TestClient, alice: Account, fmt: str
) -> None:
    make, content_type = FORMATS[fmt]
    data = make(None, 120, 80)
    # A misleading name and declared type: only the bytes count.
    response = upload(client, alice, data, filename="misleading.txt", content_type="text/plain")
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["content_type"] == content_type
    assert (record["width"], record["height"]) == (120, 80)
    assert record["byte_size"] == len(data)
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["original_filename"] == "misleading.txt"
    assert record["damaged"] is False
    stored = client.get(f"/v1/images/{record['id']}/content", headers=alice.headers)
    assert stored.content == data
    assert stored.headers["content-type"] == content_type


def test_the_record_carries_exif_facts(client: TestClient, alice: Account) -> None:
    exif = imagegen.make_exif(
        orientation=6,
        make="Canon",
        model="Canon EOS 40D",
        datetime_original="2021:07:04 18:30:15",
        offset_original="+02:00",
        gps=imagegen.gps_tags((48, 51, 30), "N", (2, 17, 40), "E", altitude=35),
    )
    data = imagegen.make_jpeg(None, 200, 100, exif=exif)
    record = upload(client, alice, data, description="Paris", tags="city, holiday").json()
    assert (record["width"], record["height"]) == (100, 200)  # orientation 6: turned
    assert record["orientation"] == 6
    assert record["camera_make"] == "Canon"
    assert record["camera_model"] == "Canon EOS 40D"
    assert record["taken_at"] == "2021-07-04T18:30:15+02:00"
    assert record["taken_at_source"] == "exif_original"
    assert record["taken_at_offset_minutes"] == 120
    assert record["gps"]["latitude"] == pytest.approx(48.858333, abs=1e-5)
    assert record["gps"]["longitude"] == pytest.approx(2.294444, abs=1e-5)
    assert record["gps"]["altitude"] == pytest.approx(35)
    assert record["exif"]["Image Make"] == "Canon"
    assert record["description"] == "Paris"
    assert record["tags"] == ["city", "holiday"]
    assert record["favorite"] is False
    assert record["trashed"] is False


def test_without_exif_dates_taken_at_is_the_upload_time(client: TestClient, alice: Account) -> None:
    record = upload(client, alice, imagegen.make_png(None, 10, 10)).json()
    assert record["taken_at_source"] == "upload"
    assert record["taken_at"] == record["uploaded_at"]
    assert record["gps"] is None


def test_same_bytes_twice_returns_the_existing_image(
    client: TestClient, alice: Account, bob: Account
) -> None:
    data = imagegen.make_jpeg(None, 50, 50, seed=3)
    first = upload(client, alice, data, filename="a.jpg")
    second = upload(client, alice, data, filename="b.jpg")
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["original_filename"] == "a.jpg"
    # Another user's copy is theirs alone: stored again, with its own id.
    bobs = upload(client, bob, data)
    assert bobs.status_code == 201
    assert bobs.json()["id"] != first.json()["id"]
    assert len(client.get("/v1/images", headers=alice.headers).json()["items"]) == 1


def test_repeated_tags_fields_and_commas_both_work(client: TestClient, alice: Account) -> None:
    record = upload(client, alice, imagegen.make_png(None, 8, 8), tags=["b", "a, c", "A"]).json()
    assert record["tags"] == ["a", "b", "c"]


@pytest.mark.parametrize(
    "filename",
    [
        "../../etc/passwd",
        "..\\..\\boot.ini",
        "/abs/olute.jpg",
        "nul\x00byte.jpg",
        "line\nbreak.jpg",
        "....",
    ],
)
def test_path_like_filenames_are_only_display_names(
    client: TestClient, alice: Account, settings: Settings, filename: str
) -> None:
    data = imagegen.make_png(None, 9, 9, seed=len(filename))
    response = upload(client, alice, data, filename=filename)
    assert response.status_code == 201, response.text
    shown = response.json()["original_filename"]
    assert "/" not in shown and "\\" not in shown
    assert all(ord(ch) >= 32 for ch in shown)
    # Nothing was written outside the data folder under that name.
    assert not (settings.data_dir.parent / "etc" / "passwd").exists()
    assert not any("passwd" in p.name for p in settings.data_dir.rglob("*"))


def _rows(database: ScratchDatabase) -> tuple[int, int]:
    with database.superuser_connect() as conn:
        images = conn.execute("SELECT count(*) FROM images").fetchone()
        blobs = conn.execute("SELECT count(*) FROM blobs").fetchone()
    assert images is not None and blobs is not None
    return images[0], blobs[0]


def _stored_files(settings: Settings) -> list[Path]:
    return [p for p in settings.data_dir.rglob("*") if p.is_file()]


BAD_UPLOADS: dict[str, tuple[bytes, int, str]] = {
    "text": (b"hello, this is not an image at all\n" * 10, 415, "unsupported-media-type"),
    "pdf": (b"%PDF-1.7\n" + b"0" * 200, 415, "unsupported-media-type"),
    "zip": (b"PK\x03\x04" + b"\x00" * 200, 415, "unsupported-media-type"),
    "empty": (b"", 415, "unsupported-media-type"),
    # Damaged files are kept (test_damaged_uploads); these have no picture in them.
    "jpeg-headers-only": (
        imagegen.cut_after_scan_header(imagegen.make_jpeg(None, 300, 200)),
        422,
        "invalid-image",
    ),
    "png-header-only": (
        imagegen.cut_before_image_data(imagegen.make_png(None, 300, 200)),
        422,
        "invalid-image",
    ),
    "truncated-webp": (imagegen.truncate(imagegen.make_webp(None, 300, 200)), 422, "invalid-image"),
    "truncated-heic": (imagegen.truncate(imagegen.make_heic(None, 300, 200)), 422, "invalid-image"),
    "png-magic-then-garbage": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, 422, "invalid-image"),
    "jpeg-magic-then-garbage": (b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, 422, "invalid-image"),
    "jpeg-with-lying-size": (
        imagegen.with_frame_size(imagegen.make_jpeg(None, 64, 48), 4000, 3000),
        422,
        "invalid-image",
    ),
    "png-bomb": (imagegen.make_png_bomb(60_000, 60_000), 422, "image-too-large"),
    "jpeg-bomb": (imagegen.make_jpeg_bomb(65_000, 65_000), 422, "image-too-large"),
}


@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_bad_files_get_a_clear_error_and_leave_nothing(
    client: TestClient, alice: Account, settings: Settings, database: ScratchDatabase, case: str
) -> None:
    data, status, slug = BAD_UPLOADS[case]
    before = _stored_files(settings)
    response = upload(client, alice, data, filename=f"{case}.jpg", content_type="image/jpeg")
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["type"].endswith("/" + slug)
    assert problem["detail"]
    assert _rows(database) == (0, 0)
    assert _stored_files(settings) == before
    # The service keeps serving.
    assert upload(client, alice, imagegen.make_png(None, 5, 5)).status_code == 201


def test_malformed_exif_still_stores_the_image(client: TestClient, alice: Account) -> None:
    garbage = b"Exif\x00\x00" + b"MM\x00\x2a\x00\x00\x00\x08" + b"\xff" * 64
    data = imagegen.with_app1(imagegen.make_jpeg(None, 40, 30), garbage)
    response = upload(client, alice, data)
    assert response.status_code == 201, response.text
    assert response.json()["width"] == 40
    assert (
        client.get(f"/v1/images/{response.json()['id']}/content", headers=alice.headers).content
        == data
    )


def test_files_over_the_limit_are_refused_while_streaming(
    settings: Settings, database: ScratchDatabase
) -> None:
    small = settings.model_copy(update={"max_upload_bytes": 50_000})
    with TestClient(create_app(small)) as client:
        account = create_account(client, "carol@example.org")
        big = imagegen.make_jpeg(None, 600, 600, quality=100)
        assert len(big) > 50_000
        response = upload(client, account, big)
        assert response.status_code == 413
        assert response.json()["type"].endswith("/too-large")

        def chunks() -> object:
            # No Content-Length: the limit must bite while the body streams.
            boundary = b"xyz"
            yield (
                b"--"
                + boundary
                + b'\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'
            )
            for _ in range(100):
                yield b"\x00" * 10_000
            yield b"\r\n--" + boundary + b"--\r\n"

        streamed = client.post(
            "/v1/images",
            content=chunks(),  # type: ignore[arg-type]
            headers={**account.headers, "Content-Type": "multipart/form-data; boundary=xyz"},
        )
        assert streamed.status_code == 413
        assert _rows(database) == (0, 0)
        staged = [p for p in small.staging_dir.rglob("*") if p.is_file() and p.name != ".lock"]
        assert staged == []
        assert upload(client, account, imagegen.make_png(None, 5, 5)).status_code == 201


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"content": b"raw bytes", "headers": {"Content-Type": "image/jpeg"}}, 415),
        ({"json": {"file": "x"}}, 415),
        ({"files": {"other": ("a.jpg", b"x")}}, 422),
        ({"files": {"file": ("a.jpg", b"x")}, "data": {"owner_id": "someone"}}, 422),
        ({"files": [("file", ("a.jpg", b"x")), ("file", ("b.jpg", b"y"))]}, 400),
        (
            {
                "content": b"--b\r\nno headers end",
                "headers": {"Content-Type": "multipart/form-data; boundary=b"},
            },
            400,
        ),
    ],
)
def test_malformed_upload_requests(
    client: TestClient,
    alice: Account,
    database: ScratchDatabase,
    kwargs: dict[str, object],
    status: int,
) -> None:
    headers = {**alice.headers, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    response = client.post("/v1/images", headers=headers, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert _rows(database) == (0, 0)


def test_uploading_needs_a_token(client: TestClient) -> None:
    response = client.post("/v1/images", files={"file": ("a.png", imagegen.make_png(None, 4, 4))})
    assert response.status_code == 401


def test_damaged_but_decodable_jpegs_are_kept_unless_configured_otherwise(
    settings: Settings,
) -> None:
    # A JPEG whose frame header claims twice its size: the decoder warns and fills the
    # missing rows; the file is damaged but not cut short.
    damaged = imagegen.with_frame_size(imagegen.make_jpeg(None), 128, 96)
    strict = settings.model_copy(update={"reject_damaged_images": True})
    with TestClient(create_app(strict)) as strict_client:
        account = create_account(strict_client, "strict@example.org")
        refused = upload(strict_client, account, damaged)
        assert refused.status_code == 422
        assert refused.json()["detail"] == "the JPEG image data is corrupt or truncated"
    with TestClient(create_app(settings)) as keeping_client:
        kept = upload(keeping_client, account, damaged)
        assert kept.status_code == 201, kept.text
        assert kept.json()["damaged"] is True

"""Uploads with sidecar metadata: an XMP or Takeout part and the form's own fields win
over the file's EXIF, the fields over the part; a bad value stores nothing."""

from __future__ import annotations

from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from photostore.config import Settings
from photostore.media.sidecars import MAX_SIDECAR_BYTES
from tests import imagegen
from tests.conftest import Account, ScratchDatabase
from tests.media.sidecars import documents

# A JPEG whose EXIF says Paris, 4 July 2021 at 18:30:15 (+02:00).
_EXIF = imagegen.make_exif(
    datetime_original="2021:07:04 18:30:15",
    offset_original="+02:00",
    gps=imagegen.gps_tags((48, 51, 30), "N", (2, 17, 40), "E", altitude=35),
)


def _jpeg(seed: int = 0) -> bytes:
    return imagegen.make_jpeg(None, 64, 48, exif=_EXIF, seed=seed)


def _post(
    client: TestClient,
    account: Account,
    photo: bytes,
    sidecar: tuple[str, bytes] | None = None,
    **fields: str | list[str],
) -> httpx.Response:
    files: dict[str, tuple[str, bytes, str]] = {"file": ("IMG_1.jpg", photo, "image/jpeg")}
    if sidecar is not None:
        part, data = sidecar
        files[part] = ("IMG_1.jpg.sidecar", data, "application/octet-stream")
    return client.post("/v1/images", files=files, data=fields, headers=account.headers)


def _rows(database: ScratchDatabase) -> tuple[int, int]:
    with database.superuser_connect() as conn:
        images = conn.execute("SELECT count(*) FROM images").fetchone()
        blobs = conn.execute("SELECT count(*) FROM blobs").fetchone()
    assert images is not None and blobs is not None
    return images[0], blobs[0]


def _staged(settings: Settings) -> list[Path]:
    return [p for p in settings.staging_dir.rglob("*") if p.is_file() and p.name != ".lock"]


def test_the_exif_alone_is_what_the_file_says(client: TestClient, alice: Account) -> None:
    record = _post(client, alice, _jpeg()).json()
    assert record["taken_at_source"] == "exif_original"
    assert record["title"] is None


@pytest.mark.parametrize("part", ["sidecar", "xmp"])
def test_an_xmp_part_wins_over_the_file_s_exif(
    client: TestClient, alice: Account, database: ScratchDatabase, part: str
) -> None:
    response = _post(client, alice, _jpeg(), (part, documents.IMMICH), tags="holiday")
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["taken_at"] == "2024-05-06T07:08:09+02:00"
    assert record["taken_at_source"] == "sidecar"
    assert record["taken_at_offset_minutes"] == 120
    assert record["gps"]["latitude"] == pytest.approx(52 + 31.2 / 60)
    assert record["gps"]["longitude"] == pytest.approx(13 + 24.6 / 60)
    assert record["gps"]["altitude"] is None  # the sidecar's place, not the EXIF's height
    assert record["description"] == "Birthday cake"
    assert record["favorite"] is True
    assert record["tags"] == ["Family/Birthday", "holiday"]
    # The sidecar is metadata: one image, one stored file.
    assert _rows(database) == (1, 1)


def test_a_lightroom_part_gives_the_title(client: TestClient, alice: Account) -> None:
    record = _post(client, alice, _jpeg(), ("xmp", documents.LIGHTROOM)).json()
    assert record["title"] == "Harbour at dawn"
    # A sidecar time without a zone: the wall time, filed as UTC with no offset.
    assert record["taken_at"] == "2022-03-04T09:08:07.120000Z"
    assert record["taken_at_offset_minutes"] is None
    # The sidecar has no place: the EXIF's stays.
    assert record["gps"]["latitude"] == pytest.approx(48.858333, abs=1e-5)


def test_a_takeout_part_wins_over_the_file_s_exif(client: TestClient, alice: Account) -> None:
    document = documents.takeout(description="Eiffel tower", favorited=True)
    record = _post(client, alice, _jpeg(), ("sidecar", document)).json()
    assert record["taken_at"] == "2023-09-22T14:49:36Z"
    assert record["taken_at_source"] == "sidecar"
    assert record["gps"]["latitude"] == pytest.approx(48.7981917)
    assert record["gps"]["altitude"] == pytest.approx(90.25)
    assert record["description"] == "Eiffel tower"
    assert record["favorite"] is True
    assert record["title"] is None  # Takeout's title is a file name


@pytest.mark.parametrize(
    "sidecar",
    [
        ("sidecar", documents.takeout(photoTakenTime={"timestamp": "1625416215"})),
        ("xmp", documents.xmp('exif:DateTimeOriginal="2021-07-04T18:30:15"/>')),
    ],
    ids=["takeout-instant", "xmp-wall-time"],
)
def test_a_sidecar_time_that_is_the_exif_s_keeps_the_exif_s_offset(
    client: TestClient, alice: Account, sidecar: tuple[str, bytes]
) -> None:
    # 1625416215 is 2021-07-04T16:30:15Z: the EXIF's 18:30:15 at +02:00.
    record = _post(client, alice, _jpeg(), sidecar).json()
    assert record["taken_at"] == "2021-07-04T18:30:15+02:00"
    assert record["taken_at_offset_minutes"] == 120
    assert record["taken_at_source"] == "exif_original"


def test_the_form_s_fields_win_over_the_sidecar_part(client: TestClient, alice: Account) -> None:
    record = _post(
        client,
        alice,
        _jpeg(),
        ("sidecar", documents.IMMICH),
        title="At the party",
        description="Cake, candles",
        taken_at="2024-05-06T19:00:00-04:00",
        latitude="40.7128",
        longitude="-74.006",
        altitude="10.5",
        favorite="false",
    ).json()
    assert record["title"] == "At the party"
    assert record["description"] == "Cake, candles"
    assert record["taken_at"] == "2024-05-06T19:00:00-04:00"
    assert record["taken_at_offset_minutes"] == -240
    assert record["taken_at_source"] == "sidecar"
    assert (record["gps"]["latitude"], record["gps"]["longitude"]) == (40.7128, -74.006)
    assert record["gps"]["altitude"] == 10.5
    assert record["favorite"] is False
    assert record["tags"] == ["Family/Birthday"]


def test_the_form_s_fields_alone_win_over_the_exif(client: TestClient, alice: Account) -> None:
    record = _post(
        client, alice, _jpeg(), taken_at="1999-12-31T23:59:00+01:00", favorite="true"
    ).json()
    assert record["taken_at"] == "1999-12-31T23:59:00+01:00"
    assert record["taken_at_source"] == "sidecar"
    assert record["favorite"] is True
    assert record["gps"]["latitude"] == pytest.approx(48.858333, abs=1e-5)  # EXIF's still


def test_the_same_bytes_again_keep_their_record(client: TestClient, alice: Account) -> None:
    first = _post(client, alice, _jpeg()).json()
    again = _post(client, alice, _jpeg(), ("xmp", documents.IMMICH), title="later")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["title"] is None
    assert again.json()["taken_at_source"] == "exif_original"


_BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>'
)


@pytest.mark.parametrize(
    ("fields", "sidecar", "named"),
    [
        ({"taken_at": "yesterday"}, None, "taken_at"),
        ({"taken_at": "2024-05-06T07:08:09"}, None, "taken_at"),
        ({"taken_at": "1700-01-01T00:00:00Z"}, None, "taken_at"),
        ({"latitude": "north", "longitude": "1"}, None, "latitude"),
        ({"latitude": "95", "longitude": "1"}, None, "latitude"),
        ({"latitude": "nan", "longitude": "1"}, None, "latitude"),
        ({"latitude": "45"}, None, "longitude"),
        ({"altitude": "100"}, None, "altitude"),
        ({"favorite": "maybe"}, None, "favorite"),
        ({"title": "t" * 1001}, None, "title"),
        ({}, ("sidecar", b"just some text"), "sidecar"),
        ({}, ("sidecar", b"{broken json"), "sidecar"),
        ({}, ("xmp", _BILLION_LAUGHS), "sidecar"),
        ({}, ("xmp", b"<x:xmpmeta><unclosed>"), "sidecar"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field_and_stores_nothing(
    client: TestClient,
    alice: Account,
    database: ScratchDatabase,
    settings: Settings,
    fields: dict[str, str],
    sidecar: tuple[str, bytes] | None,
    named: str,
) -> None:
    response = _post(client, alice, _jpeg(), sidecar, **fields)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert named in response.json()["detail"]
    assert _rows(database) == (0, 0)
    assert _staged(settings) == []


def test_a_sidecar_part_over_its_limit_is_refused(
    client: TestClient, alice: Account, database: ScratchDatabase, settings: Settings
) -> None:
    big = documents.xmp("/>") + b" " * MAX_SIDECAR_BYTES
    response = _post(client, alice, _jpeg(), ("sidecar", big))
    assert response.status_code == 413, response.text
    assert "sidecar" in response.json()["detail"]
    assert _rows(database) == (0, 0)
    assert _staged(settings) == []


def test_one_sidecar_part_at_most(
    client: TestClient, alice: Account, database: ScratchDatabase
) -> None:
    response = client.post(
        "/v1/images",
        files=[
            ("file", ("IMG_1.jpg", _jpeg(), "image/jpeg")),
            ("sidecar", ("a.xmp", documents.IMMICH, "application/rdf+xml")),
            ("xmp", ("b.xmp", documents.LIGHTROOM, "application/rdf+xml")),
        ],
        headers=alice.headers,
    )
    assert response.status_code == 422, response.text
    assert _rows(database) == (0, 0)

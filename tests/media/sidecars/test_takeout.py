"""Google Takeout's JSON documents and the names Takeout gives them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from photostore.errors import InvalidInput
from photostore.media.sidecars import parse_takeout_json, takeout_names
from tests.media.sidecars import documents


def test_a_document_as_google_writes_it() -> None:
    fields = parse_takeout_json(
        documents.takeout(description="Eiffel tower at night", favorited=True)
    )
    assert fields.taken_at == datetime.fromtimestamp(1695394176, UTC)
    assert fields.taken_at_offset_minutes is None  # Takeout gives the instant only
    assert (fields.latitude, fields.longitude, fields.altitude) == (
        48.7981917,
        2.4866832999999997,
        90.25,
    )
    assert fields.description == "Eiffel tower at night"
    assert fields.favorite is True
    # Takeout's title is the uploaded file's name, not a title a person gave.
    assert fields.title is None


def test_no_description_no_favorite_say_nothing() -> None:
    fields = parse_takeout_json(documents.takeout(description="", favorited=False))
    assert fields.description is None
    assert fields.favorite is None


@pytest.mark.parametrize(
    ("geo", "geo_exif", "expected"),
    [
        ({"latitude": 1.5, "longitude": 2.5}, {"latitude": 9.0, "longitude": 9.0}, (1.5, 2.5)),
        ({"latitude": 0.0, "longitude": 0.0}, {"latitude": 9.0, "longitude": 8.0}, (9.0, 8.0)),
        ({"latitude": 0.0, "longitude": 0.0}, {"latitude": 0.0, "longitude": 0.0}, None),
        ({"latitude": "north", "longitude": 1}, None, None),
        ({"latitude": 91.0, "longitude": 1.0}, None, None),
    ],
)
def test_place_prefers_geo_data_and_zero_zero_is_none(
    geo: dict[str, object], geo_exif: dict[str, object] | None, expected: tuple[float, float] | None
) -> None:
    fields = parse_takeout_json(documents.takeout(geoData=geo, geoDataExif=geo_exif))
    place = None if fields.latitude is None else (fields.latitude, fields.longitude)
    assert place == expected


@pytest.mark.parametrize(
    "taken",
    [{"timestamp": "0"}, {"timestamp": "soon"}, {"timestamp": "99999999999999"}, "1695394176"],
)
def test_no_usable_capture_time(taken: object) -> None:
    assert parse_takeout_json(documents.takeout(photoTakenTime=taken)).taken_at is None


def test_a_numeric_timestamp_is_read_too() -> None:
    fields = parse_takeout_json(documents.takeout(photoTakenTime={"timestamp": 1000000000}))
    assert fields.taken_at == datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    "document",
    [
        b'{"title": "IMG_1.jpg", ',
        b"[1, 2, 3]",
        b'"just a string"',
        b"\xff\xfe{}",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"photoTakenTime": {"timestamp": ' + b"9" * 5000 + b"}}",
        json.dumps({"description": "a\x00b"}).encode(),
    ],
    ids=["cut", "list", "string", "not-utf8", "deep", "huge-number", "nul"],
)
def test_broken_json_is_refused(document: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_takeout_json(document)


@pytest.mark.parametrize(
    ("photo", "document"),
    [
        ("IMG_1.jpg", "IMG_1.jpg.json"),
        ("IMG_1.jpg", "IMG_1.jpg.supplemental-metadata.json"),
        ("IMG_1(1).jpg", "IMG_1.jpg(1).json"),
        ("IMG_2710(1).HEIC", "IMG_2710.HEIC.supplemental-metadata(1).json"),
        ("IMG_20200101_123456789.jpg", "IMG_20200101_123456789.jpg.supplemental-metada.json"),
        ("IMG_1.jpg", "IMG_1.jpg.suppl.json"),
        # Takeout cuts a media name to 47 characters and a document's to 46.
        (
            "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINA.jpg",
            "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGIN.json",
        ),
        (
            "Backyard_ceremony_wedding_photography_xxxxxxx_m(494).jpg",
            "Backyard_ceremony_wedding_photography_xxxxxxx_(494).json",
        ),
        ("PXL_20220405_090123740.PORTRAIT-edited.jpg", "PXL_20220405_090123740.PORTRAIT.jpg.json"),
        ("IMG_5-modifié.jpg", "IMG_5.jpg.json"),
        ("Copy (2).jpg", "Copy (2).jpg.json"),
        ("PXL_20210102_221126856.MP~2.jpg", "PXL_20210102_221126856.MP~2.jpg.json"),
    ],
)
def test_names_a_photo_s_document_may_have(photo: str, document: str) -> None:
    assert document in takeout_names(photo)


@pytest.mark.parametrize(
    ("photo", "document"),
    [
        ("DSC_0104(1).JPG", "DSC_0104.JPG.json"),  # a second photo of that name
        ("DSC_0103.JPG", "DSC_0103.JPG(1).json"),
        ("DSC_0102(1).JPG", "DSC_0102.JPG(2).json"),
        ("PXL_20211013_220651958.jpg", "PXL_20211013_220651983.jpg.json"),
        ("IMG_1.jpg", "IMG_1.json"),
    ],
)
def test_names_that_are_not_its_document(photo: str, document: str) -> None:
    assert document not in takeout_names(photo)

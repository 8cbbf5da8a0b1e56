"""XMP sidecars: the fields of the documents real tools write, and hostile XML refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from photostore.errors import InvalidInput
from photostore.media.sidecars import MAX_SIDECAR_BYTES, parse_xmp
from tests.media.sidecars import documents


def test_darktable_attributes_and_hierarchical_tags() -> None:
    fields = parse_xmp(documents.DARKTABLE)
    # darktable writes the EXIF form of the date, without a zone: the wall time as UTC.
    assert fields.taken_at == datetime(2021, 7, 14, 18, 2, 33, tzinfo=UTC)
    assert fields.taken_at_offset_minutes is None
    assert fields.latitude == pytest.approx(48 + 51.4512 / 60)
    assert fields.longitude == pytest.approx(2 + 21.0774 / 60)
    assert fields.altitude == pytest.approx(35.0)
    assert fields.favorite is None  # four stars say nothing of a favorite
    # The hierarchical keywords, without darktable's own bookkeeping tags.
    assert fields.tags == ("Places/France/Paris",)


def test_lightroom_language_alternatives_and_five_stars() -> None:
    fields = parse_xmp(documents.LIGHTROOM)
    assert fields.title == "Harbour at dawn"  # the x-default, not the first entry
    assert fields.description == "Fishing boats coming in"
    assert fields.taken_at == datetime(2022, 3, 4, 9, 8, 7, 120000, tzinfo=UTC)
    assert fields.favorite is True
    assert fields.tags == ("Travel/Norway/Bergen", "boats")
    assert fields.latitude is None and fields.altitude is None


def test_digikam_element_forms_and_its_tags_list() -> None:
    fields = parse_xmp(documents.DIGIKAM)
    assert fields.title == "Shibuya crossing"  # not the face region's dc:title
    assert fields.taken_at == datetime(2023, 4, 1, 20, 15, tzinfo=timezone(timedelta(hours=9)))
    assert fields.taken_at_offset_minutes == 540
    assert fields.latitude == pytest.approx(35 + 39.6234 / 60)
    assert fields.longitude == pytest.approx(139 + 44.4228 / 60)
    assert fields.tags == ("People/Alice", "Japan")


def test_immich_one_description_per_namespace() -> None:
    fields = parse_xmp(documents.IMMICH)
    assert fields.description == "Birthday cake"
    assert fields.taken_at == datetime(2024, 5, 6, 5, 8, 9, tzinfo=UTC)
    assert fields.taken_at_offset_minutes == 120
    assert (fields.latitude, fields.longitude) == pytest.approx((52 + 31.2 / 60, 13 + 24.6 / 60))
    assert fields.favorite is True
    assert fields.tags == ("Family/Birthday",)


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [
        ("51,30.5N", "0,7.5W", (51.508333, -0.125)),
        ("33,51,36S", "151,12,36E", (-33.86, 151.21)),
        ("-33.86", "151.21", (-33.86, 151.21)),
        ("95,0N", "10,0E", None),  # no such latitude
        ("10,0E", "10,0E", None),  # a longitude's letter on a latitude
        ("0,0N", "0,0E", None),  # a receiver without a fix
        ("north", "10,0E", None),
    ],
)
def test_gps_coordinates(
    latitude: str, longitude: str, expected: tuple[float, float] | None
) -> None:
    fields = parse_xmp(
        documents.xmp(f'exif:GPSLatitude="{latitude}" exif:GPSLongitude="{longitude}"/>')
    )
    place = None if fields.latitude is None else (fields.latitude, fields.longitude)
    assert place == (pytest.approx(expected, abs=1e-5) if expected else None)


def test_altitude_below_sea_level_and_altitude_without_a_place() -> None:
    below = parse_xmp(
        documents.xmp(
            'exif:GPSLatitude="31,30N" exif:GPSLongitude="35,30E"'
            ' exif:GPSAltitude="4300/10" exif:GPSAltitudeRef="1"/>'
        )
    )
    assert below.altitude == pytest.approx(-430.0)
    alone = parse_xmp(documents.xmp('exif:GPSAltitude="100"/>'))
    assert alone.altitude is None


@pytest.mark.parametrize(
    ("properties", "expected", "offset"),
    [
        # The first readable date of DateTimeOriginal, DateCreated, CreateDate counts.
        (
            'exif:DateTimeOriginal="2020-01-02T03:04:05-05:00"'
            ' photoshop:DateCreated="2019-01-01" xmp:CreateDate="2018-01-01"/>',
            datetime(2020, 1, 2, 8, 4, 5, tzinfo=UTC),
            -300,
        ),
        (
            'exif:DateTimeOriginal="yesterday" photoshop:DateCreated="1975"/>',
            datetime(1975, 1, 1, tzinfo=UTC),
            None,
        ),
        ('xmp:CreateDate="2010-06-30T12:00Z"/>', datetime(2010, 6, 30, 12, tzinfo=UTC), 0),
        ('photoshop:DateCreated="1600-01-01"/>', None, None),  # before any photograph
        ('exif:DateTimeOriginal="2020-02-30T10:00:00"/>', None, None),
        ('exif:DateTimeOriginal="2020-01-01T10:00:00+25:00"/>', None, None),
    ],
)
def test_capture_time(properties: str, expected: datetime | None, offset: int | None) -> None:
    fields = parse_xmp(documents.xmp(properties))
    assert fields.taken_at == expected
    assert fields.taken_at_offset_minutes == offset


@pytest.mark.parametrize(
    ("properties", "favorite"),
    [
        ('xmp:Rating="5"/>', True),
        ('xmp:Rating="5.0"/>', True),
        ('xmp:Rating="4"/>', None),
        ('xmp:Rating="-1"/>', None),  # rejected in Lightroom: still no word on favorites
        ('fstop:favorite="1"/>', True),  # PhotoPrism's reading of F-Stop's flag
        (">\n<xmp:Rating>5</xmp:Rating></rdf:Description>", True),
    ],
)
def test_rating_and_favorite(properties: str, favorite: bool | None) -> None:
    assert parse_xmp(documents.xmp(properties)).favorite is favorite


def test_plain_title_and_unusable_keywords() -> None:
    fields = parse_xmp(
        documents.xmp(
            "><dc:title>  Plain  </dc:title><dc:subject><rdf:Bag>"
            "<rdf:li>good</rdf:li><rdf:li>a, b</rdf:li><rdf:li>GOOD</rdf:li>"
            f"<rdf:li>{'x' * 101}</rdf:li><rdf:li>  </rdf:li>"
            "</rdf:Bag></dc:subject></rdf:Description>"
        )
    )
    assert fields.title == "Plain"
    assert fields.tags == ("good",)


def test_an_empty_packet_says_nothing() -> None:
    fields = parse_xmp(documents.xmp("/>"))
    assert fields.title is None and fields.taken_at is None and fields.tags == ()


_BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description
 xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&lol9;</dc:title>
</rdf:Description></rdf:RDF></x:xmpmeta>
"""

_EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description
 xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&secret;</dc:title>
</rdf:Description></rdf:RDF></x:xmpmeta>
"""

_PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY % remote SYSTEM "http://127.0.0.1:1/evil.dtd"> %remote;]>
<x/>
"""


@pytest.mark.parametrize(
    "document",
    [
        _BILLION_LAUGHS,
        _EXTERNAL_ENTITY,
        _PARAMETER_ENTITY,
        b"<x>&undeclared;</x>",
        b"<x:xmpmeta><unclosed>",
        b"<dc:title>an unbound prefix</dc:title>",
        b"not xml at all",
        b"<x>\x00</x>",
        b"",
        b"<a>" * 65 + b"</a>" * 65,
    ],
    ids=[
        "billion-laughs",
        "external-entity",
        "parameter-entity",
        "undeclared-entity",
        "unclosed",
        "unbound-prefix",
        "text",
        "nul",
        "empty",
        "too-deep",
    ],
)
def test_hostile_or_broken_xml_is_refused(document: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_xmp(document)


def test_a_document_over_the_limit_is_refused_before_parsing() -> None:
    padding = b" " * MAX_SIDECAR_BYTES
    with pytest.raises(InvalidInput, match="at most"):
        parse_xmp(documents.xmp("/>") + padding)

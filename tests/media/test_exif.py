"""EXIF metadata: every tag exifread reads, and the facts derived from them."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import pytest

from photostore.media.budget import BoundedReader, ParseBudgetExceeded
from photostore.media.exif import MAX_VALUE_CHARS, GpsPosition, ImageMetadata, read_metadata
from tests import imagegen
from tests.media import corpus

# The raw MakerNote blob is dropped on purpose (exifread decodes what it understands of
# it into "MakerNote ..." tags, which are kept).
DROPPED_BY_DESIGN = frozenset({"EXIF MakerNote"})

# expected-exif.txt was printed by an older exifread release than the 3.5 we run. These
# MakerNote tags changed between the two; everything else matches exactly. Each entry
# must still differ (checked below), so the list cannot hide a new regression.
_CANON_LENS = "exifread 3.5 names Canon lens ids ('n/a', lens model) instead of the number"
_CANON_AF_INFO = "exifread 3.5 decodes Canon AFInfo (0x0012) into MakerNote AF* tags"
_CANON_UNKNOWN = (
    "several Canon camera-setting fields are named 'Unknown'; "
    "which one the name points to changed between releases"
)
_NIKON_NAMED = "exifread 3.5 knows this Nikon tag by name (LensMount, DateStampMode)"
RELEASE_DIFFERENCES: dict[tuple[str, str], str] = {
    ("jpg/Canon_DIGITAL_IXUS_400.jpg", "MakerNote LensType"): _CANON_LENS,
    ("jpg/Canon_DIGITAL_IXUS_400.jpg", "MakerNote Tag 0x0012"): _CANON_AF_INFO,
    ("jpg/Canon_DIGITAL_IXUS_400.jpg", "MakerNote Unknown"): _CANON_UNKNOWN,
    ("jpg/Canon_PowerShot_S40.jpg", "MakerNote LensType"): _CANON_LENS,
    ("jpg/Nikon_COOLPIX_P1.jpg", "MakerNote Tag 0x000A"): _NIKON_NAMED,
    ("jpg/Nikon_COOLPIX_P1.jpg", "MakerNote Tag 0x009D"): _NIKON_NAMED,
    ("jpg/tests/11-tests.jpg", "MakerNote LensType"): _CANON_LENS,
    ("jpg/tests/11-tests.jpg", "MakerNote Tag 0x0012"): _CANON_AF_INFO,
    ("jpg/tests/11-tests.jpg", "MakerNote Unknown"): _CANON_UNKNOWN,
    ("jpg/tests/22-canon_tags.jpg", "MakerNote LensType"): _CANON_LENS,
    ("jpg/tests/22-canon_tags.jpg", "MakerNote Tag 0x0012"): _CANON_AF_INFO,
    ("jpg/tests/28-hex_value.jpg", "MakerNote LensType"): _CANON_LENS,
}


def test_every_tag_exifread_printed_is_in_the_metadata(
    exif_corpus: Path, expected_file: str
) -> None:
    expected = corpus.expected_exif()[expected_file]
    exif = read_metadata(exif_corpus / expected_file).exif

    allowed = {key for file, key in RELEASE_DIFFERENCES if file == expected_file}
    mismatches = {
        key: (value, exif.get(key))
        for key, value in expected.items()
        if key not in DROPPED_BY_DESIGN | allowed and exif.get(key) != value
    }
    assert mismatches == {}
    still_different = {key for key in allowed if exif.get(key) != expected[key]}
    assert still_different == allowed, "an allowance in RELEASE_DIFFERENCES is stale"
    assert DROPPED_BY_DESIGN.isdisjoint(exif)


def test_stored_tags_hold_nothing_postgresql_jsonb_rejects(
    exif_corpus: Path, corpus_image: str
) -> None:
    exif = read_metadata(exif_corpus / corpus_image).exif
    for key, value in exif.items():
        assert "\x00" not in key
        assert "\x00" not in value
        assert len(value) <= MAX_VALUE_CHARS
        assert value == value.strip()
    assert "JPEGThumbnail" not in exif
    assert "TIFFThumbnail" not in exif


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("shape", ["landscape", "portrait"])
def test_orientation_is_read_from_the_exif_tag(
    exif_corpus: Path, shape: str, orientation: int
) -> None:
    path = exif_corpus / "jpg" / "orientation" / f"{shape}_{orientation}.jpg"
    assert read_metadata(path).orientation == orientation


@pytest.mark.parametrize(
    ("file", "make", "model", "taken_at", "source"),
    [
        (
            "jpg/Canon_40D.jpg",
            "Canon",
            "Canon EOS 40D",
            datetime(2008, 5, 30, 15, 56, 1, tzinfo=UTC),
            "exif_original",
        ),
        (
            "jpg/Kodak_CX7530.jpg",
            "EASTMAN KODAK COMPANY",
            "KODAK CX7530 ZOOM DIGITAL CAMERA",
            datetime(2005, 8, 13, 9, 47, 23, tzinfo=UTC),
            "exif_original",
        ),
        (
            # A phone that wrote only Image DateTime.
            "jpg/tests/67-0_length_string.jpg",
            "samsung",
            "SM-G930F",
            datetime(2016, 9, 12, 10, 5, 31, tzinfo=UTC),
            "exif_datetime",
        ),
        (
            "jpg/exif-org/nikon-e950.jpg",
            "NIKON",
            "E950",
            datetime(2001, 4, 6, 11, 51, 40, tzinfo=UTC),
            "exif_original",
        ),
    ],
)
def test_camera_and_capture_time_of_real_cameras(
    exif_corpus: Path, file: str, make: str, model: str, taken_at: datetime, source: str
) -> None:
    metadata = read_metadata(exif_corpus / file)
    assert (metadata.camera_make, metadata.camera_model) == (make, model)
    assert metadata.taken_at == taken_at
    assert metadata.taken_at is not None
    assert metadata.taken_at.utcoffset() == timedelta(0)
    assert metadata.taken_at_source == source
    assert metadata.taken_at_offset_minutes is None


def test_a_file_without_exif_gives_empty_metadata(exif_corpus: Path) -> None:
    assert read_metadata(exif_corpus / "jpg" / "xmp" / "no_exif.jpg") == ImageMetadata()


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        # Southern hemisphere: the S reference makes the latitude negative.
        ("jpg/Kodak_CX7530.jpg", GpsPosition(-0.3713, 36.056417, None)),
        ("jpg/tests/67-0_length_string.jpg", GpsPosition(51.025, 7.591944, 340.0)),
        ("jpg/tests/87_OSError.jpg", GpsPosition(43.785594, 11.234619, 42.123)),
        ("jpg/tests/45-gps_ifd.jpg", None),  # a GPS IFD with no position in it
        ("jpg/Canon_40D.jpg", None),  # only GPSVersionID
    ],
)
def test_gps_position_of_real_files(
    exif_corpus: Path, file: str, expected: GpsPosition | None
) -> None:
    assert _fields(read_metadata(exif_corpus / file).gps) == _approx(expected)


@pytest.mark.parametrize(
    ("gps", "expected"),
    [
        (
            imagegen.gps_tags((33, 51, Fraction(3156, 100)), "S", (151, 12, 30), "W"),
            GpsPosition(-33.858767, -151.208333, None),
        ),
        (
            imagegen.gps_tags((48, 51, 30), "N", (2, 17, 40), "E", altitude=35),
            GpsPosition(48.858333, 2.294444, 35.0),
        ),
        (
            imagegen.gps_tags(
                (31, 30, 0), "N", (35, 30, 0), "E", altitude=430, below_sea_level=True
            ),
            GpsPosition(31.5, 35.5, -430.0),  # the Dead Sea shore
        ),
        (
            # Decimal degrees in one rational, as some writers do.
            imagegen.gps_tags((Fraction(45123, 1000),), "N", (Fraction(7, 4),), "E"),
            GpsPosition(45.123, 1.75, None),
        ),
        (
            imagegen.gps_tags(
                (10, 0, 0), "N", (20, 0, 0), "E", altitude=imagegen.zero_denominator(5)
            ),
            GpsPosition(10.0, 20.0, None),  # a broken altitude does not lose the position
        ),
    ],
    ids=["south-west", "north-east-altitude", "below-sea-level", "decimal-degrees", "alt-x/0"],
)
def test_gps_is_decimal_degrees_with_the_references_applied(
    tmp_path: Path, gps: dict[int, object], expected: GpsPosition
) -> None:
    path = tmp_path / "gps.jpg"
    imagegen.make_jpeg(path, exif=imagegen.make_exif(gps=gps))
    assert _fields(read_metadata(path).gps) == _approx(expected)


@pytest.mark.parametrize(
    "gps",
    [
        imagegen.gps_tags((imagegen.zero_denominator(10), 0, 0), "N", (20, 0, 0), "E"),
        imagegen.gps_tags((10, 0, 0), "N", (20, imagegen.zero_denominator(3), 0), "E"),
        imagegen.gps_tags((91, 0, 0), "N", (20, 0, 0), "E"),
        imagegen.gps_tags((10, 0, 0), "N", (180, 30, 0), "W"),
        imagegen.gps_tags((10, 0, 0), "X", (20, 0, 0), "E"),
        imagegen.gps_tags((0, 0, 0), "N", (0, 0, 0), "E"),
        imagegen.gps_tags((1, 2, 3, 4), "N", (20, 0, 0), "E"),
    ],
    ids=[
        "latitude-x/0",
        "longitude-x/0",
        "latitude-over-90",
        "longitude-over-180",
        "unknown-ref",
        "null-island",
        "four-parts",
    ],
)
def test_implausible_gps_gives_no_position(tmp_path: Path, gps: dict[int, object]) -> None:
    path = tmp_path / "gps.jpg"
    imagegen.make_jpeg(path, exif=imagegen.make_exif(gps=gps))
    assert read_metadata(path).gps is None


_PLUS_0530 = timezone(timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    ("tags", "taken_at", "source", "offset"),
    [
        (
            {
                "datetime_original": "2020:01:02 03:04:05",
                "offset_original": "+05:30",
                "subsec_original": "123",
            },
            datetime(2020, 1, 2, 3, 4, 5, 123000, tzinfo=_PLUS_0530),
            "exif_original",
            330,
        ),
        (
            {
                "datetime_original": "0000:00:00 00:00:00",
                "datetime_digitized": "2019:12:31 23:59:59",
                "offset_digitized": "-04:00",
                "offset_original": "+01:00",
            },
            datetime(2019, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-4))),
            "exif_digitized",
            -240,
        ),
        (
            {
                "datetime_original": "not a date",
                "datetime_digitized": "2019:13:01 00:00:00",
                "datetime": "2018:06:07 08:09:10",
                "offset": "+00:00",
            },
            datetime(2018, 6, 7, 8, 9, 10, tzinfo=UTC),
            "exif_datetime",
            0,
        ),
        (
            # The offset belongs to another date tag: the wall time is filed as UTC.
            {"datetime_original": "2017:05:06 07:08:09", "offset_digitized": "+02:00"},
            datetime(2017, 5, 6, 7, 8, 9, tzinfo=UTC),
            "exif_original",
            None,
        ),
        (
            {"datetime_original": "2017:05:06 07:08:09", "offset_original": "+25:00"},
            datetime(2017, 5, 6, 7, 8, 9, tzinfo=UTC),
            "exif_original",
            None,
        ),
        (
            {"datetime_original": "2017:05:06 07:08:09", "subsec_original": "12x"},
            datetime(2017, 5, 6, 7, 8, 9, tzinfo=UTC),
            "exif_original",
            None,
        ),
        ({"datetime_original": "    :  :     :  :  "}, None, None, None),
    ],
    ids=[
        "original-offset-subsec",
        "zero-date-falls-back-to-digitized",
        "garbage-falls-back-to-datetime",
        "offset-of-another-tag-is-ignored",
        "impossible-offset",
        "bad-subseconds",
        "blank-date",
    ],
)
def test_capture_time_takes_the_best_valid_date_with_its_offset(
    tmp_path: Path,
    tags: dict[str, str],
    taken_at: datetime | None,
    source: str | None,
    offset: int | None,
) -> None:
    path = tmp_path / "dated.jpg"
    imagegen.make_jpeg(path, exif=imagegen.make_exif(**tags))  # type: ignore[arg-type]
    metadata = read_metadata(path)
    assert metadata.taken_at == taken_at
    if taken_at is not None:
        assert metadata.taken_at is not None
        assert metadata.taken_at.utcoffset() == taken_at.utcoffset()
    assert metadata.taken_at_source == source
    assert metadata.taken_at_offset_minutes == offset


@pytest.mark.parametrize("orientation", [0, 9, 65535])
def test_an_orientation_outside_1_to_8_counts_as_1(tmp_path: Path, orientation: int) -> None:
    path = tmp_path / "turned.jpg"
    imagegen.make_jpeg(path, exif=imagegen.make_exif(orientation=orientation))
    assert read_metadata(path).orientation == 1


def test_blank_camera_names_are_none(tmp_path: Path) -> None:
    path = tmp_path / "blank.jpg"
    imagegen.make_jpeg(path, exif=imagegen.make_exif(make="   ", model=""))
    metadata = read_metadata(path)
    assert (metadata.camera_make, metadata.camera_model) == (None, None)


def test_values_too_long_for_a_fact_are_dropped(tmp_path: Path) -> None:
    exif = imagegen.make_exif(make="Canon", description="x" * (MAX_VALUE_CHARS + 1))
    path = tmp_path / "long.jpg"
    imagegen.make_jpeg(path, exif=exif)
    tags = read_metadata(path).exif
    assert "Image ImageDescription" not in tags
    assert tags["Image Make"] == "Canon"


@pytest.mark.parametrize(
    "make",
    [
        lambda exif: imagegen.make_png(None, exif=exif),
        lambda exif: imagegen.make_webp(None, exif=exif),
        lambda exif: imagegen.make_heic(None, exif=exif),
    ],
    ids=["png", "webp", "heic"],
)
def test_exif_is_read_from_png_webp_and_heic_too(
    tmp_path: Path, make: Callable[[bytes], bytes]
) -> None:
    exif = imagegen.make_exif(
        make="Apple",
        model="iPhone 15",
        datetime_original="2024:03:02 01:00:00",
        offset_original="-08:00",
        gps=imagegen.gps_tags((37, 46, 0), "N", (122, 25, 0), "W"),
    )
    path = tmp_path / "image"
    path.write_bytes(make(exif))
    metadata = read_metadata(path)
    assert (metadata.camera_make, metadata.camera_model) == ("Apple", "iPhone 15")
    assert metadata.taken_at == datetime(2024, 3, 2, 9, 0, tzinfo=UTC)
    assert metadata.taken_at_offset_minutes == -480
    assert _fields(metadata.gps) == _approx(GpsPosition(37.766667, -122.416667, None))


@pytest.mark.parametrize(
    "app1",
    [
        b"Exif\x00\x00" + bytes(range(256)) * 3,
        b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08" + b"\xff" * 64,
        b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff" + b"\x01" * 500,
        b"Exif\x00\x00II*\x00\xff\xff\xff\x7f",  # first IFD far past the end
    ],
    ids=["random", "ff-entries", "huge-entry-count", "ifd-out-of-file"],
)
def test_malformed_exif_gives_empty_or_partial_metadata_without_raising(
    tmp_path: Path, app1: bytes
) -> None:
    path = tmp_path / "bad-exif.jpg"
    path.write_bytes(imagegen.with_app1(imagegen.make_jpeg(None), app1))
    metadata = read_metadata(path)
    assert metadata.orientation == 1
    assert metadata.taken_at is None
    assert metadata.gps is None


def test_a_crash_inside_exifread_gives_empty_metadata_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "crash.jpg"
    jpeg = imagegen.make_jpeg(None)
    path.write_bytes(imagegen.with_app1(jpeg, imagegen.exif_with_empty_exif_pointer()))
    with caplog.at_level(logging.WARNING, logger="photostore.media.exif"):
        assert read_metadata(path) == ImageMetadata()
    assert [record.levelno for record in caplog.records if record.name.startswith("photo")] == [
        logging.WARNING
    ]


@pytest.mark.parametrize("count", [3_000_000, 2**32 - 1])
def test_a_maker_note_declaring_more_values_than_the_file_holds_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, count: int
) -> None:
    # The 765-byte file of the security audit: exifread would unpack `count` values one
    # read at a time (3,000,000 took 11 s of CPU; 2**32-1, hours and tens of GB).
    path = tmp_path / "maker-note-bomb.jpg"
    imagegen.make_jpeg(path, 8, 8, exif=imagegen.exif_with_maker_note_count(count))
    with caplog.at_level(logging.WARNING, logger="photostore.media.exif"):
        metadata = read_metadata(path)
    # The standard tags are read again without the MakerNote: the photo keeps its facts.
    assert metadata.camera_make == "Canon"
    assert metadata.taken_at == datetime(2021, 7, 4, 18, 30, 15, tzinfo=UTC)
    assert not any(key.startswith("MakerNote") for key in metadata.exif)
    assert "MakerNote" in caplog.text
    assert "over its parse budget" in caplog.text


def test_exif_over_the_parse_budget_even_without_maker_notes_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # 5,000 entries x 999 values = 5 million reads for a 60 KB segment.
    path = tmp_path / "entry-flood.jpg"
    jpeg = imagegen.make_jpeg(None)
    path.write_bytes(imagegen.with_app1(jpeg, imagegen.exif_with_repeated_entries(5000)))
    with caplog.at_level(logging.WARNING, logger="photostore.media.exif"):
        assert read_metadata(path) == ImageMetadata()
    assert "over its parse budget" in caplog.text


def test_the_parse_budget_counts_reads_and_bytes() -> None:
    reader = BoundedReader(io.BytesIO(b"x" * 100), max_reads=3, max_bytes=10)
    assert reader.read(4) == b"xxxx"
    reader.seek(0)
    with pytest.raises(ParseBudgetExceeded, match="bytes"):
        reader.read()  # "to the end": no more than the budget is pulled in
    reader = BoundedReader(io.BytesIO(b""), max_reads=2)
    assert reader.read(1) == reader.read(1) == b""  # reads past the end count too
    with pytest.raises(ParseBudgetExceeded, match="reads"):
        reader.read(1)


@pytest.mark.parametrize(
    ("date", "offset"),
    [
        ("9999:12:31 23:59:59", "-14:00"),  # year 10000 in UTC: unreadable once stored
        ("9999:12:31 23:59:59", None),
        ("2200:01:01 00:00:00", None),
        ("1799:12:31 23:59:59", None),
        ("0001:01:01 00:00:00", "+14:00"),  # before year 1 in UTC
    ],
)
def test_capture_times_outside_1800_to_2200_are_treated_as_missing(
    tmp_path: Path, date: str, offset: str | None
) -> None:
    path = tmp_path / "far-dated.jpg"
    exif = imagegen.make_exif(datetime_original=date, offset_original=offset)
    imagegen.make_jpeg(path, exif=exif)
    metadata = read_metadata(path)
    assert (metadata.taken_at, metadata.taken_at_source) == (None, None)


def test_the_edges_of_the_capture_time_range_are_kept(tmp_path: Path) -> None:
    for date, expected in [
        ("1800:01:01 00:00:00", datetime(1800, 1, 1, tzinfo=UTC)),
        ("2199:12:31 23:59:59", datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ]:
        path = tmp_path / "edge.jpg"
        imagegen.make_jpeg(path, exif=imagegen.make_exif(datetime_original=date))
        assert read_metadata(path).taken_at == expected


def test_a_missing_file_is_an_error_of_the_caller(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_metadata(tmp_path / "absent.jpg")


def _approx(position: GpsPosition | None) -> object:
    """``position`` as a tuple compared to 6 decimals (about 10 cm), for float noise."""
    if position is None:
        return None
    return pytest.approx((position.latitude, position.longitude, position.altitude), abs=1e-6)


def _fields(position: GpsPosition | None) -> object:
    """``position`` as the tuple :func:`_approx` compares with."""
    if position is None:
        return None
    return (position.latitude, position.longitude, position.altitude)

"""analyze_file: the upload service's one call, on real camera files and on bad input."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from photostore.errors import InvalidImage, UnsupportedMediaType
from photostore.media import AnalyzedImage, DecodeLimits, ImageFormat, analyze_file
from tests import imagegen

# The files under jpg/tests/ broke EXIF parsers, not image decoders: each was decoded
# to the last pixel with libjpeg warnings treated as errors, and all are whole images.
# A file listed here would have to come back marked damaged instead.
DAMAGED_CORPUS_IMAGES: frozenset[str] = frozenset()


def assert_thumbnails_fit(analyzed: AnalyzedImage, limits: DecodeLimits) -> None:
    """Every thumbnail is a WebP within its long edge, shaped like the displayed image."""
    assert set(analyzed.thumbnails) == set(limits.thumbnail_sizes)
    for name, data in analyzed.thumbnails.items():
        thumbnail = Image.open(io.BytesIO(data))
        assert thumbnail.format == "WEBP"
        thumbnail.load()
        size = limits.thumbnail_sizes[name]
        assert max(thumbnail.size) == min(size, max(analyzed.width, analyzed.height))
        assert (thumbnail.width >= thumbnail.height) == (analyzed.width >= analyzed.height)


def test_every_corpus_image_is_analyzed(
    exif_corpus: Path, corpus_image: str, limits: DecodeLimits
) -> None:
    analyzed = analyze_file(exif_corpus / corpus_image, limits)
    assert analyzed.damaged is (corpus_image in DAMAGED_CORPUS_IMAGES)
    expected = ImageFormat.TIFF if corpus_image.startswith("tiff/") else ImageFormat.JPEG
    assert analyzed.format is expected
    assert analyzed.content_type == expected.content_type
    assert analyzed.width > 0
    assert analyzed.height > 0
    assert_thumbnails_fit(analyzed, limits)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("shape", ["landscape", "portrait"])
def test_orientation_files_are_displayed_the_right_way_up(
    exif_corpus: Path, limits: DecodeLimits, shape: str, orientation: int
) -> None:
    path = exif_corpus / "jpg" / "orientation" / f"{shape}_{orientation}.jpg"
    analyzed = analyze_file(path, limits)
    assert analyzed.orientation == analyzed.metadata.orientation == orientation
    if shape == "landscape":
        assert analyzed.width > analyzed.height
    else:
        assert analyzed.width < analyzed.height
    assert_thumbnails_fit(analyzed, limits)


def test_a_camera_file_carries_its_metadata(exif_corpus: Path, limits: DecodeLimits) -> None:
    analyzed = analyze_file(exif_corpus / "jpg" / "Canon_40D.jpg", limits)
    assert (analyzed.width, analyzed.height) == (100, 68)
    assert analyzed.metadata.camera_model == "Canon EOS 40D"
    assert analyzed.metadata.taken_at == datetime(2008, 5, 30, 15, 56, 1, tzinfo=UTC)
    assert analyzed.metadata.exif["EXIF FNumber"] == "71/10"


@pytest.mark.parametrize(
    "data",
    [
        b"hello, this is not an image at all\n" * 10,
        b"%PDF-1.7\n" + b"0" * 200,
        b"PK\x03\x04" + b"\x00" * 200,
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        imagegen.make_jpeg(None)[1:],  # one byte short of the magic number
    ],
    ids=["text", "pdf", "zip", "svg", "jpeg-missing-first-byte"],
)
def test_a_file_that_is_not_an_image_is_an_unsupported_media_type(
    tmp_path: Path, limits: DecodeLimits, data: bytes
) -> None:
    path = tmp_path / "upload.jpg"  # the name says JPEG; names are never trusted
    path.write_bytes(data)
    with pytest.raises(UnsupportedMediaType) as caught:
        analyze_file(path, limits)
    assert caught.value.detail == (
        "the file is not an image photostore accepts: JPEG, PNG, WebP, GIF, TIFF, HEIC"
    )


def test_an_empty_file_is_an_unsupported_media_type(tmp_path: Path, limits: DecodeLimits) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(UnsupportedMediaType, match="the file is empty"):
        analyze_file(path, limits)


@pytest.mark.parametrize(
    "make",
    [
        lambda: imagegen.make_jpeg(None, 300, 200, exif=imagegen.make_exif(make="Canon")),
        lambda: imagegen.make_png(None, 300, 200, exif=imagegen.make_exif(make="Canon")),
    ],
    ids=["jpeg", "png"],
)
def test_a_file_cut_in_half_is_analyzed_as_damaged_with_its_metadata(
    tmp_path: Path, limits: DecodeLimits, make: Callable[[], bytes]
) -> None:
    path = tmp_path / "cut"
    path.write_bytes(imagegen.truncate(make()))
    analyzed = analyze_file(path, limits)
    assert analyzed.damaged is True
    assert analyzed.metadata.camera_make == "Canon"  # EXIF comes before the pixels
    assert_thumbnails_fit(analyzed, limits)


@pytest.mark.parametrize(
    "make",
    [lambda: imagegen.make_webp(None, 300, 200), lambda: imagegen.make_heic(None, 300, 200)],
    ids=["webp", "heic"],
)
def test_a_file_cut_in_half_its_decoder_cannot_open_is_an_invalid_image(
    tmp_path: Path, limits: DecodeLimits, make: Callable[[], bytes]
) -> None:
    path = tmp_path / "cut"
    path.write_bytes(imagegen.truncate(make()))
    with pytest.raises(InvalidImage, match="truncated"):
        analyze_file(path, limits)


@pytest.mark.parametrize(
    "data",
    [imagegen.make_png_bomb(60_000, 60_000), imagegen.make_jpeg_bomb(60_000, 60_000)],
    ids=["png", "jpeg"],
)
def test_a_decompression_bomb_is_an_invalid_image(
    tmp_path: Path, limits: DecodeLimits, data: bytes
) -> None:
    path = tmp_path / "bomb"
    path.write_bytes(data)
    with pytest.raises(InvalidImage, match="60000x60000"):
        analyze_file(path, limits)


def test_a_jpeg_with_garbage_exif_is_still_analyzed(tmp_path: Path, limits: DecodeLimits) -> None:
    path = tmp_path / "bad-exif.jpg"
    garbage = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08" + b"\xff" * 64
    path.write_bytes(imagegen.with_app1(imagegen.make_jpeg(None, 40, 30), garbage))
    analyzed = analyze_file(path, limits)
    assert (analyzed.width, analyzed.height) == (40, 30)
    assert analyzed.metadata.taken_at is None
    assert_thumbnails_fit(analyzed, limits)


def test_a_jpeg_that_crashes_exifread_is_still_analyzed(
    tmp_path: Path, limits: DecodeLimits
) -> None:
    path = tmp_path / "crash.jpg"
    crash = imagegen.exif_with_empty_exif_pointer()
    path.write_bytes(imagegen.with_app1(imagegen.make_jpeg(None, 40, 30), crash))
    analyzed = analyze_file(path, limits)
    assert analyzed.metadata.exif == {}
    assert (analyzed.width, analyzed.height) == (40, 30)


def test_the_format_comes_from_the_bytes_not_the_name(tmp_path: Path, limits: DecodeLimits) -> None:
    path = tmp_path / "holiday.jpg"
    imagegen.make_png(path, 20, 10)
    analyzed = analyze_file(path, limits)
    assert analyzed.format is ImageFormat.PNG
    assert analyzed.content_type == "image/png"


def test_a_phone_heic_is_analyzed_with_its_metadata(tmp_path: Path, limits: DecodeLimits) -> None:
    path = tmp_path / "IMG_0001.HEIC"
    exif = imagegen.make_exif(
        orientation=6,
        make="Apple",
        model="iPhone 15",
        datetime_original="2024:03:02 01:00:00",
        offset_original="-08:00",
        gps=imagegen.gps_tags((37, 46, 0), "N", (122, 25, 0), "W", altitude=12),
    )
    imagegen.make_heic(path, 400, 300, exif=exif)
    analyzed = analyze_file(path, limits)
    assert analyzed.format is ImageFormat.HEIC
    assert analyzed.content_type == "image/heic"
    assert (analyzed.width, analyzed.height) == (300, 400)
    assert analyzed.orientation == 6
    assert analyzed.metadata.camera_model == "iPhone 15"
    assert analyzed.metadata.taken_at_offset_minutes == -480
    assert analyzed.metadata.gps is not None
    assert analyzed.metadata.gps.longitude == pytest.approx(-122.416667, abs=1e-6)
    assert_thumbnails_fit(analyzed, limits)

"""Formats are recognised by their magic numbers, and only by them."""

from __future__ import annotations

import struct

import pytest

from photostore.media.sniff import ImageFormat, sniff_format
from tests import imagegen


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    """An ISO-BMFF ``ftyp`` box, as HEIF and AVIF files start, padded like a file head."""
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (struct.pack(">I", 8 + len(body)) + b"ftyp" + body).ljust(64, b"\x00")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (imagegen.make_jpeg(None, 8, 8), ImageFormat.JPEG),
        (imagegen.make_png(None, 8, 8), ImageFormat.PNG),
        (imagegen.make_webp(None, 8, 8), ImageFormat.WEBP),
        (imagegen.make_gif(None, 8, 8), ImageFormat.GIF),
        (b"GIF87a" + b"\x00" * 20, ImageFormat.GIF),
        (imagegen.make_tiff(None, 8, 8), ImageFormat.TIFF),
        (b"MM\x00*\x00\x00\x00\x08", ImageFormat.TIFF),
        (b"II+\x00\x08\x00\x00\x00", ImageFormat.TIFF),  # BigTIFF
        (imagegen.make_heic(None, 8, 8), ImageFormat.HEIC),
    ],
    ids=["jpeg", "png", "webp", "gif89a", "gif87a", "tiff-le", "tiff-be", "bigtiff", "heic"],
)
def test_each_accepted_format_is_recognised_from_its_first_bytes(
    head: bytes, expected: ImageFormat
) -> None:
    assert sniff_format(head[:64]) is expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (ftyp(b"heic", b"mif1", b"heic"), ImageFormat.HEIC),
        (ftyp(b"mif1", b"heic"), ImageFormat.HEIC),
        (ftyp(b"msf1", b"hevc"), ImageFormat.HEIC),
        (ftyp(b"heix", b"mif1"), ImageFormat.HEIC),
        (ftyp(b"mif1", b"miaf"), ImageFormat.HEIC),  # a generic HEIF still image
        (ftyp(b"avif", b"mif1", b"miaf"), None),  # AVIF: AV1 payload, not HEVC
        (ftyp(b"mif1", b"avif"), None),
        (ftyp(b"isom", b"iso2", b"mp41"), None),  # an MP4 video
        (ftyp(b"qt  "), None),  # a QuickTime movie
    ],
    ids=[
        "heic",
        "mif1-heic",
        "msf1-hevc",
        "heix",
        "mif1-only",
        "avif",
        "mif1-avif",
        "mp4",
        "quicktime",
    ],
)
def test_heif_files_count_as_heic_only_with_an_hevc_or_plain_heif_brand(
    head: bytes, expected: ImageFormat | None
) -> None:
    assert sniff_format(head) is expected


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"\xff\xd8",  # too short to be sure
        b"hello, this is not an image at all\n",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",  # RIFF, but audio
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"BM6\x00\x00\x00\x00\x00\x00\x006\x00\x00\x00",  # BMP: not accepted
        b"\x00\x00\x00\x08ftyp",  # a box too short to hold a brand
    ],
    ids=["empty", "short-jpeg", "text", "pdf", "zip", "wav", "svg", "bmp", "tiny-ftyp"],
)
def test_anything_else_is_not_an_image_we_accept(head: bytes) -> None:
    assert sniff_format(head) is None


@pytest.mark.parametrize(
    ("fmt", "content_type", "label"),
    [
        (ImageFormat.JPEG, "image/jpeg", "JPEG"),
        (ImageFormat.PNG, "image/png", "PNG"),
        (ImageFormat.WEBP, "image/webp", "WebP"),
        (ImageFormat.GIF, "image/gif", "GIF"),
        (ImageFormat.TIFF, "image/tiff", "TIFF"),
        (ImageFormat.HEIC, "image/heic", "HEIC"),
    ],
)
def test_each_format_names_its_media_type(fmt: ImageFormat, content_type: str, label: str) -> None:
    assert fmt.content_type == content_type
    assert fmt.label == label
    assert fmt == fmt.value  # a StrEnum: stores and serialises as its value

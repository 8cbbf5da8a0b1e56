"""Which image format a file holds, decided from its first bytes only.

Filenames and declared content types come from the client and are never trusted: the
format is what the magic numbers say, and the decoder later checks that the rest of the
file agrees.
"""

from __future__ import annotations

import enum
import struct

#: How many bytes of the file :func:`sniff_format` needs to see.
SNIFF_BYTES = 64

# ISO-BMFF brands. Files that carry an HEVC brand are HEIC. ``mif1``/``msf1`` only say
# "HEIF container" and also appear in AVIF files, whose AV1 payload we cannot decode
# (the HEIF decoder in our wheels is HEVC only), so they count only without an AV1 brand.
_HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
_GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
_AV1_BRANDS = frozenset({b"avif", b"avis"})
# A ftyp box holds at least size, type, major brand and minor version.
_MIN_FTYP_SIZE = 16


class ImageFormat(enum.StrEnum):
    """An image format photostore accepts."""

    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    GIF = "gif"
    TIFF = "tiff"
    HEIC = "heic"

    @property
    def content_type(self) -> str:
        """The media type to serve files of this format with."""
        return f"image/{self.value}"

    @property
    def label(self) -> str:
        """The name people write: JPEG, PNG, WebP, GIF, TIFF, HEIC."""
        return "WebP" if self is ImageFormat.WEBP else self.name


_MAGIC_PREFIXES: tuple[tuple[bytes, ImageFormat], ...] = (
    (b"\xff\xd8\xff", ImageFormat.JPEG),
    (b"\x89PNG\r\n\x1a\n", ImageFormat.PNG),
    (b"GIF87a", ImageFormat.GIF),
    (b"GIF89a", ImageFormat.GIF),
    # Classic TIFF and BigTIFF, both byte orders; libtiff reads all four.
    (b"II*\x00", ImageFormat.TIFF),
    (b"MM\x00*", ImageFormat.TIFF),
    (b"II+\x00", ImageFormat.TIFF),
    (b"MM\x00+", ImageFormat.TIFF),
)


def sniff_format(head: bytes) -> ImageFormat | None:
    """Return the format ``head`` (the first bytes of a file) starts, or ``None``."""
    for magic, fmt in _MAGIC_PREFIXES:
        if head.startswith(magic):
            return fmt
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ImageFormat.WEBP
    if _is_heic(head[:SNIFF_BYTES]):
        return ImageFormat.HEIC
    return None


def _is_heic(head: bytes) -> bool:
    """Whether ``head`` opens with an ISO-BMFF ``ftyp`` box naming an HEVC still image."""
    if len(head) < _MIN_FTYP_SIZE or head[4:8] != b"ftyp":
        return False
    (box_size,) = struct.unpack(">I", head[:4])
    # Size 0 ("to end of file") and 1 (64-bit size) are not used for ftyp in practice.
    if box_size < _MIN_FTYP_SIZE:
        return False
    box = head[: min(box_size, len(head))]
    brands = {box[8:12]}
    brands.update(box[i : i + 4] for i in range(16, len(box) - 3, 4))
    if brands & _HEVC_BRANDS:
        return True
    return bool(brands & _GENERIC_HEIF_BRANDS) and not brands & _AV1_BRANDS

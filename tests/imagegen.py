"""Make test images at test time: every format photostore accepts, and broken ones.

Every function returns the encoded bytes and, when given a path, also writes them
there. Pixels come from a seeded generator (a gradient plus noise), so the same call
always gives the same bytes. API tests use these too: keep them plain functions.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import pillow_heif
import pyvips
from numpy.typing import NDArray
from PIL import Image, TiffImagePlugin

Number = Fraction | int | TiffImagePlugin.IFDRational

EXIF_IFD = 0x8769
GPS_IFD = 0x8825


def pixels(width: int, height: int, channels: int = 3, *, seed: int = 0) -> NDArray[np.uint8]:
    """A ``height x width x channels`` uint8 array: diagonal gradients plus noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = [
        x * 255 // max(width - 1, 1),
        y * 255 // max(height - 1, 1),
        (x + y) * 255 // max(width + height - 2, 1),
        np.full_like(x, 200),  # alpha: mostly opaque
    ]
    planes = np.stack([base[i % len(base)] for i in range(channels)], axis=-1)
    noisy = planes + rng.integers(-12, 13, planes.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def make_exif(
    *,
    orientation: int | None = None,
    make: str | None = None,
    model: str | None = None,
    description: str | None = None,
    datetime: str | None = None,
    datetime_original: str | None = None,
    datetime_digitized: str | None = None,
    offset_original: str | None = None,
    offset_digitized: str | None = None,
    offset: str | None = None,
    subsec_original: str | None = None,
    gps: dict[int, object] | None = None,
) -> bytes:
    """An EXIF block with the given tags, as it goes into a JPEG APP1 segment.

    The bytes start with ``Exif\\0\\0``, then the TIFF structure; every ``exif=``
    argument of this module takes them as they are.

    ``gps`` maps GPS IFD tag numbers to values, see :func:`gps_tags`.
    """
    exif = Image.Exif()
    for tag, value in (
        (0x0112, orientation),
        (0x010F, make),
        (0x0110, model),
        (0x010E, description),
    ):
        if value is not None:
            exif[tag] = value
    if datetime is not None:
        exif[0x0132] = datetime
    sub_ifd = exif.get_ifd(EXIF_IFD)
    for tag, value in (
        (0x9003, datetime_original),
        (0x9004, datetime_digitized),
        (0x9010, offset),
        (0x9011, offset_original),
        (0x9012, offset_digitized),
        (0x9291, subsec_original),
    ):
        if value is not None:
            sub_ifd[tag] = value
    if gps is not None:
        exif.get_ifd(GPS_IFD).update(gps)
    return exif.tobytes()


def gps_tags(
    latitude: Sequence[Number],
    latitude_ref: str,
    longitude: Sequence[Number],
    longitude_ref: str,
    *,
    altitude: Number | None = None,
    below_sea_level: bool = False,
) -> dict[int, object]:
    """GPS IFD entries from degrees, minutes, seconds (see :func:`zero_denominator`)."""

    def rational(value: Number) -> TiffImagePlugin.IFDRational:
        if isinstance(value, TiffImagePlugin.IFDRational):
            return value
        fraction = value if isinstance(value, Fraction) else Fraction(value)
        return TiffImagePlugin.IFDRational(fraction.numerator, fraction.denominator)

    tags: dict[int, object] = {
        1: latitude_ref,
        2: tuple(rational(part) for part in latitude),
        3: longitude_ref,
        4: tuple(rational(part) for part in longitude),
    }
    if altitude is not None:
        tags[5] = b"\x01" if below_sea_level else b"\x00"
        tags[6] = rational(altitude)
    return tags


def exif_with_empty_exif_pointer() -> bytes:
    """An EXIF block whose only tag, the Exif IFD pointer, has no value at all.

    exifread 3.5 fails on it with an IndexError: a stand-in for any parser crash.
    """
    entry = struct.pack(">HHII", 0x8769, 4, 0, 0)  # tag, LONG, count 0, value 0
    return b"Exif\x00\x00MM\x00*" + struct.pack(">IH", 8, 1) + entry + struct.pack(">I", 0)


def exif_with_maker_note_count(count: int) -> bytes:
    """A Canon EXIF block with a capture time whose MakerNote declares ``count`` bytes.

    The MakerNote entry's count is patched after writing, so the block still holds only
    its four bytes: what a hostile or broken file declares, not what it contains.
    """
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 40D"
    sub_ifd = exif.get_ifd(EXIF_IFD)
    sub_ifd[0x9003] = "2021:07:04 18:30:15"
    sub_ifd[0x927C] = b"II*\x00"  # MakerNote, UNDEFINED, four bytes: stored inline
    block = exif.tobytes()  # big-endian ("MM"); Pillow writes the bytes as BYTE values
    at = block.index(struct.pack(">HHI", 0x927C, 1, 4))
    return block[: at + 4] + struct.pack(">I", count) + block[at + 8 :]


def exif_with_repeated_entries(entries: int) -> bytes:
    """An EXIF block of one IFD with ``entries`` standard entries of 999 SHORT values
    each, all pointing at the same bytes: exifread unpacks every value of every entry
    (999 is just under the count at which it stops unpacking), one read each.
    """
    entry = struct.pack(">HHII", 0x0100, 3, 999, 8)  # ImageWidth, SHORT, 999 values
    return (
        b"Exif\x00\x00MM\x00*"
        + struct.pack(">IH", 8, entries)
        + entry * entries
        + struct.pack(">I", 0)
    )


def zero_denominator(numerator: int) -> TiffImagePlugin.IFDRational:
    """A rational ``numerator/0``, which broken writers put in GPS tags."""
    return TiffImagePlugin.IFDRational(numerator, 0)


def make_jpeg(
    path: Path | None = None,
    width: int = 64,
    height: int = 48,
    *,
    exif: bytes | None = None,
    seed: int = 0,
    mode: str = "RGB",
    quality: int = 90,
) -> bytes:
    """A baseline JPEG; ``mode`` "RGB", "L" (grey) or "CMYK" (Adobe-style inverted)."""
    image = Image.fromarray(pixels(width, height, 3, seed=seed)).convert(mode)
    options: dict[str, object] = {"quality": quality}
    if exif is not None:
        options["exif"] = exif
    return _save(path, image, "JPEG", **options)


def make_png(
    path: Path | None = None,
    width: int = 64,
    height: int = 48,
    *,
    seed: int = 0,
    alpha: bool = False,
    bit_depth: int = 8,
    palette: bool = False,
    exif: bytes | None = None,
) -> bytes:
    """A PNG: RGB or RGBA, 8 or 16 bits per sample, or palette; EXIF in an eXIf chunk."""
    channels = 4 if alpha else 3
    data = pixels(width, height, channels, seed=seed)
    if bit_depth == 16:
        deep = data.astype(np.uint16) * 257
        interpretation = "rgb16"
        encoded = bytes(
            pyvips.Image.new_from_array(deep, interpretation=interpretation).pngsave_buffer()
        )
        return _write(path, encoded)
    image = Image.fromarray(data)
    if palette:
        image = image.convert("RGB").quantize(colors=64)
    options: dict[str, object] = {}
    if exif is not None:
        options["exif"] = exif
    return _save(path, image, "PNG", **options)


def make_webp(
    path: Path | None = None,
    width: int = 64,
    height: int = 48,
    *,
    seed: int = 0,
    frames: int = 1,
    exif: bytes | None = None,
    lossless: bool = False,
) -> bytes:
    """A WebP, animated when ``frames`` > 1 (frames after the first are dark)."""
    images = [_frame(width, height, i, seed=seed) for i in range(frames)]
    options: dict[str, object] = {"quality": 80, "lossless": lossless}
    if exif is not None:
        options["exif"] = exif
    if frames > 1:
        options.update(save_all=True, append_images=images[1:], duration=100, loop=0)
    return _save(path, images[0], "WEBP", **options)


def make_gif(
    path: Path | None = None,
    width: int = 64,
    height: int = 48,
    *,
    seed: int = 0,
    frames: int = 1,
) -> bytes:
    """A GIF, animated when ``frames`` > 1 (frames after the first are dark)."""
    images = [_frame(width, height, i, seed=seed).quantize(colors=64) for i in range(frames)]
    options: dict[str, object] = {}
    if frames > 1:
        options.update(save_all=True, append_images=images[1:], duration=100, loop=0)
    return _save(path, images[0], "GIF", **options)


def make_tiff(
    path: Path | None = None,
    width: int = 64,
    height: int = 48,
    *,
    seed: int = 0,
    pages: int = 1,
    page_sizes: Sequence[tuple[int, int]] = (),
) -> bytes:
    """A TIFF with ``pages`` pages; ``page_sizes`` overrides the size of later pages."""
    sizes = [(width, height), *page_sizes]
    sizes += [(width, height)] * (pages - len(sizes))
    images = [
        Image.fromarray(pixels(w, h, seed=seed + i)) for i, (w, h) in enumerate(sizes[:pages])
    ]
    options: dict[str, object] = {"compression": "tiff_deflate"}
    if pages > 1:
        options.update(save_all=True, append_images=images[1:])
    return _save(path, images[0], "TIFF", **options)


def make_heic(
    path: Path | None = None,
    width: int = 64,
    height: int = 48,
    *,
    seed: int = 0,
    exif: bytes | None = None,
    alpha: bool = False,
) -> bytes:
    """A HEIC (HEVC) still image, written by pillow-heif's x265 encoder.

    pillow-heif moves an EXIF orientation into the HEIF ``irot``/``imir`` transforms,
    so readers see the rotated size.
    """
    image = Image.fromarray(pixels(width, height, 4 if alpha else 3, seed=seed))
    options: dict[str, object] = {"quality": 80}
    if exif is not None:
        options["exif"] = exif
    heif = pillow_heif.from_pillow(image)
    buffer = io.BytesIO()
    heif.save(buffer, **options)
    return _write(path, buffer.getvalue())


def make_heic_without_images() -> bytes:
    """A HEIC whose only image links a property that does not exist, so readers drop it.

    The first property association in the ``ipma`` box (after version and flags, the
    entry count, the item id and the association count) is pointed at property 13.
    """
    data = bytearray(make_heic(None, 32, 32))
    first_association = data.index(b"ipma") + 4 + 4 + 4 + 2 + 1
    data[first_association] = 13
    return bytes(data)


def make_heic_bomb(width: int, height: int) -> bytes:
    """A small HEIC whose ``ispe`` box (the size readers trust) claims ``width x height``.

    The source is square and a multiple of 8 pixels, so no ``clap`` box crops the size.
    """
    data = bytearray(make_heic(None, 64, 64))
    size = data.index(b"ispe") + 4 + 4  # after the type and the version and flags
    data[size : size + 8] = struct.pack(">II", width, height)
    return bytes(data)


def make_progressive_jpeg(path: Path | None = None, width: int = 64, height: int = 48) -> bytes:
    """A progressive (multi-scan) JPEG, as libvips writes it."""
    image = pyvips.Image.new_from_array(pixels(width, height)).copy(interpretation="srgb")
    return _write(path, bytes(image.jpegsave_buffer(Q=90, interlace=True)))


def truncate(data: bytes, fraction: float = 0.5) -> bytes:
    """The first ``fraction`` of ``data``: what an interrupted upload leaves."""
    return data[: int(len(data) * fraction)]


def with_corrupt_scan(jpeg: bytes, length: int = 300) -> bytes:
    """``jpeg`` with ``length`` bytes halfway through its first scan set to 0xFF, as an
    erased block of flash memory reads.

    libjpeg reports "Corrupt JPEG data: premature end of data segment" and fills the
    blocks it cannot decode; viewers show the photo with a grey band.
    """
    start = _scan_data_offset(jpeg)
    middle = (start + len(jpeg)) // 2
    return jpeg[:middle] + b"\xff" * length + jpeg[middle + length :]


def cut_after_scan_header(jpeg: bytes) -> bytes:
    """``jpeg`` cut right after the header of its first scan: every header, no pixels."""
    return jpeg[: _scan_data_offset(jpeg)]


def cut_before_image_data(png: bytes) -> bytes:
    """``png`` cut right before its first IDAT chunk: the header, no pixels."""
    return png[: png.index(b"IDAT") - 4]  # the chunk's length field comes first


def _scan_data_offset(jpeg: bytes) -> int:
    """Where the entropy-coded data of ``jpeg``'s first scan starts, after its SOS header."""
    sos = _segment_offset(jpeg, lambda marker: marker == 0xDA)
    length = int.from_bytes(jpeg[sos + 2 : sos + 4], "big")
    return sos + 2 + length


def make_png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width x height`` pixels (one zero row of data)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    one_row = zlib.compress(b"\x00" * (1 + 3 * width), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", one_row)
        + chunk(b"IEND", b"")
    )


def make_jpeg_bomb(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF) claims ``width x height`` pixels."""
    return with_frame_size(make_jpeg(None, 64, 48), width, height)


def with_frame_size(jpeg: bytes, width: int, height: int) -> bytes:
    """``jpeg`` with the size in its SOF segment replaced (the data stays as it was)."""
    offset = _sof_offset(jpeg)
    patched = bytearray(jpeg)
    patched[offset + 5 : offset + 9] = struct.pack(">HH", height, width)
    return bytes(patched)


def with_sof_byte(jpeg: bytes, index: int, value: int) -> bytes:
    """``jpeg`` with byte ``index`` of its SOF segment (0 = the 0xFF) set to ``value``."""
    patched = bytearray(jpeg)
    patched[_sof_offset(jpeg) + index] = value
    return bytes(patched)


def with_app1(jpeg: bytes, payload: bytes) -> bytes:
    """``jpeg`` with an APP1 segment holding ``payload`` right after its SOI marker."""
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def _sof_offset(jpeg: bytes) -> int:
    """Where the first SOFn marker of ``jpeg`` starts."""
    return _segment_offset(jpeg, lambda m: 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC))


def _segment_offset(jpeg: bytes, wanted: Callable[[int], bool]) -> int:
    """Where the first segment of ``jpeg`` whose marker is ``wanted`` starts, walking the
    segment chain (so an EXIF thumbnail's markers are never taken for the photo's)."""
    offset = 2
    while offset + 4 <= len(jpeg):
        marker = jpeg[offset + 1]
        if wanted(marker):
            return offset
        (length,) = struct.unpack(">H", jpeg[offset + 2 : offset + 4])
        offset += 2 + length
    raise ValueError("no such segment in this JPEG")


def make_large_jpeg(
    path: Path | None = None, width: int = 6000, height: int = 4000, *, seed: int = 0
) -> bytes:
    """A camera-sized JPEG (24 MP by default, about 10 MB) made by libvips, for speed checks.

    Smooth colour blobs plus a gradient plus fine sensor-like noise: it compresses about
    like a photo, unlike pure noise.
    """
    blobs = [
        pyvips.Image.gaussnoise(
            max(width // 8, 1), max(height // 8, 1), sigma=45, mean=128, seed=seed + band
        ).resize(8, kernel="linear")
        for band in range(3)
    ]
    base = blobs[0].bandjoin(blobs[1:]).crop(0, 0, width, height)
    gradient = pyvips.Image.xyz(width, height)[0] * (255 / width)
    grain = pyvips.Image.gaussnoise(width, height, sigma=4, mean=0, seed=seed + 10)
    image = (base * 0.75 + gradient * 0.25 + grain).cast("uchar").copy(interpretation="srgb")
    return _write(path, bytes(image.jpegsave_buffer(Q=90)))


def _frame(width: int, height: int, index: int, *, seed: int) -> Image.Image:
    """Frame ``index`` of an animation: the first bright, the others dark, to tell apart."""
    data = pixels(width, height, seed=seed + index)
    return Image.fromarray(data if index == 0 else data // 4)


def _save(path: Path | None, image: Image.Image, fmt: str, **options: object) -> bytes:
    """Encode ``image`` as ``fmt`` with Pillow and write it to ``path`` if given."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return _write(path, buffer.getvalue())


def _write(path: Path | None, data: bytes) -> bytes:
    """Write ``data`` to ``path`` when one is given; return ``data``."""
    if path is not None:
        path.write_bytes(data)
    return data

"""Decode an uploaded image once, tell whether it is whole, and make its WebP thumbnails.

The order matters for safety: the header is read first and a file claiming more pixels
than :attr:`DecodeLimits.max_pixels` is refused before any pixel is decoded (a
decompression bomb costs us a few kilobytes, not gigabytes). Then every pixel is decoded
once (a damaged file twice, see below), shrinking while decoding where the format allows
it (libvips ``thumbnail``, which makes JPEG decode at 1/2, 1/4 or 1/8 scale), and all
thumbnails come from that decode, largest first.

A file whose header and dimensions read but whose data is truncated or partly corrupt
is a damaged photo, kept: the first decode is strict (any decoder warning fails it), and
only a file it fails is decoded a second time, filling what does not decode (libvips
makes it grey or black). Good photos pay nothing for this. What each format allows:

- JPEG (baseline and progressive), PNG, GIF: a file cut short, or with bad entropy,
  deflate or LZW data libvips can step over, decodes as far as its data goes.
- TIFF: corrupt strip or tile data is stepped over; a cut file has usually lost its
  directory (most writers put it last), so its size is unknown and it is refused.
- WebP: libwebp parses the whole RIFF container before any pixel; a cut file does not
  open and is refused. Corrupt VP8 data decodes without a warning, so it is kept but
  cannot be told from a whole one.
- HEIC: libheif checks every data extent against the file size first, so a cut file is
  refused; corrupt HEVC data decodes without an error and cannot be told either.
- A damaged file of which almost nothing decodes (its headers alone: the decoder's
  filler but for :data:`_STRAY_SHARE` of it) is refused: there is no photo to keep.

JPEG, PNG, WebP, GIF and TIFF go through libvips. HEIC goes through pillow-heif: the
libvips in the ``pyvips-binary`` wheel reads HEIF headers but has no HEVC decoder.

Every problem with the file's content raises :class:`~photostore.errors.InvalidImage`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final

import pillow_heif
import pyvips

from photostore.errors import ImageTooLarge, InvalidImage
from photostore.media.sniff import ImageFormat

logger = logging.getLogger(__name__)

#: Neither side of an image may exceed this (the JPEG and WebP format limits).
MAX_SIDE: Final = 65535
#: WebP quality of thumbnails: small files, no visible blocking at gallery sizes.
THUMBNAIL_QUALITY: Final = 80
#: libwebp effort (0-6). Measured on 1440 px previews of camera photos: 2 makes files
#: 3-6 % larger than the default 4 in less than half the time.
THUMBNAIL_EFFORT: Final = 2

_DEFAULT_THUMBNAIL_SIZES: Final[Mapping[str, int]] = MappingProxyType(
    {"small": 256, "preview": 1440}
)
# One libvips loader per format, so a file is never handed to a loader we did not pick.
_VIPS_LOADERS: Final[Mapping[ImageFormat, str]] = MappingProxyType(
    {
        ImageFormat.JPEG: "jpegload",
        ImageFormat.PNG: "pngload",
        ImageFormat.WEBP: "webpload",
        ImageFormat.GIF: "gifload",
        ImageFormat.TIFF: "tiffload",
    }
)
# Words in decoder messages that mean the data stops early, as opposed to bad bytes.
_TRUNCATION_HINTS: Final = ("premature end of jpeg image", "truncated", "unexpected end")
# Bytes per pixel of the decodes that hold the whole image at once, measured as peak
# RSS on 12 MP files with this code. HEIC: libheif's planes, Pillow's copy, the RGB
# conversion and the bytes handed to libvips (15). Progressive JPEG: libjpeg keeps every
# DCT coefficient (2 bytes per sample) until the last scan, so shrink-on-load saves no
# memory (6.1 at 4:2:0, 9.7 at 4:4:4; the header does not say which, so the worst).
# Every other format is decoded while streaming, at the shrunk size, and is bounded by
# ``max_pixels`` alone. With the default 768 MiB: HEIC up to 50 MP (48 MP iPhones, 50 MP
# Android phones), progressive JPEG up to 80 MP.
_HEIC_BYTES_PER_PIXEL: Final = 16
_PROGRESSIVE_JPEG_BYTES_PER_PIXEL: Final = 10
# A JPEG cut right after its scan header decodes to grey but for a few stray blocks
# (0.35 % of a 300x200 image): a damaged file of which less than this share differs from
# one filler value has no picture in it.
_STRAY_SHARE: Final = 0.01
# What pillow-heif and Pillow raise on bad input (pillow-heif: ValueError "Invalid
# input", RuntimeError; Pillow: OSError, SyntaxError, EOFError on broken data).
_PILLOW_ERRORS: Final = (ValueError, RuntimeError, OSError, SyntaxError, EOFError)


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """How much image photostore agrees to decode, and which thumbnails it makes.

    ``thumbnail_sizes`` maps a thumbnail name to its longest edge in pixels.
    ``reject_damaged`` refuses files the decoder can only partly read (cut short, or a
    JPEG whose damaged entropy data decodes with grey smudges and a warning), which are
    otherwise kept and marked damaged. ``max_decode_bytes`` bounds the memory of one
    decode, estimated from the header for the decodes that must hold the whole image
    (HEIC, progressive JPEG): by default a 48 MP HEIC (iPhone) fits, a 100 MP one does not.
    """

    max_pixels: int = 100_000_000
    max_decode_bytes: int = 768 * 1024 * 1024
    thumbnail_sizes: Mapping[str, int] = field(default_factory=lambda: _DEFAULT_THUMBNAIL_SIZES)
    reject_damaged: bool = False

    def __post_init__(self) -> None:
        """Refuse limits that could never accept an image or make a thumbnail."""
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be positive, not {self.max_pixels}")
        if self.max_decode_bytes < 1:
            raise ValueError(f"max_decode_bytes must be positive, not {self.max_decode_bytes}")
        if not self.thumbnail_sizes or min(self.thumbnail_sizes.values()) < 1:
            raise ValueError("thumbnail_sizes needs at least one positive size")


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """A decoded image: its dimensions, its thumbnails, and whether its data is damaged.

    ``width`` and ``height`` are as displayed, after the EXIF ``orientation`` (1-8) is
    applied; ``raw_width`` and ``raw_height`` are as stored in the file. Thumbnails are
    WebP bytes keyed like :attr:`DecodeLimits.thumbnail_sizes`, already rotated,
    8-bit sRGB, stripped of metadata, and never larger than the image. ``damaged``
    says the decoder could only partly read the pixel data (truncated or corrupt); the
    thumbnails then show what decodes.
    """

    width: int
    height: int
    raw_width: int
    raw_height: int
    orientation: int
    thumbnails: dict[str, bytes]
    damaged: bool


def configure_vips() -> None:
    """Set libvips up for a long-running service; call once at start-up.

    The operation cache speeds up repeated work on the same image, which an upload
    service never does, while holding decoded pixels and open files of past uploads.
    Loaders libvips marks as untrusted (ImageMagick, MATLAB, FITS, ...) are blocked:
    we only ever call five well-fuzzed ones by name.
    """
    pyvips.cache_set_max(0)
    pyvips.cache_set_max_mem(0)
    pyvips.cache_set_max_files(0)
    pyvips.block_untrusted_set(True)  # noqa: FBT003 - pyvips's own positional API


def probe_image(path: Path, fmt: ImageFormat, limits: DecodeLimits) -> DecodedImage:
    """Decode the ``fmt`` image at ``path`` and return its facts and thumbnails.

    Raises :class:`InvalidImage` when the file is too large, lies about its format, has
    a header that does not read, or none of its data decodes; a file whose data is
    truncated or corrupt is kept with ``damaged`` set, unless ``limits.reject_damaged``.
    """
    if fmt is ImageFormat.HEIC:
        return _probe_heic(path, limits)
    return _probe_with_vips(path, fmt, limits)


def _probe_with_vips(path: Path, fmt: ImageFormat, limits: DecodeLimits) -> DecodedImage:
    """JPEG, PNG, WebP, GIF, TIFF: header check, then a shrink-on-load decode (two when
    the file is damaged)."""
    loader = _VIPS_LOADERS[fmt]
    try:
        # Loading is lazy: this reads the header only. Animated GIF/WebP and multi-page
        # TIFF give their first frame or page, which is also what we thumbnail.
        header = pyvips.Operation.call(loader, str(path), access="sequential")
    except pyvips.Error as exc:
        raise _invalid(path, fmt, exc, _failure_message(fmt, exc, header=True)) from exc
    raw_width, raw_height = int(header.width), int(header.height)
    _check_dimensions(raw_width, raw_height, limits)
    if fmt is ImageFormat.JPEG and _is_progressive(header):
        _check_decode_memory(raw_width, raw_height, _PROGRESSIVE_JPEG_BYTES_PER_PIXEL, limits)
    orientation = _vips_orientation(header)

    largest = max(limits.thumbnail_sizes.values())
    preview, damaged = _decode_preview(path, fmt, largest, limits)
    try:
        thumbnails = _encode_thumbnails(preview, limits.thumbnail_sizes)
    except pyvips.Error as exc:
        raise _invalid(path, fmt, exc, _failure_message(fmt, exc, header=False)) from exc
    return _decoded(raw_width, raw_height, orientation, thumbnails, damaged=damaged)


def _decode_preview(
    path: Path, fmt: ImageFormat, largest: int, limits: DecodeLimits
) -> tuple[pyvips.Image, bool]:
    """The decoded preview, and whether its data is damaged: strict first, then lenient."""
    try:
        return _vips_preview(path, fmt, largest, fail_on="warning"), False
    except pyvips.Error as strict:
        if limits.reject_damaged:
            message = _failure_message(fmt, strict, header=False)
            raise _invalid(path, fmt, strict, message) from strict
        # Only a file the strict decode fails pays for this second one.
        try:
            preview = _vips_preview(path, fmt, largest, fail_on="none")
        except pyvips.Error as exc:
            raise _invalid(path, fmt, exc, _failure_message(fmt, exc, header=False)) from exc
        if _is_flat(preview):
            raise _invalid(path, fmt, strict, _nothing_decodes(fmt)) from strict
        logger.info("kept damaged %s image %s (%s)", fmt.name, path, strict)
        return preview, True


def _vips_preview(path: Path, fmt: ImageFormat, largest: int, *, fail_on: str) -> pyvips.Image:
    """The image decoded once, shrunk to ``largest``, as 8-bit sRGB in memory.

    ``fail_on`` is libvips's: ``"warning"`` fails on any decoder warning, ``"none"``
    decodes what it can and fills the rest.
    """
    # From a source, not a filename: libvips reads "name[options]" in filenames.
    # With a source, libvips 8.18 ignores the fail_on argument of thumbnail; only
    # the loader option string passes it on (the damage tests check this).
    preview = pyvips.Image.thumbnail_source(
        pyvips.Source.new_from_file(str(path)),
        largest,
        height=largest,
        size="down",
        option_string=f"fail_on={fail_on}",
    )
    if preview.get("vips-loader") != f"{_VIPS_LOADERS[fmt]}_source":  # another format
        raise InvalidImage(f"the file's header says {fmt.label} but the data is not")
    # copy_memory() runs the decode: this is where truncation and bad data show.
    return _to_srgb8(preview).copy_memory()


def _is_flat(image: pyvips.Image) -> bool:
    """Whether ``image`` is the decoder's filler: one value in each band, give or take
    :data:`_STRAY_SHARE` of the pixels."""
    most = (1 - _STRAY_SHARE) * image.width * image.height
    return all(image.hist_find(band=band).max() >= most for band in range(image.bands))


def _probe_heic(path: Path, limits: DecodeLimits) -> DecodedImage:
    """HEIC through pillow-heif, which applies the HEIF rotation/mirror itself."""
    fmt = ImageFormat.HEIC
    with path.open("rb") as file:
        try:
            heif = pillow_heif.open_heif(file, convert_hdr_to_8bit=True)
            # Displayed size: libheif applies the irot/imir transforms itself.
            width, height = (int(side) for side in heif.size)
        # IndexError: pillow-heif's answer for a HEIF file without any image in it.
        except (*_PILLOW_ERRORS, IndexError) as exc:
            raise _invalid(path, fmt, exc, _failure_message(fmt, exc, header=True)) from exc
        _check_dimensions(width, height, limits)
        # Before to_pillow(): that is where libheif decodes, at full size.
        _check_decode_memory(width, height, _HEIC_BYTES_PER_PIXEL, limits)
        try:
            # No ImageOps.exif_transpose: libheif has applied the HEIF transforms, which
            # are the only rotation HEIF knows (MIAF: the EXIF tag is informative), and
            # pillow-heif sets the EXIF tag to 1. Transposing again could only turn a
            # photo twice, and would make Pillow parse the untrusted EXIF once more.
            picture = heif.to_pillow()
            orientation = _clamp_orientation(picture.info.get("original_orientation"))
            picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
            pixels = picture.tobytes()
        except _PILLOW_ERRORS as exc:
            raise _invalid(path, fmt, exc, _failure_message(fmt, exc, header=False)) from exc
    image = pyvips.Image.new_from_memory(
        pixels, picture.width, picture.height, len(picture.getbands()), "uchar"
    ).copy(interpretation="srgb")
    icc = picture.info.get("icc_profile")
    if isinstance(icc, bytes) and icc:  # e.g. Display P3 from iPhones
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", icc)
    try:
        largest = max(limits.thumbnail_sizes.values())
        preview = _to_srgb8(
            image.thumbnail_image(largest, height=largest, size="down", no_rotate=True)
        ).copy_memory()
        thumbnails = _encode_thumbnails(preview, limits.thumbnail_sizes)
    except pyvips.Error as exc:
        raise _invalid(path, fmt, exc, _failure_message(fmt, exc, header=False)) from exc
    raw_width, raw_height = _swap_if_turned(picture.width, picture.height, orientation)
    # libheif either reads a file whole or not at all: a HEIC is never kept as damaged.
    return _decoded(raw_width, raw_height, orientation, thumbnails, damaged=False)


def _check_dimensions(width: int, height: int, limits: DecodeLimits) -> None:
    """Refuse images over the pixel budget before their pixels are decoded."""
    if width < 1 or height < 1:
        raise InvalidImage(f"the image header gives an empty size ({width}x{height})")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > limits.max_pixels:
        raise ImageTooLarge(
            f"the image is {width}x{height} = {width * height:,} pixels; photostore accepts "
            f"at most {limits.max_pixels:,} pixels and {MAX_SIDE} pixels per side"
        )


def _check_decode_memory(
    width: int, height: int, bytes_per_pixel: int, limits: DecodeLimits
) -> None:
    """Refuse a full-frame decode whose memory, estimated from the header, is over budget."""
    needed = width * height * bytes_per_pixel
    if needed > limits.max_decode_bytes:
        most = limits.max_decode_bytes // bytes_per_pixel
        raise ImageTooLarge(
            f"the image is {width}x{height} = {width * height:,} pixels; decoding this kind "
            f"of file needs about {needed // 2**20:,} MiB, and photostore decodes at most "
            f"{most:,} pixels of it (save it at a smaller size, or as a baseline JPEG)"
        )


def _is_progressive(header: pyvips.Image) -> bool:
    """Whether libvips found a progressive (multi-scan) JPEG: its ``interlaced`` field."""
    return header.get_typeof("interlaced") != 0 and bool(header.get("interlaced"))


def _encode_thumbnails(preview: pyvips.Image, sizes: Mapping[str, int]) -> dict[str, bytes]:
    """WebP thumbnails for every size, each shrunk from the decoded ``preview``."""
    thumbnails: dict[str, bytes] = {}
    for name, size in sizes.items():
        thumb = preview
        if max(preview.width, preview.height) > size:
            thumb = preview.thumbnail_image(size, height=size, size="down", no_rotate=True)
        # keep="none" drops EXIF (GPS!) and the orientation tag, which would make
        # viewers rotate the already-rotated pixels a second time.
        thumbnails[name] = bytes(
            thumb.webpsave_buffer(Q=THUMBNAIL_QUALITY, effort=THUMBNAIL_EFFORT, keep="none")
        )
    return thumbnails


def _to_srgb8(image: pyvips.Image) -> pyvips.Image:
    """The image as 8-bit sRGB (with its alpha band, if any), as WebP needs."""
    if image.interpretation != "srgb" or image.format != "uchar":
        image = image.colourspace("srgb")  # 16-bit, grey, CMYK, Lab, ...
    if image.format != "uchar":
        image = image.cast("uchar")
    return image


def _vips_orientation(header: pyvips.Image) -> int:
    """The EXIF orientation libvips found in the header (and will apply), else 1."""
    if header.get_typeof("orientation") == 0:
        return 1
    return _clamp_orientation(header.get("orientation"))


def _clamp_orientation(value: object) -> int:
    """``value`` if it is a valid EXIF orientation (1-8), else 1."""
    if isinstance(value, int) and 1 <= value <= 8:
        return value
    return 1


def _swap_if_turned(width: int, height: int, orientation: int) -> tuple[int, int]:
    """Swap the sides for orientations 5-8, which turn the image by 90 degrees."""
    return (height, width) if orientation >= 5 else (width, height)


def _decoded(
    raw_width: int,
    raw_height: int,
    orientation: int,
    thumbnails: dict[str, bytes],
    *,
    damaged: bool,
) -> DecodedImage:
    """Assemble a :class:`DecodedImage` from the stored size and orientation."""
    width, height = _swap_if_turned(raw_width, raw_height, orientation)
    return DecodedImage(width, height, raw_width, raw_height, orientation, thumbnails, damaged)


def _failure_message(fmt: ImageFormat, exc: Exception, *, header: bool) -> str:
    """Say what is wrong: the header lies, the data stops early, or the data is bad."""
    name = fmt.label
    if header:  # the decoder cannot tell a lying header from a file cut short here
        return (
            f"the file's header says {name} but the data is not valid {name} (corrupt or truncated)"
        )
    if any(hint in str(exc).lower() for hint in _TRUNCATION_HINTS):
        return f"the {name} image is truncated: the file ends before the image does"
    return f"the {name} image data is corrupt or truncated"


def _nothing_decodes(fmt: ImageFormat) -> str:
    """Say that a damaged file holds no picture: its header, and data that decodes to filler."""
    return (
        f"the {fmt.label} file's header reads, but almost none of its image data decodes "
        "(cut short or corrupt right after the header): there is no picture to keep"
    )


def _invalid(path: Path, fmt: ImageFormat, exc: Exception, message: str) -> InvalidImage:
    """An :class:`InvalidImage` with ``message``; the decoder's own words go to the log.

    libvips keeps one error buffer per process, so its text may mix in messages of
    other threads' images; it is logged for operators, never shown to the uploader.
    """
    logger.info("rejected %s image %s: %s (%s)", fmt.name, path, message, exc)
    return InvalidImage(message)

"""EXIF metadata of an image file: every readable tag, plus the facts photostore files by.

Parsing is done by the ``exifread`` library, never by hand. The tags come back keyed as
exifread names them (``"EXIF DateTimeOriginal"``) with exifread's printable text as the
value, ready for a jsonb column. From them we derive orientation, camera, capture time
and GPS position. Metadata is best effort: a malformed tag is dropped, a file whose EXIF
cannot be read at all gives empty metadata, and nothing here raises because of what is
inside the file.

The work is bounded (``media.budget``): exifread reads through a wrapper that stops it
after a fixed number of reads and bytes. A file that needs more (a MakerNote declaring
billions of values) is read again without MakerNotes, and if that is still too much its
metadata is dropped: the photo is kept either way.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO, Final, Literal, TypeAlias, cast

import exifread
import pyvips

from photostore.media.budget import BoundedReader, ParseBudgetExceeded
from photostore.media.sniff import SNIFF_BYTES, ImageFormat, sniff_format

logger = logging.getLogger(__name__)

TakenAtSource: TypeAlias = Literal["exif_original", "exif_digitized", "exif_datetime"]

#: Tag values longer than this are dropped: they are blobs, not facts worth a jsonb key.
MAX_VALUE_CHARS: Final = 4096

# Thumbnails are binary; the raw MakerNote is a vendor blob (exifread decodes what it
# understands of it into "MakerNote ..." tags, which we keep).
_SKIPPED_KEYS: Final = frozenset({"JPEGThumbnail", "TIFFThumbnail", "EXIF MakerNote"})

# PostgreSQL text and jsonb cannot store NUL (\u0000), nor lone UTF-16 surrogates, which
# exifread can produce when it decodes broken strings.
_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")

# exifread reads JPEG and TIFF files itself. Its readers of other containers fail on
# valid files (exifread 3.5: WebP from libwebp, HEIC from libheif), so for those
# libvips, reading the header only, unpacks the EXIF block and exifread parses that.
_CONTAINER_LOADERS: Final[Mapping[ImageFormat, str]] = MappingProxyType(
    {ImageFormat.PNG: "pngload", ImageFormat.WEBP: "webpload", ImageFormat.HEIC: "heifload"}
)

# (date tag, sub-second tag, offset tag, source name), most trusted first.
_DATE_SOURCES: Final[tuple[tuple[str, str, str, TakenAtSource], ...]] = (
    (
        "EXIF DateTimeOriginal",
        "EXIF SubSecTimeOriginal",
        "EXIF OffsetTimeOriginal",
        "exif_original",
    ),
    (
        "EXIF DateTimeDigitized",
        "EXIF SubSecTimeDigitized",
        "EXIF OffsetTimeDigitized",
        "exif_digitized",
    ),
    ("Image DateTime", "EXIF SubSecTime", "EXIF OffsetTime", "exif_datetime"),
)
# EXIF says "YYYY:MM:DD HH:MM:SS"; some writers use dashes or a "T". Trailing text is
# ignored.
_EXIF_DATETIME: Final = re.compile(r"(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET: Final = re.compile(r"([+-])(\d{2}):(\d{2})")
_MAX_OFFSET_MINUTES: Final = 18 * 60  # the widest offset ISO 8601 tools accept

#: Capture times photostore stores, as instants: from the first photographs (1826) with
#: a margin, to far enough ahead for a camera whose clock is wrong by decades. Outside
#: it a date is a broken clock or a hostile file, and beyond year 9999 in UTC (9999-12-31
#: at -14:00) it could not even be read back. EXIF dates outside are treated as missing.
EARLIEST_TAKEN_AT: Final = datetime(1800, 1, 1, tzinfo=UTC)
LATEST_TAKEN_AT: Final = datetime(2200, 1, 1, tzinfo=UTC)


def plausible_taken_at(moment: datetime) -> bool:
    """Whether the aware ``moment`` lies in [EARLIEST_TAKEN_AT, LATEST_TAKEN_AT)."""
    return EARLIEST_TAKEN_AT <= moment < LATEST_TAKEN_AT


@dataclass(frozen=True, slots=True)
class GpsPosition:
    """Where a photo was taken: decimal degrees (north and east positive), metres."""

    latitude: float
    longitude: float
    altitude: float | None = None


@dataclass(frozen=True, slots=True)
class ImageMetadata:
    """What the EXIF block of one image says; empty when it says nothing readable."""

    exif: dict[str, str] = field(default_factory=dict)
    orientation: int = 1
    camera_make: str | None = None
    camera_model: str | None = None
    taken_at: datetime | None = None
    taken_at_source: TakenAtSource | None = None
    taken_at_offset_minutes: int | None = None
    gps: GpsPosition | None = None


def read_metadata(path: Path) -> ImageMetadata:
    """Return the EXIF metadata of the image at ``path``.

    Never raises because of the file's content; only failing to open ``path`` raises.
    """
    with path.open("rb") as file:
        fmt = sniff_format(file.read(SNIFF_BYTES))
        file.seek(0)
        if fmt is None or fmt is ImageFormat.GIF:  # GIF has no EXIF block
            return ImageMetadata()
        try:
            if fmt in _CONTAINER_LOADERS:
                tags = _tags_of_block(_exif_block(path, _CONTAINER_LOADERS[fmt]), path)
            else:
                tags = _bounded_tags(file, path)
        except ParseBudgetExceeded as exc:
            logger.warning("EXIF of %s is over its parse budget (%s); ignoring it", path, exc)
            return ImageMetadata()
        # exifread and libvips are third-party code parsing untrusted bytes: a hostile
        # file can make them fail with any exception type (IndexError, struct.error,
        # AssertionError, RecursionError, MemoryError, pyvips.Error, ...). Metadata is
        # optional, so any failure there means "no metadata", logged, and the upload
        # goes on.
        except Exception:
            logger.warning("unreadable EXIF in %s; ignoring it", path, exc_info=True)
            return ImageMetadata()
    return _metadata_from_tags(tags)


def _bounded_tags(file: BinaryIO, path: Path) -> dict[str, Any]:
    """Every tag exifread finds in ``file`` (a JPEG, a TIFF or a bare EXIF block) within
    the parse budget; without MakerNotes when they alone are over it.

    Raises :class:`ParseBudgetExceeded` when even the standard tags are over budget.
    """
    try:
        return _exif_tags(BoundedReader(file), details=True)
    except ParseBudgetExceeded as exc:
        # Vendor MakerNotes are where hostile counts hide (exifread walks them value by
        # value); the date, camera and GPS tags are in the standard IFDs, which it reads
        # for a bounded cost.
        logger.warning("EXIF MakerNote of %s is over its parse budget (%s); skipping it", path, exc)
    return _exif_tags(BoundedReader(file), details=False)


def _exif_tags(file: BoundedReader, *, details: bool) -> dict[str, Any]:
    """Every tag exifread finds in ``file``; MakerNotes and sub-IFDs only with ``details``."""
    # details=True decodes MakerNotes into "MakerNote ..." tags; truncate_tags keeps
    # long arrays short in their printable text. These match exifread's command line.
    # exifread asks for a BinaryIO but calls only read, seek and tell, all bounded here.
    return exifread.process_file(
        cast("BinaryIO", file), details=details, truncate_tags=True, extract_thumbnail=False
    )


def _exif_block(path: Path, loader: str) -> bytes:
    """The raw EXIF block of a PNG, WebP or HEIC, as libvips finds it in the header."""
    header = pyvips.Operation.call(loader, str(path), access="sequential")
    if header.get_typeof("exif-data") == 0:
        return b""
    return bytes(header.get("exif-data"))


def _tags_of_block(block: bytes, path: Path) -> dict[str, Any]:
    """The tags of an EXIF block, with or without its ``Exif\\0\\0`` prefix."""
    tiff = block.removeprefix(b"Exif\x00\x00")
    return _bounded_tags(io.BytesIO(tiff), path) if tiff else {}


def _metadata_from_tags(tags: dict[str, Any]) -> ImageMetadata:
    """Build :class:`ImageMetadata` from the tag dictionary exifread returns."""
    exif = _printable_tags(tags)
    taken_at, source, offset = _taken_at(exif)
    return ImageMetadata(
        exif=exif,
        orientation=_orientation(tags.get("Image Orientation")),
        camera_make=exif.get("Image Make") or None,
        camera_model=exif.get("Image Model") or None,
        taken_at=taken_at,
        taken_at_source=source,
        taken_at_offset_minutes=offset,
        gps=_gps_position(tags),
    )


def _printable_tags(tags: dict[str, Any]) -> dict[str, str]:
    """Return ``{exifread name: stripped printable text}`` for every storable tag."""
    exif: dict[str, str] = {}
    for key, tag in tags.items():
        if key in _SKIPPED_KEYS:
            continue
        # Thumbnail blobs are bytes, tags are IfdTag objects with a ``printable`` str.
        printable = getattr(tag, "printable", None)
        if not isinstance(printable, str):
            continue
        value = _UNSTORABLE.sub("", printable).strip()
        if len(value) <= MAX_VALUE_CHARS:
            exif[_UNSTORABLE.sub("", key)] = value
    return exif


def _orientation(tag: object) -> int:
    """The EXIF orientation (1-8), 1 when the tag is missing or out of range."""
    values = getattr(tag, "values", None)
    if isinstance(values, list) and values:
        first = values[0]
        if isinstance(first, int) and 1 <= first <= 8:
            return first
    return 1


def _taken_at(
    exif: dict[str, str],
) -> tuple[datetime | None, TakenAtSource | None, int | None]:
    """The capture time from the first valid date tag, with its source and offset."""
    for date_key, subsec_key, offset_key, source in _DATE_SOURCES:
        wall_time = _parse_wall_time(exif.get(date_key, ""))
        if wall_time is None:
            continue
        wall_time += timedelta(microseconds=_parse_subsec(exif.get(subsec_key, "")))
        offset = _parse_offset_minutes(exif.get(offset_key, ""))
        # Without an offset the local time zone is unknown; we file the wall time as
        # UTC so that dates sort and display as the camera showed them.
        tz = UTC if offset is None else timezone(timedelta(minutes=offset))
        taken_at = wall_time.replace(tzinfo=tz)
        if not plausible_taken_at(taken_at):
            logger.info("EXIF %s %s is out of range; treating it as missing", date_key, taken_at)
            continue
        return taken_at, source, offset
    return None, None, None


def _parse_wall_time(text: str) -> datetime | None:
    """``"2008:05:30 15:56:01"`` as a naive datetime; None for blanks and garbage."""
    match = _EXIF_DATETIME.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        # The zone is attached by the caller, from the offset tag.
        return datetime(year, month, day, hour, minute, second)  # noqa: DTZ001
    except ValueError:  # "0000:00:00 00:00:00", month 13, ...
        return None


def _parse_subsec(text: str) -> int:
    """EXIF sub-second digits (``"05"`` = 0.05 s) as microseconds; 0 if unusable."""
    if not text.isascii() or not text.isdigit():
        return 0
    return int(text[:6].ljust(6, "0"))


def _parse_offset_minutes(text: str) -> int | None:
    """``"+02:00"`` as 120 minutes; None when absent or not a sane offset."""
    match = _EXIF_OFFSET.fullmatch(text)
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    if int(minutes) >= 60:
        return None
    total = int(hours) * 60 + int(minutes)
    if total > _MAX_OFFSET_MINUTES:
        return None
    return -total if sign == "-" else total


def _gps_position(tags: dict[str, Any]) -> GpsPosition | None:
    """The GPS position in decimal degrees, or None when missing or not plausible."""
    latitude = _signed_degrees(
        tags.get("GPS GPSLatitude"), tags.get("GPS GPSLatitudeRef"), "N", "S"
    )
    longitude = _signed_degrees(
        tags.get("GPS GPSLongitude"), tags.get("GPS GPSLongitudeRef"), "E", "W"
    )
    if latitude is None or longitude is None:
        return None
    if abs(latitude) > 90 or abs(longitude) > 180:
        return None
    # Receivers without a fix write 0/0: "null island" is no position at all.
    if latitude == 0 and longitude == 0:
        return None
    return GpsPosition(latitude, longitude, _altitude(tags))


def _signed_degrees(
    value_tag: object, ref_tag: object, positive: str, negative: str
) -> float | None:
    """Degrees, minutes, seconds (any leading part of them) as signed degrees."""
    values = getattr(value_tag, "values", None)
    if not isinstance(values, list) or not 1 <= len(values) <= 3:
        return None
    parts: list[float] = []
    for value in values:
        part = _as_float(value)
        if part is None or part < 0:
            return None
        parts.append(part)
    degrees = sum(part / 60.0**position for position, part in enumerate(parts))
    ref = _ref_letter(ref_tag)
    if ref in {"", positive}:  # a missing ref is read as north / east, as ExifTool does
        return degrees
    if ref == negative:
        return -degrees
    return None


def _altitude(tags: dict[str, Any]) -> float | None:
    """Metres above sea level (negative below), None when absent or malformed."""
    values = getattr(tags.get("GPS GPSAltitude"), "values", None)
    if not isinstance(values, list) or len(values) != 1:
        return None
    altitude = _as_float(values[0])
    if altitude is None:
        return None
    ref_values = getattr(tags.get("GPS GPSAltitudeRef"), "values", None)
    below_sea_level = isinstance(ref_values, list) and ref_values[:1] == [1]
    return -altitude if below_sea_level else altitude


def _ref_letter(tag: object) -> str:
    """The text of a GPS reference tag ("N", "S", "E", "W"), upper-cased and stripped."""
    printable = getattr(tag, "printable", "")
    if not isinstance(printable, str):
        return ""
    return printable.replace("\x00", "").strip().upper()


def _as_float(value: object) -> float | None:
    """An EXIF rational or integer as a float; None for x/0 and other types."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value)
    if isinstance(value, Fraction):
        # exifread's Ratio keeps x/0 instead of raising, so check before dividing.
        numerator, denominator = int(value.numerator), int(value.denominator)
        return None if denominator == 0 else numerator / denominator
    return None

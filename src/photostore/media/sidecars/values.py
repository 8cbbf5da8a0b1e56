"""The values every sidecar kind reads the same way: text, a place, a capture time.

A sidecar's document is refused whole (``InvalidInput``) only when it cannot be read as
its kind at all; a single value in it that makes no sense (a date that is no date, a
latitude of 95) says nothing, as an unreadable EXIF tag does in ``media.exif``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from photostore.errors import InvalidInput
from photostore.media.exif import plausible_taken_at
from photostore.text_rules import MAX_TAGS_PER_REQUEST, clean_tag_names

#: The largest sidecar read, from a folder or an upload. Lightroom keeps its masks in the
#: XMP of a photo, which makes a heavily edited photo's sidecar reach a few MiB.
MAX_SIDECAR_BYTES: Final = 4 * 1024 * 1024

_MAX_OFFSET_MINUTES: Final = 18 * 60
# XMP dates (ISO 8601 as the XMP specification cuts it: a year, a month, a day, then a
# time to the minute, second or fraction, then a zone); EXIF-style colons in the date
# as some writers put them.
_XMP_DATE: Final = re.compile(
    r"(?P<year>\d{4})(?:[-:](?P<month>\d{2})(?:[-:](?P<day>\d{2})"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?)?)?)?"
)


def clean_text(value: object, what: str) -> str | None:
    """A sidecar's text stripped; None when it is not text or is blank.

    A NUL character refuses the document: no writer puts one there, and PostgreSQL
    could not store it.
    """
    if not isinstance(value, str):
        return None
    if "\x00" in value:
        raise InvalidInput(f"the sidecar's {what} holds a NUL character")
    text = value.strip()
    return text or None


def usable_tags(names: Iterable[str]) -> tuple[str, ...]:
    """The names a tag can hold, de-duplicated ignoring case, at most
    ``MAX_TAGS_PER_REQUEST``.

    A keyword no tag can hold (a comma in it, over ``MAX_TAG_LENGTH``) is left out
    rather than refusing the photo: the rest of what its sidecar says still counts.
    """
    usable: dict[str, str] = {}
    for name in names:
        try:
            cleaned = clean_tag_names([name])
        except InvalidInput:
            continue
        for tag in cleaned:
            usable.setdefault(tag.lower(), tag)
    return tuple(usable.values())[:MAX_TAGS_PER_REQUEST]


def plausible_place(latitude: float | None, longitude: float | None) -> tuple[float, float] | None:
    """The position when both are finite, in range and not 0/0 (a receiver without a fix)."""
    if latitude is None or longitude is None:
        return None
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    if abs(latitude) > 90 or abs(longitude) > 180 or (latitude == 0 and longitude == 0):
        return None
    return latitude, longitude


def finite(value: float | None) -> float | None:
    """The value when it is a finite number, else None."""
    return value if value is not None and math.isfinite(value) else None


def as_number(value: object) -> float | None:
    """A JSON or YAML number (not a boolean) or a numeric string, as a finite float."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return finite(float(value))
    if isinstance(value, str):
        try:
            return finite(float(value.strip()))
        except ValueError:
            return None
    return None


def parse_xmp_date(text: str) -> tuple[datetime, int | None] | None:
    """An XMP date as an aware instant and its zone offset in minutes.

    A date without a zone is the wall time the camera showed, filed as UTC with no offset,
    as ``media.exif`` files an EXIF date without ``OffsetTimeOriginal``; a date without a
    time (``photoshop:DateCreated="1975"`` on a scan) is the start of that year, month or
    day. None when it is no date, or not a plausible one.
    """
    match = _XMP_DATE.fullmatch(text.strip())
    if match is None:
        return None
    parts = match.groupdict()
    offset = _offset_minutes(parts["zone"])
    if parts["zone"] is not None and offset is None:
        return None
    zone = UTC if offset is None else timezone(timedelta(minutes=offset))
    fraction = (parts["fraction"] or "")[:6].ljust(6, "0")
    try:
        moment = datetime(
            int(parts["year"]),
            int(parts["month"] or 1),
            int(parts["day"] or 1),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int(fraction),
            tzinfo=zone,
        )
    except ValueError:
        return None
    return (moment, offset) if plausible_taken_at(moment) else None


def plausible_instant(moment: datetime) -> datetime | None:
    """An aware moment inside the range photostore stores, else None."""
    return moment if moment.tzinfo is not None and plausible_taken_at(moment) else None


def _offset_minutes(zone: str | None) -> int | None:
    if zone is None:
        return None
    if zone == "Z":
        return 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:])
    return sign * minutes if minutes <= _MAX_OFFSET_MINUTES else None

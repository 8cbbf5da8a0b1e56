"""What an upload says of its photo besides the file: the form's fields and a sidecar.

An upload may send, beside ``file``, the fields ``title``, ``description``, ``tags``,
``taken_at`` (ISO 8601 with an offset), ``latitude``, ``longitude``, ``altitude`` and
``favorite``, and one sidecar document (an XMP packet or a Google Takeout JSON document)
as a ``sidecar`` or ``xmp`` part. All of them win over the file's EXIF; a field sent
explicitly wins over the sidecar's value. A field whose value cannot be read refuses the
upload, naming the field; so does a sidecar that is no document of its kind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final

from photostore.domain.sidecars import SidecarFields
from photostore.errors import InvalidInput
from photostore.media.sidecars import MAX_SIDECAR_BYTES, parse_sidecar

#: The part names a sidecar document may be sent as (one of them, once).
SIDECAR_PARTS: Final = ("sidecar", "xmp")
#: The largest sidecar part; beyond it the upload is refused (413).
MAX_SIDECAR_PART_BYTES: Final = MAX_SIDECAR_BYTES
#: The text fields of an upload form.
UPLOAD_TEXT_FIELDS: Final = frozenset(
    {"title", "description", "tags", "taken_at", "latitude", "longitude", "altitude", "favorite"}
)

_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})


def upload_sidecar_fields(
    fields: Mapping[str, Sequence[str]], document: bytes | None
) -> SidecarFields:
    """The sidecar fields of an upload: its form fields over its sidecar document's.

    A field sent more than once counts with its last value; ``tags`` with every value,
    each split at commas.
    """
    latitude = _number(fields, "latitude")
    longitude = _number(fields, "longitude")
    altitude = _number(fields, "altitude")
    if altitude is not None and latitude is None:
        raise InvalidInput("altitude comes with latitude and longitude")
    taken_at = _moment(fields)
    sent = SidecarFields(
        title=_last(fields, "title"),
        description=_last(fields, "description"),
        taken_at=taken_at,
        taken_at_offset_minutes=_offset_minutes(taken_at),
        latitude=latitude,
        longitude=longitude,
        altitude=altitude,
        favorite=_flag(fields, "favorite"),
        tags=tuple(tag for value in fields.get("tags", []) for tag in value.split(",")),
    )
    if document is None:
        return sent
    try:
        from_document = parse_sidecar(document)
    except InvalidInput as exc:
        raise InvalidInput(f"sidecar: {exc.detail}") from exc
    return sent.over(from_document)


def _last(fields: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[-1] if values else None


def _number(fields: Mapping[str, Sequence[str]], name: str) -> float | None:
    text = _last(fields, name)
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidInput(f"{name} must be a number")
    return value


def _moment(fields: Mapping[str, Sequence[str]]) -> datetime | None:
    text = _last(fields, "taken_at")
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput(
            "taken_at must be an ISO 8601 date-time with an offset, e.g. 2024-05-06T07:08:09+02:00"
        ) from exc
    if moment.tzinfo is None:
        raise InvalidInput("taken_at must be a date-time with a time zone offset")
    return moment


def _offset_minutes(moment: datetime | None) -> int | None:
    offset = moment.utcoffset() if moment is not None else None
    if offset is None:
        return None
    if offset.total_seconds() % 60:
        raise InvalidInput("taken_at's offset must be whole minutes")
    return int(offset.total_seconds() // 60)


def _flag(fields: Mapping[str, Sequence[str]], name: str) -> bool | None:
    text = _last(fields, name)
    if text is None:
        return None
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise InvalidInput(f"{name} must be true or false")

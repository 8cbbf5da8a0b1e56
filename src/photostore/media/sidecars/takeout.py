"""Google Takeout's JSON documents (``IMG_1.jpg.json``,
``IMG_1.jpg.supplemental-metadata.json``) and the names Takeout gives them.

What a document gives:

    description    ``description`` (Takeout writes "" when there is none)
    taken_at       ``photoTakenTime.timestamp``: seconds since 1970, an instant in UTC;
                   Takeout does not say the zone, so no offset
    place          ``geoData`` (the place Google Photos showed, the user's edits
                   included), else ``geoDataExif``; 0/0 is no place
    favorite       ``favorited``: true, or nothing

``title`` is not read as a title: Takeout puts the photo's file name there, as it was
when uploaded to Google Photos (immich-go reads it the same way, as a file name).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from photostore.domain.sidecars import SidecarFields
from photostore.errors import InvalidInput
from photostore.media.sidecars.values import (
    MAX_SIDECAR_BYTES,
    as_number,
    clean_text,
    plausible_instant,
    plausible_place,
)

#: Takeout cuts a JSON document's name, before its "(1)" and ".json", to this many
#: characters (a media file's name it cuts to one more, before the extension).
TAKEOUT_NAME_STEM: Final = 46
_SUPPLEMENTAL: Final = ".supplemental-metadata"
# The suffix of an edited copy, in the languages Takeout is known to write it in; the
# edited copy has no document of its own and takes its original's.
EDITED_SUFFIXES: Final = (
    "-edited",
    "-bearbeitet",
    "-modifié",
    "-modificato",
    "-editado",
    "-bewerkt",
)


def parse_takeout_json(data: bytes) -> SidecarFields:
    """The fields a Takeout document sets; ``InvalidInput`` when it is no JSON object or
    is over ``MAX_SIDECAR_BYTES``."""
    if len(data) > MAX_SIDECAR_BYTES:
        raise InvalidInput(f"a Takeout sidecar must be at most {MAX_SIDECAR_BYTES} bytes")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        # ValueError covers bad UTF-8, bad JSON and integers over Python's digit limit.
        raise InvalidInput("the Takeout sidecar is not a JSON document") from exc
    if not isinstance(document, dict):
        raise InvalidInput("the Takeout sidecar is not a JSON object")
    place = _place(document.get("geoData")) or _place(document.get("geoDataExif"))
    return SidecarFields(
        description=clean_text(document.get("description"), "description"),
        taken_at=_taken_at(document.get("photoTakenTime")),
        latitude=place[0] if place else None,
        longitude=place[1] if place else None,
        altitude=place[2] if place else None,
        favorite=True if document.get("favorited") is True else None,
    )


def takeout_names(photo_name: str) -> list[str]:
    """The names the Takeout document of ``photo_name`` may have, most likely first.

    ``IMG_1(1).jpg`` has ``IMG_1.jpg(1).json``; every name is cut to
    ``TAKEOUT_NAME_STEM`` characters before its number and ``.json``, which cuts
    ``.supplemental-metadata`` short as well (``.supplemental-metad``, ``.suppl``); an
    edited copy (``IMG_1-edited.jpg``) takes its original's document.
    """
    base, number = _split_number(photo_name)
    # A name whose "(2)" was there before Takeout (``Copy (2).jpg``) keeps its own.
    forms = [(base, number), (photo_name, "")] if number else [(base, "")]
    middles = [
        "",
        _SUPPLEMENTAL,
        *(_SUPPLEMENTAL[:n] for n in range(len(_SUPPLEMENTAL) - 1, 1, -1)),
    ]
    names: list[str] = []
    for name, suffix in forms:
        for original in (name, *_unedited(name)):
            for middle in middles:
                candidate = f"{(original + middle)[:TAKEOUT_NAME_STEM]}{suffix}.json"
                if candidate not in names:
                    names.append(candidate)
    return names


def _unedited(name: str) -> list[str]:
    """The original's name of an edited copy (``IMG_1-edited.jpg``), if it is one."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    for suffix in EDITED_SUFFIXES:
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return [stem[: -len(suffix)] + dot + extension]
    return []


def takeout_candidates(photo: Path) -> list[Path]:
    """The paths beside ``photo`` its Takeout document may have."""
    return [photo.with_name(name) for name in takeout_names(photo.name)]


def _split_number(name: str) -> tuple[str, str]:
    """``"IMG_1(2).jpg"`` as ``("IMG_1.jpg", "(2)")``; a name without one as it is."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    if stem.endswith(")") and "(" in stem:
        opening = stem.rindex("(")
        digits = stem[opening + 1 : -1]
        if digits.isdecimal() and digits.isascii():
            return stem[:opening] + dot + extension, f"({digits})"
    return name, ""


def _taken_at(value: Any) -> datetime | None:
    if not isinstance(value, dict):
        return None
    seconds = as_number(value.get("timestamp"))
    # Takeout writes "0" for photos it has no time for.
    if seconds is None or seconds == 0:
        return None
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return plausible_instant(moment)


def _place(value: Any) -> tuple[float, float, float | None] | None:
    if not isinstance(value, dict):
        return None
    place = plausible_place(as_number(value.get("latitude")), as_number(value.get("longitude")))
    if place is None:
        return None
    return place[0], place[1], as_number(value.get("altitude"))

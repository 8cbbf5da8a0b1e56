"""PhotoPrism's YAML sidecars: ``storage/sidecar/<path>/<name>.yml`` for
``originals/<path>/<name>.<ext>`` (PhotoPrism names a photo without its extension).

PhotoPrism records where each value came from (``TitleSrc``, ``TakenSrc``,
``PlaceSrc``, ...). Its own guesses (a title made from labels, a time estimated from the
file, a place estimated from other photos: an empty source, ``auto``, ``default``,
``estimate`` or ``name``) are not taken over a photo's EXIF; what came from the file's
metadata, an XMP file, or a person (``meta``, ``xmp``, ``manual``, ``admin``, ``yaml``)
is. What a document gives:

    title, description   Title, Description
    taken_at             TakenAt (UTC), with TakenAtLocal - TakenAt as the offset
    place                Lat, Lng, Altitude
    favorite             Favorite: true
    tags                 Details.Keywords (comma-separated) the user typed (manual)
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import yaml

from photostore.domain.sidecars import SidecarFields
from photostore.errors import InvalidInput
from photostore.media.sidecars.values import (
    MAX_SIDECAR_BYTES,
    as_number,
    clean_text,
    plausible_instant,
    plausible_place,
    usable_tags,
)

_GUESSED: Final = frozenset({"", "auto", "default", "estimate", "name"})
_MAX_OFFSET_MINUTES: Final = 18 * 60


def parse_photoprism_yaml(data: bytes) -> SidecarFields:
    """The fields a PhotoPrism sidecar sets; ``InvalidInput`` when it is not a YAML
    mapping or is over ``MAX_SIDECAR_BYTES``."""
    if len(data) > MAX_SIDECAR_BYTES:
        raise InvalidInput(f"a PhotoPrism sidecar must be at most {MAX_SIDECAR_BYTES} bytes")
    try:
        # The safe loader builds plain values only; an alias repeats an object, it does
        # not copy it, so a "billion laughs" of anchors costs no memory here.
        document = yaml.safe_load(data)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise InvalidInput("the PhotoPrism sidecar is not a YAML document") from exc
    if not isinstance(document, dict):
        raise InvalidInput("the PhotoPrism sidecar is not a YAML mapping")
    place = (
        plausible_place(as_number(document.get("Lat")), as_number(document.get("Lng")))
        if _stated(document, "PlaceSrc")
        else None
    )
    taken_at, offset = _taken_at(document) if _stated(document, "TakenSrc") else (None, None)
    details = document.get("Details")
    keywords = details.get("Keywords") if isinstance(details, dict) else None
    manual_keywords = isinstance(details, dict) and details.get("KeywordsSrc") == "manual"
    return SidecarFields(
        title=clean_text(document.get("Title"), "title") if _stated(document, "TitleSrc") else None,
        description=(
            clean_text(document.get("Description"), "description")
            if _stated(document, "DescriptionSrc")
            else None
        ),
        taken_at=taken_at,
        taken_at_offset_minutes=offset,
        latitude=place[0] if place else None,
        longitude=place[1] if place else None,
        altitude=as_number(document.get("Altitude")) if place else None,
        favorite=True if document.get("Favorite") is True else None,
        tags=(
            usable_tags(keywords.split(","))
            if manual_keywords and isinstance(keywords, str)
            else ()
        ),
    )


def photoprism_sidecar(photo: Path, root: Path) -> tuple[Path, Path] | None:
    """Where PhotoPrism keeps the YAML sidecar of ``photo`` of the library ``root``, and
    the sidecar folder it lies in; None where the photo is not one of PhotoPrism's.

    ``root`` is either PhotoPrism's folder (holding ``originals/`` and ``storage/``) or
    its ``originals/`` folder itself.
    """
    layouts = [(root / "originals", root / "storage" / "sidecar")]
    if root.name == "originals":
        layouts.append((root, root.parent / "storage" / "sidecar"))
    for originals, sidecars in layouts:
        try:
            relative = photo.relative_to(originals)
        except ValueError:
            continue
        return sidecars / relative.with_suffix(".yml"), sidecars
    return None


def _stated(document: dict[Any, Any], source_key: str) -> bool:
    """Whether the value's recorded source is the file, an XMP file or a person."""
    source = document.get(source_key, "")
    return isinstance(source, str) and source.strip().lower() not in _GUESSED


def _taken_at(document: dict[Any, Any]) -> tuple[datetime | None, int | None]:
    taken = _moment(document.get("TakenAt"))
    if taken is None:
        return None, None
    # PhotoPrism writes the local wall time as if it were UTC beside the UTC instant.
    local = _moment(document.get("TakenAtLocal"))
    offset = None
    if local is not None:
        minutes = round((local - taken).total_seconds() / 60)
        offset = minutes if abs(minutes) <= _MAX_OFFSET_MINUTES else None
    return taken, offset


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return plausible_instant(moment)

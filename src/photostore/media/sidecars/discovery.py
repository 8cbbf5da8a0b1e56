"""The sidecars of a photo in a library folder: Takeout's JSON, XMP, PhotoPrism's YAML.

Where each kind is looked for, for ``<root>/<path>/IMG_1.jpg``:

    XMP         IMG_1.jpg.xmp, else IMG_1.xmp (darktable and Immich write the first,
                Lightroom the second; Immich reads both, in that order)
    Takeout     IMG_1.jpg.json and the other names Takeout gives (``takeout_names``)
    PhotoPrism  <root>/storage/sidecar/<path>/IMG_1.yml when the photo lies under
                <root>/originals, or when <root> is PhotoPrism's originals folder

Of each kind the first file found is the sidecar. When several kinds are found, the
later word wins field by field: PhotoPrism's YAML over XMP over Takeout's JSON.

A sidecar that cannot be read, is over ``MAX_SIDECAR_BYTES``, is no document of its
kind, holds values a photo cannot (``check_sidecar``), or is a link to a file outside
the library is left out with one warning; the photo and its other sidecars still count.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from photostore.domain.sidecars import SidecarFields
from photostore.errors import InvalidInput
from photostore.media.sidecars.photoprism import parse_photoprism_yaml, photoprism_sidecar
from photostore.media.sidecars.takeout import parse_takeout_json, takeout_candidates
from photostore.media.sidecars.values import MAX_SIDECAR_BYTES, usable_tags
from photostore.media.sidecars.xmp import parse_xmp
from photostore.text_rules import check_sidecar

log = logging.getLogger(__name__)

_Parser = Callable[[bytes], SidecarFields]


def sidecar_for(photo: Path, root: Path) -> SidecarFields | None:
    """The sidecar metadata found beside ``photo`` inside the library folder ``root``
    (XMP, Takeout JSON, PhotoPrism YAML), merged; None when there is none.

    Never raises for a sidecar's content: a hostile or broken sidecar is ignored and
    logged (one warning).
    """
    real_root = root.resolve()
    kinds: list[tuple[list[Path], Path, _Parser]] = [
        (takeout_candidates(photo), real_root, parse_takeout_json),
        (xmp_candidates(photo), real_root, parse_xmp),
    ]
    photoprism = photoprism_sidecar(photo, root)
    if photoprism is not None:
        # PhotoPrism's storage folder lies beside the originals folder, which may be root.
        yaml_path, sidecar_folder = photoprism
        kinds.append(([yaml_path], sidecar_folder.resolve(), parse_photoprism_yaml))
    merged: SidecarFields | None = None
    for candidates, base, parse in kinds:
        fields = _first_sidecar(candidates, base, parse)
        if fields is not None:
            merged = fields if merged is None else fields.over(merged)
    if merged is None:
        return None
    return SidecarFields(
        title=merged.title,
        description=merged.description,
        taken_at=merged.taken_at,
        taken_at_offset_minutes=merged.taken_at_offset_minutes,
        latitude=merged.latitude,
        longitude=merged.longitude,
        altitude=merged.altitude,
        favorite=merged.favorite,
        tags=usable_tags(merged.tags),
    )


def xmp_candidates(photo: Path) -> list[Path]:
    """``IMG_1.jpg.xmp`` then ``IMG_1.xmp`` (and their upper-case ``.XMP``)."""
    names = [f"{photo.name}.xmp", f"{photo.name}.XMP", f"{photo.stem}.xmp", f"{photo.stem}.XMP"]
    return [photo.with_name(name) for name in dict.fromkeys(names)]


def _first_sidecar(candidates: list[Path], base: Path, parse: _Parser) -> SidecarFields | None:
    for path in candidates:
        if not path.is_file():
            continue
        try:
            fields = parse(_read_inside(path, base))
            check_sidecar(fields)
        except InvalidInput as exc:
            log.warning("sidecar %s ignored: %s", path, exc.detail)
            return None
        except OSError as exc:
            log.warning("sidecar %s ignored: it cannot be read (%s)", path, exc.strerror)
            return None
        return fields
    return None


def _read_inside(path: Path, base: Path) -> bytes:
    """The bytes of ``path``, which must be a regular file inside ``base`` once links
    are followed: a link in a library never makes a file elsewhere part of it."""
    real = path.resolve(strict=True)
    if not real.is_relative_to(base) or not real.is_file():
        raise InvalidInput("it leads outside the library folder")
    with real.open("rb") as file:
        data = file.read(MAX_SIDECAR_BYTES + 1)
    if len(data) > MAX_SIDECAR_BYTES:
        raise InvalidInput(f"it is over {MAX_SIDECAR_BYTES} bytes")
    return data

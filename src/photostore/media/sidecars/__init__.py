"""Sidecars: the metadata that travels beside a photo and wins over its EXIF.

    discovery.py   sidecar_for(photo, root)      the sidecars of a photo in a library
    documents.py   is_sidecar(path), parse_sidecar(data)   an XMP or Takeout document
    xmp.py         parse_xmp(data)               darktable, Lightroom, digiKam, Immich
    takeout.py     parse_takeout_json(data), takeout_names(photo_name)   Google Takeout
    photoprism.py  parse_photoprism_yaml(data)   PhotoPrism's storage/sidecar YAML
    values.py      MAX_SIDECAR_BYTES and the readings every kind shares

Nothing here touches HTTP or the database. Parsers raise ``InvalidInput`` for a
document that cannot be read; ``sidecar_for`` never raises for a sidecar's content.
"""

from photostore.media.sidecars.discovery import sidecar_for, xmp_candidates
from photostore.media.sidecars.documents import SIDECAR_SUFFIXES, is_sidecar, parse_sidecar
from photostore.media.sidecars.photoprism import parse_photoprism_yaml
from photostore.media.sidecars.takeout import parse_takeout_json, takeout_names
from photostore.media.sidecars.values import MAX_SIDECAR_BYTES
from photostore.media.sidecars.xmp import parse_xmp

__all__ = [
    "MAX_SIDECAR_BYTES",
    "SIDECAR_SUFFIXES",
    "is_sidecar",
    "parse_photoprism_yaml",
    "parse_sidecar",
    "parse_takeout_json",
    "parse_xmp",
    "sidecar_for",
    "takeout_names",
    "xmp_candidates",
]

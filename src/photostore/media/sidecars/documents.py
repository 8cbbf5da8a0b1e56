"""Which files are sidecars, and which kind a sidecar sent on its own is."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from photostore.domain.sidecars import SidecarFields
from photostore.errors import InvalidInput
from photostore.media.sidecars.takeout import parse_takeout_json
from photostore.media.sidecars.xmp import parse_xmp

#: The extensions of the sidecar kinds read here: XMP, Takeout's JSON, PhotoPrism's YAML.
SIDECAR_SUFFIXES: Final = frozenset({".xmp", ".json", ".yml", ".yaml"})

_UTF8_BOM: Final = b"\xef\xbb\xbf"
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")


def is_sidecar(path: Path) -> bool:
    """Whether ``path`` is named as a sidecar is (``.xmp``, ``.json``, ``.yml``), so that a
    folder walk does not take it for a photo."""
    return path.suffix.lower() in SIDECAR_SUFFIXES


def parse_sidecar(data: bytes) -> SidecarFields:
    """An XMP or Takeout JSON document, told apart by its first character.

    ``InvalidInput`` when it is neither, or is one that cannot be read.
    """
    if data.startswith(_UTF16_BOMS):
        return parse_xmp(data)
    head = data.removeprefix(_UTF8_BOM).lstrip()[:1]
    if head == b"<":
        return parse_xmp(data)
    if head == b"{":
        return parse_takeout_json(data.removeprefix(_UTF8_BOM))
    raise InvalidInput("a sidecar must be an XMP document or a Google Takeout JSON document")

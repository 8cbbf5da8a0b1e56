"""The export layout (docs/export-format.md): where an export keeps what.

::

    <target>/
        .photostore-export      the marker: format, version and whose export this is
        library.json            the one document of every field (``transfer.document``)
        originals/YYYY/MM/<name>-<sha256[:16]><suffix>   every original, byte-exact

The path of an original keeps its filename, made safe (no separator, no control
character, no leading dot) and unique by a piece of its content address; it is a
function of the image alone, so an export resumed or refreshed finds the files it wrote
before. Every path an export writes, and every path an import reads, passes
:func:`inside`, so no document can name a file outside its folder.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path, PurePosixPath

from photostore.errors import InvalidInput

FORMAT = "photostore-library"
VERSION = 1
DOCUMENT = "library.json"
MARKER = ".photostore-export"
ORIGINALS = "originals"
# Names longer than this are cut (the hash and suffix are kept): most filesystems take
# 255 bytes a name.
_MAX_STEM_CHARS = 100
_MAX_SUFFIX_CHARS = 16


def original_path(filename: str, sha256: str, taken_at: datetime) -> str:
    """The relative path of an original in an export."""
    name = _safe(filename)
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem or len(suffix) > _MAX_SUFFIX_CHARS:
        stem, suffix = name, ""
    stem = stem[:_MAX_STEM_CHARS] or "photo"
    ending = f".{suffix}" if suffix else ""
    return f"{ORIGINALS}/{taken_at:%Y}/{taken_at:%m}/{stem}-{sha256[:16]}{ending}"


def _safe(filename: str) -> str:
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(
        ch if unicodedata.category(ch)[0] not in "CZ" or ch == " " else "_" for ch in name
    )
    return kept.strip().lstrip(".") or "photo"


def inside(root: Path, relative: object, where: str) -> Path:
    """``root / relative`` when ``relative`` is a plain relative path that stays inside
    ``root`` (no ``..``, not absolute, no symbolic link out); else InvalidInput."""
    if not isinstance(relative, str) or not relative or "\x00" in relative:
        raise InvalidInput(f"{where}: not a path")
    pure = PurePosixPath(relative)
    if pure.is_absolute() or any(part in ("", ".", "..") for part in relative.split("/")):
        raise InvalidInput(f"{where}: {relative!r} is not a plain path inside the export")
    path = root.joinpath(*pure.parts)
    if not path.resolve().is_relative_to(root.resolve()):
        raise InvalidInput(f"{where}: {relative!r} leads outside the export")
    return path

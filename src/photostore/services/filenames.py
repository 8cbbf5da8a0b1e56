"""Display names for uploaded files.

A client's filename is untrusted text: it is kept only to show to the user and is never
used to build a path (blobs are stored under content addresses).
"""

from __future__ import annotations

import unicodedata

MAX_FILENAME_LENGTH = 255
FALLBACK_FILENAME = "upload"


def display_filename(raw: str | None) -> str:
    """The last path component of ``raw``, without control characters, at most 255 chars."""
    if not raw:
        return FALLBACK_FILENAME
    name = unicodedata.normalize("NFC", raw)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if name in {"", ".", ".."}:
        return FALLBACK_FILENAME
    return name[:MAX_FILENAME_LENGTH]

"""Where the shared EXIF corpus lives and what exifread printed for it.

The corpus (``shared/corpus/exif-samples``) sits beside the repository checkout;
``PHOTOSTORE_CORPUS`` points elsewhere. ``expected-exif.txt`` holds exifread's command
line output: ``Opening: PATH`` then one ``GROUP Tag (Type): value`` line per tag.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

CORPUS_ENV = "PHOTOSTORE_CORPUS"
EXPECTED_FILE = "expected-exif.txt"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".tif", ".tiff"})

# "EXIF ExposureTime (Ratio): 1/160"; types may hold parentheses themselves, as in
# "Single-Precision Floating Point (32-bit)", and values may be empty.
_TAG_LINE = re.compile(
    r"^(?P<key>\S+ .+?) \((?P<type>[A-Za-z -]+(?: \(\d+-bit\))?)\):(?P<value>.*)$"
)


def corpus_dir() -> Path:
    """The corpus folder: ``$PHOTOSTORE_CORPUS`` or ``../shared/corpus/exif-samples``."""
    override = os.environ.get(CORPUS_ENV)
    if override:
        return Path(override)
    repo_root = Path(__file__).resolve().parents[2]
    return (repo_root / ".." / "shared" / "corpus" / "exif-samples").resolve()


def corpus_exists() -> bool:
    """Whether the corpus folder holds its expected-values file."""
    return (corpus_dir() / EXPECTED_FILE).is_file()


@cache
def expected_exif() -> dict[str, dict[str, str]]:
    """``{relative path: {tag name: stripped printable value}}`` from the expected file."""
    expected: dict[str, dict[str, str]] = {}
    tags: dict[str, str] | None = None
    for line in (corpus_dir() / EXPECTED_FILE).read_text(encoding="utf-8").splitlines():
        if line.startswith("Opening: "):
            tags = expected.setdefault(line.removeprefix("Opening: "), {})
        elif tags is not None and (match := _TAG_LINE.match(line)):
            tags[match["key"]] = match["value"].strip()
        # Other lines are exifread's log messages ("File has JPEG thumbnail", ...).
    return expected


def corpus_images() -> list[str]:
    """Every image file of the corpus, as a path relative to the corpus folder."""
    root = corpus_dir()
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES
    )

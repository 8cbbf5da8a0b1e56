"""Which files of a folder tree an import looks at, in a fixed order.

Names are sorted (so two runs meet the files in the same order), hidden files and
folders are passed over, and so are the folders of a photo application's library that
hold no originals of the user's: Immich's ``thumbs``, ``encoded-video``, ``profile`` and
``backups`` and PhotoPrism's ``storage/cache`` beside its originals (its
``storage/sidecar`` holds sidecars, which their photos' lookup reads). A symbolic link
is followed only when it leads to a place inside the folder, and a folder met twice
(through a link) is walked once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: Folders, relative to the imported folder, that hold no photos of the user's.
NOT_PHOTOS = frozenset(
    {
        "thumbs",
        "encoded-video",
        "profile",
        "backups",
        "storage/cache",
        "storage/sidecar",
    }
)
# Synology's thumbnails, beside any folder.
_EVERYWHERE = frozenset({"@eaDir"})

LINK_OUT = "a symbolic link to a place outside the folder"


@dataclass(frozen=True)
class Found:
    """A file to import."""

    path: Path


@dataclass(frozen=True)
class Passed:
    """A file passed over, and why."""

    path: Path
    reason: str


def walk(root: Path, is_sidecar: Callable[[Path], bool]) -> Iterator[Found | Passed]:
    """The files below ``root`` to import (sidecars left to their photos' lookup)."""
    top = root.resolve()
    seen: set[tuple[int, int]] = set()
    yield from _walk(top, top, is_sidecar, seen)


def _walk(
    top: Path, folder: Path, is_sidecar: Callable[[Path], bool], seen: set[tuple[int, int]]
) -> Iterator[Found | Passed]:
    info = folder.stat()
    if (info.st_dev, info.st_ino) in seen:
        return
    seen.add((info.st_dev, info.st_ino))
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        path = folder / entry.name
        if entry.name.startswith(".") or entry.name in _EVERYWHERE:
            continue
        if entry.is_symlink() and not path.resolve().is_relative_to(top):
            yield Passed(path, LINK_OUT)
            continue
        if entry.is_dir():
            if path.relative_to(top).as_posix() not in NOT_PHOTOS:
                yield from _walk(top, path, is_sidecar, seen)
        elif entry.is_file() and not is_sidecar(path):
            yield Found(path)

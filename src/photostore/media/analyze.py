"""The one call the upload service makes about a file: what is it, and is it usable.

``analyze_file`` sniffs the format from the file's first bytes, reads its metadata and
decodes it once into thumbnails. It is synchronous and CPU-bound: callers run it in a
worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from photostore.errors import UnsupportedMediaType
from photostore.media.decode import DecodeLimits, probe_image
from photostore.media.exif import ImageMetadata, read_metadata
from photostore.media.sniff import SNIFF_BYTES, ImageFormat, sniff_format


@dataclass(frozen=True, slots=True)
class AnalyzedImage:
    """Everything photostore learns from an uploaded image file.

    ``width`` and ``height`` are as displayed (EXIF orientation applied); thumbnails
    are WebP bytes keyed by the names in :attr:`DecodeLimits.thumbnail_sizes`.
    ``damaged`` says the pixel data is truncated or partly corrupt: the thumbnails show
    what decodes.
    """

    format: ImageFormat
    content_type: str
    width: int
    height: int
    orientation: int
    metadata: ImageMetadata
    thumbnails: dict[str, bytes]
    damaged: bool


def analyze_file(path: Path, limits: DecodeLimits) -> AnalyzedImage:
    """Sniff, read metadata and decode the file at ``path``.

    Raises :class:`UnsupportedMediaType` when the file is empty or not in an accepted
    format, and :class:`InvalidImage` when its image cannot be decoded within
    ``limits`` (a damaged file of which part decodes is kept, see ``media.decode``).
    Unreadable metadata is never an error: it comes back empty.
    """
    with path.open("rb") as file:
        head = file.read(SNIFF_BYTES)
    fmt = sniff_format(head)
    if fmt is None:
        what = "the file is empty, so not" if not head else "the file is not"
        accepted = ", ".join(known.label for known in ImageFormat)
        raise UnsupportedMediaType(f"{what} an image photostore accepts: {accepted}")
    # Decode first: a file that is not a usable image is refused before we spend
    # time on its metadata.
    decoded = probe_image(path, fmt, limits)
    metadata = read_metadata(path)
    return AnalyzedImage(
        format=fmt,
        content_type=fmt.content_type,
        width=decoded.width,
        height=decoded.height,
        orientation=decoded.orientation,
        metadata=metadata,
        thumbnails=decoded.thumbnails,
        damaged=decoded.damaged,
    )

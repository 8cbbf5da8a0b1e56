"""Image handling: format sniffing, EXIF metadata, decoding and thumbnails.

    sniff.py     ImageFormat, sniff_format(head)        magic numbers only
    exif.py      read_metadata(path) -> ImageMetadata   via exifread, never raises
    decode.py    probe_image(path, fmt, limits)         bomb check, one decode, WebP
    analyze.py   analyze_file(path, limits)             the upload service's one call
    sidecars/    sidecar_for(photo, root), parse_sidecar(data)   XMP, Takeout, PhotoPrism

Nothing here touches HTTP or the database. Call :func:`configure_vips` once at start-up.
"""

from photostore.media.analyze import AnalyzedImage, analyze_file
from photostore.media.decode import (
    DecodedImage,
    DecodeLimits,
    configure_vips,
    probe_image,
)
from photostore.media.exif import GpsPosition, ImageMetadata, read_metadata
from photostore.media.sniff import ImageFormat, sniff_format

__all__ = [
    "AnalyzedImage",
    "DecodeLimits",
    "DecodedImage",
    "GpsPosition",
    "ImageFormat",
    "ImageMetadata",
    "analyze_file",
    "configure_vips",
    "probe_image",
    "read_metadata",
    "sniff_format",
]

"""Metadata that travels beside a photo and wins over what the file's own EXIF says.

It comes from an XMP sidecar (``IMG_1.jpg.xmp``), a Google Takeout JSON document
(``IMG_1.jpg.json``), or the fields of an upload, and is applied when the photo is
stored: as Immich and PhotoPrism do, the sidecar is the user's later word on the photo,
so each field it sets replaces the one read from the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SidecarFields:
    """What a sidecar says of one photo; a field left None says nothing.

    ``taken_at`` is aware; ``taken_at_offset_minutes`` is the zone offset the photo was
    taken in when the sidecar says it (Takeout gives instants only). ``latitude`` and
    ``longitude`` come together or not at all. ``tags`` are added to the upload's own.
    """

    title: str | None = None
    description: str | None = None
    taken_at: datetime | None = None
    taken_at_offset_minutes: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    favorite: bool | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)

    def over(self, earlier: SidecarFields) -> SidecarFields:
        """These fields where they say something, else ``earlier``'s; tags of both."""
        taken = self.taken_at is not None
        placed = self.latitude is not None
        return replace(
            earlier,
            title=self.title if self.title is not None else earlier.title,
            description=self.description if self.description is not None else earlier.description,
            taken_at=self.taken_at if taken else earlier.taken_at,
            taken_at_offset_minutes=(
                self.taken_at_offset_minutes if taken else earlier.taken_at_offset_minutes
            ),
            latitude=self.latitude if placed else earlier.latitude,
            longitude=self.longitude if placed else earlier.longitude,
            altitude=self.altitude if placed else earlier.altitude,
            favorite=self.favorite if self.favorite is not None else earlier.favorite,
            tags=earlier.tags + self.tags,
        )

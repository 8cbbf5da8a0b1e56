"""How many of a collection's images are not in the trash: the count an album or a tag
shows, as a column of the statement that reads the collection itself."""

from __future__ import annotations

import uuid

from sqlalchemy import ScalarSelect, and_, func, select
from sqlalchemy.orm import InstrumentedAttribute

from photostore.db import models


def untrashed_image_count(
    link: type[models.AlbumImage] | type[models.ImageTag],
    link_to_collection: InstrumentedAttribute[uuid.UUID],
    collection: type[models.Album] | type[models.Tag],
) -> ScalarSelect[int]:
    """The images ``link`` ties to a row of ``collection`` (through its column
    ``link_to_collection``) that are not in the trash, correlated to that row."""
    return (
        select(func.count())
        .select_from(link)
        .join(
            models.Image,
            and_(models.Image.owner_id == link.owner_id, models.Image.id == link.image_id),
        )
        .where(
            link.owner_id == collection.owner_id,
            link_to_collection == collection.id,
            models.Image.trashed_at.is_(None),
        )
        .correlate(collection)
        .scalar_subquery()
    )

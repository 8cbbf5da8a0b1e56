"""Images with their tag names, as the gallery and search read them on every request.

The rows and their tag names come in one statement of table columns, built once (an
entity query and a second statement for the tags cost 1.2-1.6 ms more per request,
measured with bench/requests.py and py-spy), and become domain images by position. The
single image is read by psycopg directly, in a transaction without an ORM session
(``Database.read_for_user``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import psycopg
from sqlalchemy import RowMapping, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db import models
from photostore.db.repositories.tags import image_tag_names
from photostore.db.session import driver_rows, driver_sql
from photostore.domain.images import Image, ImageView
from photostore.errors import NotFound

_TABLE = models.Image.__table__
#: The columns of a domain image, in its order, then the image's tag names.
VIEW_COLUMNS = (
    *(_TABLE.c[name] for name in Image._fields),
    image_tag_names(_TABLE.c.owner_id).label("tags"),
)
_VIEWS = select(*VIEW_COLUMNS).where(_TABLE.c.owner_id == bindparam("owner_id"))
_VIEW_BY_ID = driver_sql(_VIEWS.where(_TABLE.c.id == bindparam("image_id")))
_VIEWS_BY_IDS = _VIEWS.where(_TABLE.c.id.in_(bindparam("image_ids", expanding=True)))


def view_of_row(row: Sequence[Any]) -> ImageView:
    """The view of a row of ``VIEW_COLUMNS``."""
    return ImageView(image=Image._make(row[:-1]), tags=list(row[-1]))


def view_of_mapping(row: RowMapping) -> ImageView:
    """The view of a row of ``VIEW_COLUMNS`` as ``keyset_page`` hands it over."""
    return view_of_row(tuple(row.values()))


async def view_by_id(
    driver: psycopg.AsyncConnection[Any], owner_id: uuid.UUID, image_id: uuid.UUID
) -> ImageView:
    """The image ``image_id`` of ``owner_id`` with its tags; NotFound if not theirs."""
    rows = await driver_rows(driver, _VIEW_BY_ID, {"owner_id": owner_id, "image_id": image_id})
    if not rows:
        raise NotFound("no such image")
    return view_of_row(rows[0])


async def views_by_ids(
    session: AsyncSession, owner_id: uuid.UUID, image_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ImageView]:
    """The images of ``owner_id`` among ``image_ids``, each with its tags, by id."""
    if not image_ids:
        return {}
    rows = await session.execute(
        _VIEWS_BY_IDS, {"owner_id": owner_id, "image_ids": list(image_ids)}
    )
    views = (view_of_row(row) for row in rows)
    return {view.image.id: view for view in views}


async def read_views(
    session: AsyncSession, owner_id: uuid.UUID, images: Select[models.Image]
) -> list[ImageView]:
    """The images ``images`` selects (of ``owner_id``: its filters, order and limit kept),
    each with its tags, in its order."""
    rows = await session.execute(images.with_only_columns(*VIEW_COLUMNS))
    return [view_of_row(row) for row in rows]

"""One owner's whole library as rows, for export and for the import of an export.

An export reads each part of the library (``PARTS``) in pages ordered by its primary
key; every page is a transaction of its own, so an export of a million images never
holds one open (an open transaction would keep ``gc`` and vacuum waiting). The rows are
plain dictionaries of column values (``owner_id`` left out: an export is one owner's,
and its import gives every row the importing user), vectors as lists of floats.

The import of an export inserts the rows it restores under their exported ids, leaving
a row that already exists as it is (``ON CONFLICT DO NOTHING``): a second import of the
same export changes nothing, and one cut short goes on where it stopped.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db import models
from photostore.db.repositories.tags import image_tag_names
from photostore.errors import InvalidInput


def _table(model: type[models.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


#: The parts of a library an export holds, in the order it writes them (and an import
#: reads them: tags before the images carrying them, images before what refers to them).
PARTS: dict[str, Table] = {
    "tags": _table(models.Tag),
    "images": _table(models.Image),
    "people": _table(models.Person),
    "albums": _table(models.Album),
    "album_images": _table(models.AlbumImage),
    "faces": _table(models.Face),
    "analysis_results": _table(models.AnalysisResult),
    "embedding_spaces": _table(models.EmbeddingSpace),
    "embeddings": _table(models.Embedding),
}
#: The parts whose rows an import inserts as they are (images are stored by ingest,
#: vectors through their space's change log; a space's counts start at nothing).
INSERTED = (
    "tags",
    "people",
    "albums",
    "album_images",
    "faces",
    "analysis_results",
    "embedding_spaces",
)
#: Columns that are the database's bookkeeping, not the library's.
_BOOKKEEPING = {"embedding_spaces": ("generation", "vector_count")}
#: What an import of an export sets on an image ingest stored: every field a user or
#: a caller may have changed since the upload, and the upload's own time.
RESTORED_IMAGE_FIELDS = (
    "original_filename",
    "title",
    "description",
    "taken_at",
    "taken_at_source",
    "taken_at_offset_minutes",
    "latitude",
    "longitude",
    "altitude",
    "favorite",
    "damaged",
    "trashed_at",
    "uploaded_at",
    "updated_at",
)


def part_columns(part: str) -> list[str]:
    """The columns of ``part`` an export writes, ``owner_id`` and bookkeeping left out."""
    left_out = {"owner_id", *_BOOKKEEPING.get(part, ())}
    return [c.name for c in PARTS[part].columns if c.name not in left_out]


def part_key(part: str) -> list[str]:
    """The primary key of ``part`` without ``owner_id``: the order of its pages."""
    return [c.name for c in PARTS[part].primary_key.columns if c.name != "owner_id"]


def _python_type(part: str, column: str) -> type:
    try:
        return PARTS[part].c[column].type.python_type
    except NotImplementedError:  # pgvector's type names none: a vector is a list of floats
        return list


def decode_row(part: str, raw: object, where: str) -> dict[str, Any]:
    """The row of ``part`` an export wrote as ``raw`` (JSON values), each value of its
    column's type; anything else is an :class:`InvalidInput` naming ``where``."""
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: not an object")
    columns = part_columns(part)
    missing = [c for c in columns if c not in raw]
    if missing:
        raise InvalidInput(f"{where}: {', '.join(missing)} missing")
    row: dict[str, Any] = {}
    for name in columns:
        value = raw[name]
        if value is None:
            if not PARTS[part].c[name].nullable:
                raise InvalidInput(f"{where}.{name}: may not be null")
            row[name] = None
            continue
        row[name] = _decoded(_python_type(part, name), value, f"{where}.{name}")
    return row


def _decoded(kind: type, value: object, where: str) -> Any:
    try:
        if kind is uuid.UUID and isinstance(value, str):
            return uuid.UUID(value)
        if kind is datetime and isinstance(value, str):
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                return moment
        elif kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            if math.isfinite(value):
                return float(value)
        elif kind is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        elif kind is list and isinstance(value, list):
            return [_decoded(float, x, where) for x in value]
        elif isinstance(value, kind):
            return value
    except ValueError:
        pass
    raise InvalidInput(f"{where}: not a {kind.__name__}")


def _plain(value: Any) -> Any:
    # pgvector hands vectors over as numpy arrays.
    if hasattr(value, "tolist"):
        return [float(x) for x in value.tolist()]
    return value


class LibraryRows:
    """The rows of one owner's library, in ``session``'s transaction."""

    def __init__(self, session: AsyncSession, owner_id: uuid.UUID) -> None:
        self._session = session
        self._owner_id = owner_id

    async def page(
        self, part: str, after: Sequence[Any] | None, limit: int
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` rows of ``part`` after the key ``after`` (None: the first),
        in key order; an image's row carries its tag names (``tags``)."""
        table = PARTS[part]
        columns: list[ColumnElement[Any]] = [table.c[name] for name in part_columns(part)]
        if part == "images":
            columns.append(image_tag_names(table.c.owner_id).label("tags"))
        key = [table.c[name] for name in part_key(part)]
        stmt = select(*columns).where(table.c.owner_id == self._owner_id)
        if after is not None:
            stmt = stmt.where(tuple_(*key) > tuple_(*after))
        rows = await self._session.execute(stmt.order_by(*key).limit(limit))
        return [{name: _plain(value) for name, value in row.items()} for row in rows.mappings()]

    async def insert_new(self, part: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` of ``part`` (one of ``INSERTED``), leaving those whose key (or
        a tag's name, ignoring case) is held already as they are."""
        assert part in INSERTED, part
        if not rows:
            return
        values = [{**row, "owner_id": self._owner_id} for row in rows]
        await self._session.execute(insert(PARTS[part]).values(values).on_conflict_do_nothing())

    async def images_held(self, image_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        """Those of ``image_ids`` that are images of the owner."""
        if not image_ids:
            return set()
        table = PARTS["images"]
        rows = await self._session.execute(
            select(table.c.id).where(table.c.owner_id == self._owner_id, table.c.id.in_(image_ids))
        )
        return set(rows.scalars())

    async def set_image_fields(self, image_id: uuid.UUID, fields: Mapping[str, Any]) -> None:
        """Set ``RESTORED_IMAGE_FIELDS`` of the image to the exported ``fields``."""
        assert set(fields) <= set(RESTORED_IMAGE_FIELDS), set(fields)
        table = PARTS["images"]
        await self._session.execute(
            update(table)
            .where(table.c.owner_id == self._owner_id, table.c.id == image_id)
            .values(**fields)
        )

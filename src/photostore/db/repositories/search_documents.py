"""The text search document of each image: a weighted tsvector over all its words, and
the same words as plain lower-case text for near matches (typos, parts of words).

A document is rebuilt from its sources, inside the transaction that changed them, by
every service that changes one. Sources and weights (``setweight``), the ranking a
search uses:

    A  tag names, names of people (not hidden) whose faces are in the image, labels
    B  captions, the title and the description
    C  OCR text, the original filename split at separators (IMG_2041.jpg -> img 2041 jpg)

The ``simple`` text search configuration is used everywhere: words are lower-cased but
not stemmed and no stop words are dropped, so names and text in any language match as
written. Searches must use the same configuration:
``document @@ websearch_to_tsquery('simple', q)`` (see :mod:`photostore.db.search.text`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any, Literal

import psycopg
from sqlalchemy import CTE, ColumnElement, Select, and_, func, literal_column, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import TSVECTOR, insert
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import (
    Face,
    Image,
    ImageTag,
    ImageText,
    Label,
    Person,
    SearchDocument,
    Tag,
)
from photostore.db.search.text import TEXT_CONFIG
from photostore.errors import InvalidInput

# Anything that is not a letter or a digit separates words of a filename.
_FILENAME_SEPARATORS = r"[^[:alnum:]]+"


def _words(values: Select[Any]) -> ColumnElement[str]:
    """The values one correlated subquery selects, joined by spaces ('' when none)."""
    return func.coalesce(values.scalar_subquery(), "")


def _weighted(text: ColumnElement[str], weight: Literal["A", "B", "C"]) -> ColumnElement[Any]:
    # setweight takes a "char"; a bound string parameter arrives as varchar, which has no
    # cast to "char", so the weight (one of three constants) is written into the SQL.
    return func.setweight(
        func.to_tsvector(TEXT_CONFIG, text), literal_column(f"'{weight}'"), type_=TSVECTOR
    )


def _sources(owner_id: uuid.UUID, image_ids: Collection[uuid.UUID]) -> CTE:
    """Each image's words by source, one row per image (materialized: every source is
    read once, then both the document and the plain text are made of them)."""
    tags = _words(
        select(func.string_agg(Tag.name, " "))
        .join(ImageTag, and_(ImageTag.owner_id == Tag.owner_id, ImageTag.tag_id == Tag.id))
        .where(ImageTag.owner_id == owner_id, ImageTag.image_id == Image.id)
    )
    people = _words(
        select(func.string_agg(Person.name, " "))
        .join(Face, and_(Face.owner_id == Person.owner_id, Face.person_id == Person.id))
        .where(
            Face.owner_id == owner_id,
            Face.image_id == Image.id,
            Person.hidden.is_(False),
            Person.name.is_not(None),
        )
    )
    labels = _words(
        select(func.string_agg(Label.name, " ")).where(
            Label.owner_id == owner_id, Label.image_id == Image.id
        )
    )
    captions = _words(
        select(func.string_agg(ImageText.body, " ")).where(
            ImageText.owner_id == owner_id,
            ImageText.image_id == Image.id,
            ImageText.kind == "caption",
        )
    )
    ocr = _words(
        select(func.string_agg(ImageText.body, " ")).where(
            ImageText.owner_id == owner_id,
            ImageText.image_id == Image.id,
            ImageText.kind == "ocr",
        )
    )
    return (
        select(
            Image.owner_id.label("owner_id"),
            Image.id.label("image_id"),
            tags.label("tags"),
            people.label("people"),
            labels.label("labels"),
            captions.label("captions"),
            func.concat_ws(" ", Image.title, Image.description).label("description"),
            ocr.label("ocr"),
            Image.original_filename.label("filename"),
        )
        .where(Image.owner_id == owner_id, Image.id.in_(set(image_ids)))
        .cte("sources")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )


def _document(sources: CTE) -> ColumnElement[Any]:
    """The weighted tsvector of one row of ``sources``."""
    c = sources.c
    split_filename = func.regexp_replace(c.filename, _FILENAME_SEPARATORS, " ", "g")
    parts = [
        _weighted(c.tags, "A"),
        _weighted(c.people, "A"),
        _weighted(c.labels, "A"),
        _weighted(c.captions, "B"),
        _weighted(c.description, "B"),
        _weighted(c.ocr, "C"),
        _weighted(split_filename, "C"),
    ]
    document = parts[0]
    for part in parts[1:]:
        document = document.op("||", return_type=TSVECTOR)(part)
    return document


def _plain_text(sources: CTE) -> ColumnElement[str]:
    """All of one row's words as lower-case text, for near matches (``search.text``); the
    filename as it was given, so a part of it matches across its separators."""
    c = sources.c
    parts = (c.tags, c.people, c.labels, c.captions, c.description, c.ocr, c.filename)
    # An empty source adds no separator, as in migration 0002's backfill.
    return func.lower(func.concat_ws(" ", *(func.nullif(part, "") for part in parts)))


async def refresh_search_documents(
    session: AsyncSession, owner_id: uuid.UUID, image_ids: Collection[uuid.UUID]
) -> None:
    """Rebuild the search documents of ``owner_id``'s images ``image_ids`` from their sources."""
    if not image_ids:
        return
    sources = _sources(owner_id, image_ids)
    rows = select(sources.c.owner_id, sources.c.image_id, _document(sources), _plain_text(sources))
    stmt = insert(SearchDocument).from_select(
        [
            SearchDocument.owner_id,
            SearchDocument.image_id,
            SearchDocument.document,
            SearchDocument.words,
        ],
        rows,
    )
    try:
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[SearchDocument.owner_id, SearchDocument.image_id],
                set_={"document": stmt.excluded.document, "words": stmt.excluded.words},
            )
        )
    except sa_exc.DBAPIError as exc:
        if not tsvector_too_long(exc):
            raise
        # Refused, not cut: a document cut short would quietly not find the image by the
        # words it lost. The write that brought the text is rolled back whole.
        raise InvalidInput(
            "the text of the image is too large to search: PostgreSQL holds at most 1 MiB "
            "of distinct words per image (tags, names, labels, captions, description, OCR "
            "text and filename together); send less text"
        ) from exc


def tsvector_too_long(exc: sa_exc.DBAPIError) -> bool:
    """Whether ``exc`` is PostgreSQL refusing a tsvector over its size limit (1 MiB of
    distinct lexemes, "string is too long for tsvector", SQLSTATE 54000)."""
    cause = exc.orig
    return isinstance(cause, psycopg.errors.ProgramLimitExceeded) and "tsvector" in str(cause)

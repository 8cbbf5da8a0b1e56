"""Keyset pages: a page ends at a (sort key, id) pair, never at an OFFSET, so a row
written or deleted meanwhile neither shifts a later page nor repeats on it.

The pair travels between requests inside an opaque cursor that ``services.pagination``
encodes and decodes; this module only builds and runs the statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import RowMapping, Select, SQLColumnExpression, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.domain.pages import Slice

T = TypeVar("T")
K = TypeVar("K")


async def keyset_page(
    session: AsyncSession,
    stmt: Select[*tuple[Any, ...]],
    sort: SQLColumnExpression[K],
    id_column: SQLColumnExpression[uuid.UUID],
    after: tuple[K, uuid.UUID] | None,
    limit: int,
    item: Callable[[RowMapping], T],
    *,
    descending: bool = False,
) -> Slice[T]:
    """Up to ``limit`` rows of ``stmt`` that follow ``after`` (None: from the start) in
    (``sort``, ``id_column``) order, descending if asked, each made an item by ``item``."""
    if after is not None:
        key, last = tuple_(sort, id_column), tuple_(*after)
        stmt = stmt.where(key < last if descending else key > last)
    order = (sort.desc(), id_column.desc()) if descending else (sort, id_column)
    # One row past the page says whether another page follows, without a count.
    rows = (await session.execute(stmt.order_by(*order).limit(limit + 1))).all()
    return Slice(items=[item(row._mapping) for row in rows[:limit]], more=len(rows) > limit)

"""The change log's side of the vector cache: which images of a space changed after the
generation a matrix was loaded at, read in the caller's transaction.

Every change of a space's vectors (image purges, trash, restore and date changes
included) bumps the space's ``generation`` and logs the images it touched in
``embedding_changes`` (triggers of the baseline migration). A matrix a few generations
behind still answers, with an ``Overlay``: those images left out of it and their current
rows read beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import LOGGED_GENERATIONS, EmbeddingChange, EmbeddingSpace
from photostore.search.binary import packed_uuids
from photostore.search.matrix import SpaceMatrix
from photostore.search.space import SpaceRef

# Past this many changed images, PostgreSQL's plans answer until the reload.
MAX_CHANGED = 2000


@dataclass(frozen=True)
class Overlay:
    """The changed images of a matrix loaded at ``base`` and their rows as they are at
    ``generation`` (None: none of them has a vector any more)."""

    base: int
    generation: int
    changed: NDArray[np.bytes_]
    rows: SpaceMatrix | None


async def changed_since(
    session: AsyncSession, space: SpaceRef, generation: int
) -> tuple[NDArray[np.bytes_], bool] | None:
    """The images changed in ``space`` after ``generation``, and whether the caller's
    transaction has written nothing yet; None when the log cannot tell (more changed
    than was logged, or its older rows are gone)."""
    # The space's generation is read again in the same statement, hence the same
    # snapshot as the log: rows a concurrent write pruned cannot go missing unseen.
    since = (
        EmbeddingChange.owner_id == space.owner_id,
        EmbeddingChange.space_id == space.id,
        EmbeddingChange.generation > generation,
    )
    image_ids = func.unnest(EmbeddingChange.image_ids).table_valued("id").render_derived()
    logged = (
        select(packed_uuids(image_ids.c.id))
        .select_from(EmbeddingChange)
        .join(image_ids, true())  # each row's own array: a function in FROM is lateral
        .where(*since)
        .scalar_subquery()
    )
    # A NULL array: more changed than was logged.
    overflowed = select(func.bool_or(EmbeddingChange.image_ids.is_(None))).where(*since)
    row = (
        await session.execute(
            select(
                EmbeddingSpace.generation,
                logged,
                func.txid_current_if_assigned().is_(None),
                overflowed.scalar_subquery(),
            ).where(EmbeddingSpace.owner_id == space.owner_id, EmbeddingSpace.id == space.id)
        )
    ).first()
    if row is None or row[0] - generation >= LOGGED_GENERATIONS:
        return None
    if row[3]:
        return None
    changed = np.unique(np.frombuffer(row[1] or b"", dtype="S16"))
    if len(changed) > MAX_CHANGED:
        return None
    return changed, bool(row[2])

"""The change log's side of the vector cache: which images of a space changed after the
generation a matrix was loaded at, read in the caller's transaction.

Every change of a space's vectors (image purges, trash, restore and date changes
included) bumps the space's ``generation`` and logs the images it touched in
``embedding_changes`` (triggers of the baseline migration), for the last
``LOGGED_GENERATIONS`` generations.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import LOGGED_GENERATIONS, EmbeddingChange, EmbeddingSpace
from photostore.db.search.packed import packed_uuids
from photostore.domain.embeddings import SpaceRef
from photostore.domain.search import ChangedImages


async def changed_since(
    session: AsyncSession, space: SpaceRef, generation: int
) -> ChangedImages | None:
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
    return ChangedImages(image_ids=changed, committed=bool(row[2]))

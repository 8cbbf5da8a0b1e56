"""The change-log protocol of the vector cache: which rows of a matrix a few generations
behind are out of date, and the overlay that answers for them.

Every change of a space's vectors (image purges, trash, restore and date changes
included) bumps the space's ``generation`` and logs the images it touched
(``db.search.changes``). A matrix a few generations behind still answers, with an
``Overlay``: those images left out of it and their current rows read beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from photostore.db.search.reads import VectorReads
from photostore.domain.embeddings import SpaceRef
from photostore.domain.search import ChangedImages
from photostore.search.matrix import SpaceMatrix

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
    reads: VectorReads, space: SpaceRef, generation: int
) -> ChangedImages | None:
    """The images changed in ``space`` after ``generation``; None when the log cannot
    tell or more changed than an overlay should hold (``MAX_CHANGED``)."""
    changes = await reads.changed_since(space, generation)
    if changes is None or len(changes.image_ids) > MAX_CHANGED:
        return None
    return changes

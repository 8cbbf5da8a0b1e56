"""Reciprocal rank fusion: one ranking from several, by position only.

RRF (Cormack, Clarke, Büttcher 2009) scores an item ``sum(1 / (K + rank))`` over the
rankings it appears in (rank from 1). It needs no calibration between a text rank and
a vector distance, which live on unrelated scales; K = 60 is the paper's constant.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[uuid.UUID]], k: int = RRF_K
) -> list[tuple[uuid.UUID, float]]:
    """Fused (id, score) pairs, best first; ties broken by id for a stable order."""
    scores: dict[uuid.UUID, float] = {}
    for ranking in rankings:
        for position, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + position)
    return sorted(scores.items(), key=lambda pair: (-pair[1], str(pair[0])))

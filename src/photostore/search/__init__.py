"""Search: the vector engine (planner, index maintenance) that search routes build on.

Public entry points for the search service and the embedding routes:

* :func:`nearest` — the k nearest images of a user in a space, exact in effect;
* :func:`vector_of_image` — an image's stored vector (for "more like this");
* :func:`prepare_query` — validate (and, in cosine spaces, normalize) a query vector;
* :class:`SpaceRef`, :class:`Neighbor` — what they take and give.
"""

from __future__ import annotations

from photostore.search.planner import (
    Neighbor,
    Plan,
    PlanLimits,
    choose_plan,
    nearest,
    vector_of_image,
)
from photostore.search.space import SpaceRef, find_space, space_by_name
from photostore.search.vector_values import prepare_query, prepare_vector, prepare_vectors

__all__ = [
    "Neighbor",
    "Plan",
    "PlanLimits",
    "SpaceRef",
    "choose_plan",
    "find_space",
    "nearest",
    "prepare_query",
    "prepare_vector",
    "prepare_vectors",
    "space_by_name",
    "vector_of_image",
]

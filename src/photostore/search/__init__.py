"""Search: the policies of the vector engine (planner, cache, index maintenance), full
text and fusion, that search routes build on. The statements they run are
``photostore.db.search``'s; nothing here writes SQL.

Public entry points for the search service and the embedding routes:

* :func:`nearest` — the k nearest images of a user in a space, exact in effect;
* :func:`prepare_query`, :func:`prepare_vector`, :func:`prepare_vectors` — validate (and,
  in cosine spaces, normalize) vectors;
* :class:`Plan`, :class:`PlanLimits`, :func:`choose_plan` — how a query runs.
"""

from __future__ import annotations

from photostore.search.planner import Plan, PlanLimits, choose_plan, nearest
from photostore.search.vector_values import prepare_query, prepare_vector, prepare_vectors

__all__ = [
    "Plan",
    "PlanLimits",
    "choose_plan",
    "nearest",
    "prepare_query",
    "prepare_vector",
    "prepare_vectors",
]

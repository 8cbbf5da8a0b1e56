"""Vector values: validation, normalization and the distance of each metric.

Cosine spaces store unit vectors (normalized on write, and queries are normalized too).
Cosine distance is then ``1 - a·b``, computed from pgvector's negative inner product
``<#>``, which skips the two norms ``<=>`` recomputes for every row: exact scans do half
the arithmetic and the HNSW index uses ``vector_ip_ops`` (the operators and operator
classes are ``db.search.nearest``'s and ``db.search.indexes``'). The ranking is the same.

Distances reported to callers: cosine ``1 - cos`` (0..2), l2 the Euclidean distance,
ip the negative inner product (pgvector's convention; smaller is nearer).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NoReturn

import numpy as np
from numpy.typing import NDArray

from photostore.domain.embeddings import Metric, SpaceRef
from photostore.errors import InvalidInput

# pgvector stores float4; larger magnitudes cannot be represented.
FLOAT4_MAX = 3.4028234663852886e38

# A vector as a caller sends it: a list of numbers, or float32 values decoded from bytes.
Values = Sequence[float] | NDArray[np.float32]


def prepare_vector(space: SpaceRef, values: Values) -> list[float]:
    """``values`` checked against ``space`` and ready to store; InvalidInput if not."""
    if len(values) == 0:
        raise InvalidInput("the vector is empty")
    if len(values) != space.dimension:
        raise InvalidInput(
            f"the space {space.name!r} holds {space.dimension}-dimensional vectors; "
            f"this one has {len(values)} values"
        )
    # One pass in numpy: every search validates its query, and a Python loop over
    # hundreds of floats cost more than the in-memory scan of a small space.
    floats = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        bad = ~np.isfinite(floats) | (np.abs(floats) > FLOAT4_MAX)
    if bad.any():
        position = int(np.argmax(bad))
        value = float(floats[position])
        if not math.isfinite(value):
            raise InvalidInput(f"value {position} is {value}; vectors hold finite numbers only")
        raise InvalidInput(f"value {position} is too large for a 32-bit float")
    if space.metric == "cosine":
        norm = float(np.sqrt(floats @ floats))
        # A zero vector has no direction: its cosine distance to anything is undefined.
        if norm == 0.0 or not math.isfinite(norm):
            raise InvalidInput("a zero vector has no direction; cosine spaces need a non-zero one")
        floats = floats / norm
    return list(floats.tolist())


def prepare_vectors(space: SpaceRef, rows: Sequence[Values]) -> NDArray[np.float32]:
    """``rows`` checked against ``space`` as :func:`prepare_vector` checks one, as one
    float32 matrix ready to store (unit rows in cosine spaces); InvalidInput naming the
    first bad row as the item of a batch it is: ``items[7].values: ...``.

    The checks run on the whole matrix at once; only a bad row goes through
    :func:`prepare_vector`, for its message.
    """
    for position, values in enumerate(rows):
        if len(values) != space.dimension:
            _refuse_row(space, position, values)
    floats = np.array(rows, dtype=np.float64).reshape(len(rows), space.dimension)
    with np.errstate(over="ignore", invalid="ignore"):
        bad = (~np.isfinite(floats) | (np.abs(floats) > FLOAT4_MAX)).any(axis=1)
        if space.metric == "cosine":
            norms = np.sqrt(np.einsum("ij,ij->i", floats, floats))
            bad |= (norms == 0.0) | ~np.isfinite(norms)
    if bad.any():
        position = int(np.argmax(bad))
        _refuse_row(space, position, rows[position])
    if space.metric == "cosine":
        floats /= norms[:, None]
    return floats.astype(np.float32)


def _refuse_row(space: SpaceRef, position: int, values: Values) -> NoReturn:
    """Raise the InvalidInput of :func:`prepare_vector` for row ``position`` of a batch."""
    try:
        prepare_vector(space, values)
    except InvalidInput as error:
        raise InvalidInput(f"items[{position}].values: {error.detail}") from error
    raise AssertionError(f"row {position} passed the check it failed in the batch")


def prepare_query(space: SpaceRef, values: Sequence[float]) -> list[float]:
    """A query vector checked (and in cosine spaces normalized) like a stored one."""
    return prepare_vector(space, values)


def reported_distance(metric: Metric, raw: float) -> float:
    """The distance a caller sees, from the value the ordering operator returned."""
    return 1.0 + raw if metric == "cosine" else raw

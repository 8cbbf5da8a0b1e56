"""Index maintenance: give large spaces an HNSW index, drop indexes of gone spaces.

Runs as the schema owner, from ``photostore search optimize``; the statements, and why
they need no privilege to bypass RLS, are ``db.search.maintenance``. Indexes are built
and dropped ``CONCURRENTLY``: searches and writes go on while it works.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from photostore.db.search.indexes import space_id_of_index
from photostore.db.search.maintenance import IndexMaintenance, spaces_with_counts
from photostore.domain.embeddings import SpaceRef

# Below this share of the build threshold an index is dropped again: a space shrinking
# around the threshold should not be rebuilt and dropped on every run.
DROP_BELOW_SHARE = 0.5


@dataclass(frozen=True)
class OptimizeReport:
    built: list[str]
    dropped: list[str]
    kept: list[str]


def optimize(
    owner_url: str,
    min_vectors: int,
    *,
    progress: Callable[[str], None] = lambda _: None,
    maintenance_work_mem: str = "2GB",
) -> OptimizeReport:
    """Bring the set of per-space HNSW indexes in line with the spaces' sizes."""
    with IndexMaintenance.connect(owner_url, maintenance_work_mem) as indexes:
        spaces = spaces_with_counts(owner_url)
        existing = indexes.indexes()
        wanted: dict[uuid.UUID, SpaceRef] = {}
        keep_existing: set[uuid.UUID] = set()
        for space, count in spaces:
            if not space.indexable:
                continue
            if count >= min_vectors:
                wanted[space.id] = space
            elif count >= min_vectors * DROP_BELOW_SHARE:
                keep_existing.add(space.id)
        report = OptimizeReport(built=[], dropped=[], kept=[])
        for name, valid in existing.items():
            space_id = space_id_of_index(name)
            # An invalid index is what an interrupted concurrent build leaves behind.
            if valid and space_id is not None and (space_id in wanted or space_id in keep_existing):
                report.kept.append(name)
                wanted.pop(space_id, None)
                continue
            progress(f"dropping {name}")
            indexes.drop(name)
            report.dropped.append(name)
        for space in wanted.values():
            progress(f"building the HNSW index of space {space.name!r} ({space.id})")
            indexes.build(space)
            report.built.append(space.name)
        return report

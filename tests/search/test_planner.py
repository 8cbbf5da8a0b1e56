"""The vector planner against numpy's exact answer, on fixed-seed data in real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from sqlalchemy import select, update

from photostore.config import Settings
from photostore.db.embedded import OWNER_ROLE, EmbeddedCluster
from photostore.db.models import Image
from photostore.db.search.filters import Candidates
from photostore.db.search.nearest import NearestReads
from photostore.domain.embeddings import SpaceRef
from photostore.domain.search import Neighbor
from photostore.errors import NotFound
from photostore.provider import build_context
from photostore.search import Plan, PlanLimits, choose_plan, nearest
from photostore.search.maintenance import optimize
from tests.conftest import ScratchDatabase, SeededTemplate, seeded_template
from tests.search.library import Library, clustered_vectors, seed_library

# Seeds 5,300 vectors and builds an HNSW index once per worker.
pytestmark = pytest.mark.slow

DIM = 32
K = 10
LARGE = 5000
SMALL = 300
# Small enough for the 5,000-vector space to take the index path at 100% and 10%.
LIMITS = PlanLimits(exact_max_candidates=200)
SELECTIVITIES = (1.0, 0.1, 0.01, 0.001)


def _window(library: Library, share: float) -> tuple[int, int]:
    """Positions [start, stop) of a date range holding ``share`` of the library."""
    size = max(1, round(share * len(library.image_ids)))
    start = (len(library.image_ids) - size) // 2
    return start, start + size


def _date_filter(library: Library, start: int, stop: int) -> Candidates:
    return Candidates(
        select(Image.id).where(
            Image.owner_id == library.owner_id,
            Image.taken_at >= library.taken_at(start),
            Image.taken_at < library.taken_at(stop),
        )
    )


def _among(library: Library, image_ids: Sequence[uuid.UUID]) -> Candidates:
    return Candidates(
        select(Image.id).where(Image.owner_id == library.owner_id, Image.id.in_(image_ids))
    )


def _exact(library: Library, query: np.ndarray, positions: Sequence[int]) -> list[uuid.UUID]:
    rows = np.asarray(positions)
    distances = 1.0 - library.vectors[rows] @ (query / np.linalg.norm(query))
    best = rows[np.argsort(distances, kind="stable")[:K]]
    return [library.image_ids[i] for i in best]


def _run_nearest(
    settings: Settings,
    owner_id: uuid.UUID,
    space: SpaceRef,
    queries: Sequence[np.ndarray],
    candidates: Candidates | None,
    exclude: Sequence[uuid.UUID] = (),
    limits: PlanLimits = LIMITS,
) -> tuple[list[list[Neighbor]], Plan]:
    async def run() -> tuple[list[list[Neighbor]], Plan]:
        ctx = build_context(settings)
        try:
            async with ctx.db.for_user(owner_id) as session:
                reads = NearestReads(session, owner_id)
                plan = await choose_plan(
                    reads,
                    space,
                    K,
                    candidates,
                    exclude_image_ids=exclude,
                    limits=limits,
                )
                found = [
                    await nearest(
                        reads,
                        space,
                        query.tolist(),
                        K,
                        candidates,
                        exclude_image_ids=exclude,
                        limits=limits,
                    )
                    for query in queries
                ]
            return found, plan
        finally:
            await ctx.db.dispose()

    return asyncio.run(run())


def _trash(settings: Settings, library: Library, image_ids: Sequence[uuid.UUID]) -> None:
    """Move the library's ``image_ids`` to the trash."""

    async def run() -> None:
        ctx = build_context(settings)
        try:
            async with ctx.db.for_user(library.owner_id) as session:
                await session.execute(
                    update(Image)
                    .where(Image.owner_id == library.owner_id, Image.id.in_(image_ids))
                    .values(trashed_at=library.taken_at(0))
                )
        finally:
            await ctx.db.dispose()

    asyncio.run(run())


def _seed_libraries(settings: Settings, database: ScratchDatabase) -> tuple[Library, Library]:
    """A large user whose space has its HNSW index, and a small one searched exactly."""
    rng = np.random.default_rng(20260101)
    large = seed_library(settings, clustered_vectors(rng, LARGE, DIM))
    small = seed_library(settings, clustered_vectors(rng, SMALL, DIM))
    owner_url = database.cluster.url(OWNER_ROLE, database.name, driver="")
    report = optimize(owner_url, min_vectors=1000)
    assert report.built == ["clip"]
    return large, small


@pytest.fixture(scope="session")
def seeded_libraries(
    pg_cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SeededTemplate[tuple[Library, Library]]]:
    # Seeding and indexing take seconds; every test clones the result instead.
    folder = tmp_path_factory.mktemp("planner")
    with seeded_template(pg_cluster, folder, "planner", _seed_libraries) as template:
        yield template


@pytest.fixture
def database_template(seeded_libraries: SeededTemplate[tuple[Library, Library]]) -> str:
    return seeded_libraries.name


@pytest.fixture
def libraries(
    seeded_libraries: SeededTemplate[tuple[Library, Library]], database: ScratchDatabase
) -> tuple[Library, Library]:
    """The two users of the seeded template, in the test's own clone of it."""
    return seeded_libraries.seeded


def _queries(library: Library, count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(library.vectors), count)
    return [library.vectors[i] + 0.3 * rng.standard_normal(DIM).astype(np.float32) for i in picks]


@pytest.mark.parametrize("share", SELECTIVITIES)
def test_recall_matches_exact_search_for_large_and_small_users(
    settings: Settings, libraries: tuple[Library, Library], share: float
) -> None:
    for library in libraries:
        start, stop = _window(library, share)
        queries = _queries(library, 8, seed=int(share * 1000))
        found, plan = _run_nearest(
            settings, library.owner_id, library.space, queries, _date_filter(library, start, stop)
        )
        hits = total = 0
        for query, neighbors in zip(queries, found, strict=True):
            truth = _exact(library, query, range(start, stop))
            assert len(neighbors) == len(truth) == min(K, stop - start)
            assert [n.distance for n in neighbors] == sorted(n.distance for n in neighbors)
            hits += len({n.image_id for n in neighbors} & set(truth))
            total += len(truth)
        assert hits / total >= 0.99, (library.space.name, share, plan, hits / total)


def test_the_index_path_serves_large_users_and_exact_scans_the_rest(
    settings: Settings, libraries: tuple[Library, Library]
) -> None:
    large, small = libraries
    plans = {
        (name, share): _run_nearest(
            settings, lib.owner_id, lib.space, [], _date_filter(lib, *_window(lib, share))
        )[1].kind
        for name, lib in (("large", large), ("small", small))
        for share in SELECTIVITIES
    }
    assert plans == {
        ("large", 1.0): "index",
        ("large", 0.1): "index",
        ("large", 0.01): "exact",
        ("large", 0.001): "exact",
        ("small", 1.0): "exact",
        ("small", 0.1): "exact",
        ("small", 0.01): "exact",
        ("small", 0.001): "exact",
    }


def test_a_whole_space_is_walked_exactly_up_to_the_walk_limit(
    settings: Settings, libraries: tuple[Library, Library]
) -> None:
    large, _ = libraries
    queries = _queries(large, 4, seed=5)
    found, plan = _run_nearest(settings, large.owner_id, large.space, queries, None)
    assert plan.kind == "exact"
    for query, neighbors in zip(queries, found, strict=True):
        assert {n.image_id for n in neighbors} == set(_exact(large, query, range(LARGE)))
    beyond = PlanLimits(exact_max_candidates=200, exact_max_walk=LARGE - 1)
    _, plan = _run_nearest(settings, large.owner_id, large.space, [], None, limits=beyond)
    assert plan.kind == "index"


def test_never_fewer_than_k_when_the_filter_lies_far_from_the_query(
    settings: Settings, libraries: tuple[Library, Library]
) -> None:
    large, _ = libraries
    query = large.vectors[0]
    # The 600 images farthest from the query: the index window around it holds none.
    farthest = np.argsort(large.vectors @ query)[:600]
    wanted = [large.image_ids[i] for i in farthest]
    candidates = _among(large, wanted)
    found, plan = _run_nearest(settings, large.owner_id, large.space, [query], candidates)
    assert plan.kind == "index"
    assert [n.image_id for n in found[0]] == _exact(large, query, farthest.tolist())


def test_trashed_and_excluded_images_are_never_returned(
    settings: Settings, libraries: tuple[Library, Library]
) -> None:
    large, _ = libraries
    query = large.vectors[7]
    before = _exact(large, query, range(LARGE))
    trashed, excluded = before[:3], before[3:5]

    _trash(settings, large, trashed)
    for candidates in (None, _date_filter(large, 0, LARGE)):
        found, _ = _run_nearest(
            settings, large.owner_id, large.space, [query], candidates, excluded
        )
        ids = [n.image_id for n in found[0]]
        assert len(ids) == K
        assert not set(ids) & set(trashed + excluded)
        assert ids[:5] == before[5:10]


def test_an_exact_scan_driven_by_few_candidates_leaves_out_trashed_and_excluded_ones(
    settings: Settings, libraries: tuple[Library, Library]
) -> None:
    large, _ = libraries
    query = large.vectors[11]
    order = np.argsort(1.0 - large.vectors @ (query / np.linalg.norm(query)), kind="stable")
    nearest_hundred = [large.image_ids[i] for i in order[:100]]
    trashed, excluded = nearest_hundred[:3], nearest_hundred[3:5]

    _trash(settings, large, trashed)
    # 100 candidates, under LIMITS' 200: the exact scan, driven by the candidates.
    candidates = _among(large, nearest_hundred)
    found, plan = _run_nearest(settings, large.owner_id, large.space, [query], candidates, excluded)
    assert plan.kind == "exact"
    assert [n.image_id for n in found[0]] == nearest_hundred[5 : 5 + K]


def test_a_user_never_reaches_another_users_vectors(
    settings: Settings, libraries: tuple[Library, Library]
) -> None:
    large, small = libraries
    found, _ = _run_nearest(settings, small.owner_id, small.space, [large.vectors[0]], None)
    assert {n.image_id for n in found[0]} <= set(small.image_ids)
    # The large user's space asked for under the small user's name: refused ...
    with pytest.raises(NotFound):
        _run_nearest(settings, small.owner_id, large.space, [large.vectors[0]], None)
    # ... and even with the id forged to look like theirs, RLS returns nothing.
    forged = SpaceRef(large.space.id, small.owner_id, "clip", DIM, "cosine")
    found, _ = _run_nearest(settings, small.owner_id, forged, [large.vectors[0]], None)
    assert found == [[]]

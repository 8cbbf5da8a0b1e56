"""The in-memory vector cache: exact answers, kept current by the space's generation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
import pytest
from numpy.typing import NDArray
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.config import Settings
from photostore.db.embedded import EmbeddedCluster
from photostore.db.models import Embedding, EmbeddingChange, Image
from photostore.db.search.filters import Candidates
from photostore.db.search.nearest import NearestReads
from photostore.db.search.reads import VectorReads, parse_copy_binary
from photostore.db.search.spaces import SpaceRepository
from photostore.domain.embeddings import SpaceRef
from photostore.domain.search import SearchFilters, TakenRange
from photostore.provider import build_context
from photostore.search import cache as cache_module
from photostore.search import nearest
from photostore.search import planner as planner_module
from photostore.search.cache import VectorCache
from photostore.search.matrix import SpaceMatrix, patched
from tests.conftest import TEMPLATE, ScratchDatabase, SeededTemplate, seeded_template
from tests.search.library import Library, clustered_vectors, insert_images, seed_library

DIM = 32
K = 10
T = TypeVar("T")


def _in_session(
    settings: Settings,
    owner_id: uuid.UUID,
    work: Callable[[AsyncSession, VectorCache], Awaitable[T]],
) -> T:
    """Run ``work`` in a transaction of ``owner_id``, with the context's vector cache."""

    async def run() -> T:
        ctx = build_context(settings)
        assert ctx.vector_cache is not None
        try:
            async with ctx.db.for_user(owner_id) as session:
                return await work(session, ctx.vector_cache)
        finally:
            await ctx.close()

    return asyncio.run(run())


async def _ask(
    session: AsyncSession,
    cache: VectorCache,
    library: Library,
    query: np.ndarray,
    candidates: Candidates | None = None,
) -> list[uuid.UUID]:
    """The service's way: the space read by name (with its generation), then nearest."""
    space = await SpaceRepository(session, library.owner_id).by_name("clip")
    reads = NearestReads(session, library.owner_id)
    found = await nearest(reads, space, query.tolist(), K, candidates, cache=cache)
    return [n.image_id for n in found]


async def _ask_apart(cache: VectorCache, library: Library, query: np.ndarray) -> list[uuid.UUID]:
    """:func:`_ask` in a transaction of its own, as another request would."""
    async with cache.db.for_user(library.owner_id) as session:
        return await _ask(session, cache, library, query)


async def _change(cache: VectorCache, library: Library, statement: Any) -> None:
    """Run ``statement`` as the library's owner and commit it."""
    async with cache.db.for_user(library.owner_id) as session:
        await session.execute(statement)


def _trash(owner_id: uuid.UUID, image_id: uuid.UUID) -> Any:
    return (
        update(Image)
        .where(Image.owner_id == owner_id, Image.id == image_id)
        .values(trashed_at=Image.uploaded_at)
    )


def _truth(library: Library, query: np.ndarray) -> list[uuid.UUID]:
    return _truth_all(library, query)[:K]


def _truth_all(library: Library, query: np.ndarray) -> list[uuid.UUID]:
    unit = query / np.linalg.norm(query)
    return [library.image_ids[i] for i in np.argsort(1.0 - library.vectors @ unit, kind="stable")]


def _held(cache: VectorCache, key: tuple[uuid.UUID, uuid.UUID]) -> SpaceMatrix:
    matrix = cache.held(*key)
    assert matrix is not None, "the space is not held"
    return matrix


def _seed_library(settings: Settings, database: ScratchDatabase) -> Library:
    return seed_library(settings, clustered_vectors(np.random.default_rng(7), 3000, DIM))


@pytest.fixture(scope="session")
def seeded_library(
    pg_cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SeededTemplate[Library]]:
    folder = tmp_path_factory.mktemp("vector-cache")
    with seeded_template(pg_cluster, folder, "vector_cache", _seed_library) as template:
        yield template


@pytest.fixture
def database_template(request: pytest.FixtureRequest) -> str:
    """Tests that take ``library`` start from a clone of the seeded template; the rest
    from an empty database, as everywhere."""
    if "library" not in request.fixturenames:
        return TEMPLATE
    seeded: SeededTemplate[Library] = request.getfixturevalue("seeded_library")
    return seeded.name


@pytest.fixture
def library(seeded_library: SeededTemplate[Library], database: ScratchDatabase) -> Library:
    """3,000 clustered vectors of one user, in the test's own clone of the template."""
    return seeded_library.seeded


@pytest.fixture
def cached(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"vector_cache_min_vectors": 100, "vector_cache_refresh_seconds": 0}
    )


def test_the_cache_answers_exactly_what_numpy_answers(cached: Settings, library: Library) -> None:
    rng = np.random.default_rng(3)
    queries = [
        library.vectors[i] + 0.3 * rng.standard_normal(DIM).astype(np.float32)
        for i in rng.integers(0, 3000, 12)
    ]
    half = Candidates(
        select(Image.id).where(
            Image.owner_id == library.owner_id, Image.taken_at < library.taken_at(1500)
        )
    )

    async def work(session: AsyncSession, cache: VectorCache) -> list[list[uuid.UUID]]:
        # The first query is answered by PostgreSQL and starts the load; it never waits.
        answers = [await _ask(session, cache, library, queries[0])]
        assert not cache.holds(library.owner_id, library.space.id)
        await cache.settled()
        assert cache.holds(library.owner_id, library.space.id)
        answers += [await _ask(session, cache, library, query) for query in queries]
        answers.append(await _ask(session, cache, library, queries[0], half))
        return answers

    answers = _in_session(cached, library.owner_id, work)
    assert answers[0] == _truth(library, queries[0])
    for query, answer in zip(queries, answers[1:], strict=False):
        assert answer == _truth(library, query)
    first_half = set(library.image_ids[:1500])
    assert answers[-1] == [i for i in _truth_all(library, queries[0]) if i in first_half][:K]


def test_trash_purge_and_new_vectors_show_at_once(cached: Settings, library: Library) -> None:
    query = library.vectors[42]
    owner = library.owner_id

    async def work(session: AsyncSession, cache: VectorCache) -> None:
        await _ask_apart(cache, library, query)
        await cache.settled()
        first = await _ask_apart(cache, library, query)
        assert cache.holds(owner, library.space.id)
        assert first[0] == library.image_ids[42]
        # Trash the nearest: it leaves the answers at once (the log names it).
        await _change(cache, library, _trash(owner, first[0]))
        assert first[0] not in await _ask_apart(cache, library, query)
        # Purge the second: its vector goes by cascade and the generation moves; the next
        # query is answered with the change log, the one after the reload without it.
        await _change(
            cache, library, delete(Image).where(Image.owner_id == owner, Image.id == first[1])
        )
        for _ in range(2):
            after_purge = await _ask_apart(cache, library, query)
            assert first[1] not in after_purge
            assert len(after_purge) == K
            await cache.settled()
        # Move a far image's vector onto the query: it becomes the nearest at once.
        far = library.image_ids[2999]
        await _change(
            cache,
            library,
            update(Embedding)
            .where(Embedding.owner_id == owner, Embedding.image_id == far)
            .values(embedding=(query / np.linalg.norm(query)).tolist()),
        )
        assert (await _ask_apart(cache, library, query))[0] == far
        await cache.settled()
        assert (await _ask_apart(cache, library, query))[0] == far

    _in_session(cached, owner, work)


def test_uncommitted_changes_of_the_caller_are_seen(cached: Settings, library: Library) -> None:
    """The caller's own transaction moved the generation: the matrix cannot answer it."""
    owner = library.owner_id
    query = library.vectors[7]

    async def work(session: AsyncSession, cache: VectorCache) -> None:
        await _ask(session, cache, library, query)
        await cache.settled()
        await session.execute(
            delete(Embedding).where(
                Embedding.owner_id == owner, Embedding.image_id == library.image_ids[7]
            )
        )
        assert library.image_ids[7] not in await _ask(session, cache, library, query)

    _in_session(cached, owner, work)


def test_a_changed_space_reloads_at_most_once_per_interval(
    cached: Settings, library: Library
) -> None:
    owner = library.owner_id
    key = (owner, library.space.id)
    now = [1000.0]

    async def work(session: AsyncSession, cache: VectorCache) -> None:
        cache.clock = lambda: now[0]
        cache.refresh_seconds = 60
        await _ask_apart(cache, library, library.vectors[0])
        await cache.settled()
        loaded = _held(cache, key)
        async with cache.db.for_user(owner) as other:
            await other.execute(
                delete(Embedding).where(
                    Embedding.owner_id == owner, Embedding.image_id == library.image_ids[0]
                )
            )
        assert library.image_ids[0] not in await _ask_apart(cache, library, library.vectors[0])
        await cache.settled()
        assert _held(cache, key) is loaded  # too soon to load again
        now[0] += 61
        assert library.image_ids[0] not in await _ask_apart(cache, library, library.vectors[0])
        await cache.settled()
        assert _held(cache, key).generation > loaded.generation
        assert library.image_ids[0] not in await _ask_apart(cache, library, library.vectors[0])

    _in_session(cached, owner, work)


def test_each_owner_has_their_own_matrix(cached: Settings, settings: Settings) -> None:
    rng = np.random.default_rng(11)
    alice = seed_library(settings, clustered_vectors(rng, 500, DIM))
    bob = seed_library(settings, clustered_vectors(rng, 500, DIM))

    def answers(library: Library) -> set[uuid.UUID]:
        async def work(session: AsyncSession, cache: VectorCache) -> set[uuid.UUID]:
            await _ask(session, cache, library, alice.vectors[0])
            await cache.settled()
            assert cache.holds(library.owner_id, library.space.id)
            return set(await _ask(session, cache, library, alice.vectors[0]))

        return _in_session(cached, library.owner_id, work)

    assert answers(alice) <= set(alice.image_ids)
    assert answers(bob) <= set(bob.image_ids)


def test_small_spaces_and_a_full_budget_stay_in_postgresql(
    settings: Settings, library: Library, caplog: pytest.LogCaptureFixture
) -> None:
    too_small = settings.model_copy(update={"vector_cache_min_vectors": 10_000})
    # 300 vectors of 1,024 floats: 1.2 MiB, over a budget of 1 MiB.
    big = seed_library(settings, clustered_vectors(np.random.default_rng(5), 300, 1024))
    too_big = settings.model_copy(update={"vector_cache_min_vectors": 1, "vector_cache_mb": 1})

    def check(config: Settings, lib: Library, index: int) -> None:
        async def work(session: AsyncSession, cache: VectorCache) -> None:
            for _ in range(2):
                found = await _ask(session, cache, lib, lib.vectors[index])
                assert found[0] == lib.image_ids[index]
                await cache.settled()
                assert cache.used_bytes == 0

        _in_session(config, lib.owner_id, work)

    def over_budget_warnings() -> list[str]:
        messages = [record.getMessage() for record in caplog.records]
        return [m for m in messages if "more than the vector cache" in m]

    caplog.set_level(logging.WARNING, logger="photostore.search.cache")
    check(too_small, library, 5)
    assert over_budget_warnings() == []  # small spaces belong in PostgreSQL: nothing to say
    check(too_big, big, 5)
    # Said once per space and process, with what to change.
    (warning,) = over_budget_warnings()
    assert str(big.space.id) in warning
    assert "300 vectors" in warning
    assert "PHOTOSTORE_VECTOR_CACHE_MB" in warning


def test_the_least_recently_used_space_leaves_a_full_budget(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # Three spaces of 400 vectors of 256 floats, about 430 KiB each: two fit in 1 MiB.
    config = settings.model_copy(update={"vector_cache_min_vectors": 100, "vector_cache_mb": 1})
    rng = np.random.default_rng(29)
    first, second, third = (
        seed_library(settings, clustered_vectors(rng, 400, 256)) for _ in range(3)
    )
    caplog.set_level(logging.WARNING, logger="photostore.search.cache")

    async def run() -> list[tuple[bool, ...]]:
        ctx = build_context(config)
        cache = ctx.vector_cache
        assert cache is not None
        held = []

        async def ask(library: Library) -> None:
            query = library.vectors[7]
            assert await _ask_apart(cache, library, query) == _truth(library, query)
            await cache.settled()
            held.append(
                tuple(cache.holds(lib.owner_id, lib.space.id) for lib in (first, second, third))
            )
            assert cache.used_bytes <= cache.budget_bytes

        try:
            for library in (first, second, first, third, second, third):
                await ask(library)
        finally:
            await ctx.close()
        return held

    held = asyncio.run(run())
    assert held == [
        (True, False, False),
        (True, True, False),
        (True, True, False),  # the first is now the most recently used...
        (True, False, True),  # ...so the second leaves for the third
        (False, True, True),  # the evicted space still answers, and loads again
        (False, True, True),
    ]
    evictions = [r.getMessage() for r in caplog.records if "evicted" in r.getMessage()]
    assert len(evictions) == 1  # two evictions, one line in ten minutes
    assert "PHOTOSTORE_VECTOR_CACHE_MB" in evictions[0]


def test_vector_counts_follow_every_change(cached: Settings, library: Library) -> None:
    owner = library.owner_id

    async def work(session: AsyncSession, cache: VectorCache) -> None:
        async def counted() -> tuple[int, int]:
            space = await SpaceRepository(session, owner).by_name("clip")
            actual = await session.scalar(
                select(func.count()).where(
                    Embedding.owner_id == owner, Embedding.space_id == space.id
                )
            )
            assert space.vectors is not None
            return space.vectors, actual or 0

        assert await counted() == (3000, 3000)
        await session.execute(delete(Image).where(Image.id.in_(library.image_ids[:10])))
        assert await counted() == (2990, 2990)
        await session.execute(
            update(Embedding)
            .where(Embedding.owner_id == owner, Embedding.image_id == library.image_ids[20])
            .values(embedding=library.vectors[21].tolist())
        )
        assert await counted() == (2990, 2990)
        await session.execute(
            delete(Embedding).where(
                Embedding.owner_id == owner, Embedding.image_id.in_(library.image_ids[30:35])
            )
        )
        assert await counted() == (2985, 2985)

    _in_session(cached, owner, work)


def test_copy_rows_parse_with_ids_ending_in_zero_bytes() -> None:
    ids = [uuid.UUID(bytes=b"\x01" * 15 + b"\x00"), uuid.UUID(bytes=b"\x00" * 16)]
    vectors = np.array([[1.0, 2.0], [3.0, -4.0]], dtype=np.float32)
    data = bytearray(b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8)
    taken = [700_000_000_000_000, 600_000_000_000_000]  # microseconds since 2000
    for image_id, vector, micros in zip(ids, vectors, taken, strict=True):
        data += (3).to_bytes(2, "big") + (16).to_bytes(4, "big") + image_id.bytes
        data += (4 + 8).to_bytes(4, "big") + (2).to_bytes(2, "big") + b"\x00\x00"
        data += vector.astype(">f4").tobytes()
        data += (8).to_bytes(4, "big") + micros.to_bytes(8, "big", signed=True)
    data += b"\xff\xff"
    parsed_ids, parsed, parsed_taken = parse_copy_binary(bytes(data), 2)
    np.testing.assert_array_equal(parsed, vectors)
    assert parsed_taken.tolist() == taken
    matrix = SpaceMatrix.build(1, "l2", parsed_ids, parsed, parsed_taken)
    found = matrix.nearest_rows(
        np.array([3.0, -4.0], dtype=np.float32), 2, None, np.empty(0, dtype=np.intp)
    )
    assert [image_id for image_id, _ in found] == [ids[1], ids[0]]
    assert found[0][1] == pytest.approx(0.0)
    assert found[1][1] == pytest.approx(float(np.linalg.norm(vectors[0] - vectors[1])))
    # Rows are in date order: the second image was taken first.
    assert list(matrix.rows_of(np.array([ids[0].bytes], dtype="S16"))) == [1]


def test_ids_sharing_their_low_bytes_are_still_told_apart() -> None:
    low = b"\x07" * 8
    ids = [uuid.UUID(bytes=b"\x01" * 8 + low), uuid.UUID(bytes=b"\x02" * 8 + low)]
    packed = np.array([i.bytes for i in ids], dtype="S16")
    matrix = SpaceMatrix.build(1, "ip", packed, np.eye(2, dtype=np.float32), np.zeros(2, np.int64))
    assert matrix.sorted_keys is None  # the fast path needs unique keys
    assert list(matrix.rows_of(packed[::-1])) == [1, 0]
    unknown = np.array([uuid.UUID(bytes=b"\x03" * 8 + low).bytes], dtype="S16")
    assert list(matrix.rows_of(unknown)) == []


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_close_and_scattered_rows_give_the_same_distances(metric: str) -> None:
    """Rows close together are scanned in place, scattered ones gathered: same values."""
    rng = np.random.default_rng(2)
    vectors = rng.standard_normal((5000, 16)).astype(np.float32)
    ids = np.array([uuid.uuid4().bytes for _ in range(5000)], dtype="S16")
    taken = np.arange(5000, dtype=np.int64)
    matrix = SpaceMatrix.build(1, metric, ids, vectors, taken)  # type: ignore[arg-type]
    query = rng.standard_normal(16).astype(np.float32)
    close = np.arange(1000, 1400, dtype=np.intp)[::2]
    scattered = np.sort(rng.choice(5000, 300, replace=False)).astype(np.intp)
    for rows in (close, scattered, np.empty(0, dtype=np.intp)):
        picked = vectors[rows]
        expected = np.linalg.norm(picked - query, axis=1) if metric == "l2" else -(picked @ query)
        np.testing.assert_allclose(
            matrix.raw_distances(query, rows), expected, rtol=1e-4, atol=1e-4
        )


def test_a_date_range_alone_is_applied_in_memory(
    cached: Settings, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = library.owner_id
    query = library.vectors[42]  # image 42 is outside the range until it is moved in
    taken = TakenRange(library.taken_at(1000), library.taken_at(1300))
    in_range = Candidates(
        select(Image.id).where(
            Image.owner_id == owner,
            Image.trashed_at.is_(None),
            Image.taken_at >= taken.after,
            Image.taken_at < taken.before,
        )
    )

    async def ask(cache: VectorCache) -> list[uuid.UUID]:
        async with cache.db.for_user(owner) as session:
            space = await SpaceRepository(session, owner).by_name("clip")
            reads = NearestReads(session, owner)
            found = await nearest(
                reads, space, query.tolist(), K, in_range, cache=cache, taken=taken
            )
            return [n.image_id for n in found]

    def expected(live: set[uuid.UUID]) -> list[uuid.UUID]:
        return [i for i in _truth_all(library, query) if i in live][:K]

    window = set(library.image_ids[1000:1300])

    async def work(session: AsyncSession, cache: VectorCache) -> None:
        assert await ask(cache) == expected(window)  # PostgreSQL, while the cache loads
        await cache.settled()

        def no_list(*args: Any) -> None:
            raise AssertionError("the candidates were listed instead of selected in memory")

        monkeypatch.setattr(NearestReads, "packed_candidates", no_list)
        first = await ask(cache)
        assert first == expected(window)
        # Trashed images stay out of a date range too.
        await _change(cache, library, _trash(owner, first[0]))
        assert await ask(cache) == expected(window - {first[0]})
        # A photo whose date moves into the range shows at once, then from memory.
        await _change(
            cache,
            library,
            update(Image)
            .where(Image.owner_id == owner, Image.id == library.image_ids[42])
            .values(taken_at=library.taken_at(1100)),
        )
        monkeypatch.undo()
        moved_in = await ask(cache)
        assert moved_in[0] == library.image_ids[42]
        await cache.settled()
        monkeypatch.setattr(NearestReads, "packed_candidates", no_list)
        assert await ask(cache) == moved_in

    _in_session(cached, owner, work)


def test_only_a_zoned_date_range_alone_is_taken_as_one() -> None:
    after = datetime(2024, 1, 1, tzinfo=UTC)
    before = datetime(2024, 2, 1, tzinfo=UTC)
    assert SearchFilters(taken_after=after).taken_range_only == TakenRange(after, None)
    assert SearchFilters(taken_after=after, taken_before=before).taken_range_only == TakenRange(
        after, before
    )
    assert SearchFilters().taken_range_only is None
    assert SearchFilters(taken_after=after, tags=("x",)).taken_range_only is None
    assert SearchFilters(taken_before=before, favorite=True).taken_range_only is None
    assert SearchFilters(taken_after=datetime(2024, 1, 1)).taken_range_only is None


def test_at_most_two_spaces_load_at_once(cached: Settings, settings: Settings) -> None:
    rng = np.random.default_rng(13)
    libraries = [seed_library(settings, clustered_vectors(rng, 200, DIM)) for _ in range(3)]

    async def run() -> None:
        ctx = build_context(cached)
        cache = ctx.vector_cache
        assert cache is not None
        try:
            spaces = []
            for library in libraries:
                async with ctx.db.for_user(library.owner_id) as session:
                    spaces.append(await SpaceRepository(session, library.owner_id).by_name("clip"))
            async with ctx.db.for_user(libraries[0].owner_id) as session:
                # The spaces carry their generation and size: asking does not suspend,
                # so no load starts before all three were asked for.
                for space in spaces:
                    assert await cache.matrix(VectorReads(session), space) is None
            assert cache.loads_under_way == 2
            await cache.settled()
            held = [cache.holds(s.owner_id, s.id) for s in spaces]
            assert held == [True, True, False]
            async with ctx.db.for_user(libraries[2].owner_id) as session:
                assert (
                    await cache.matrix(VectorReads(session), spaces[2]) is None
                )  # asked for again
            await cache.settled()
            assert cache.holds(spaces[2].owner_id, spaces[2].id)
        finally:
            await ctx.close()

    asyncio.run(run())


async def _add_images(
    session: AsyncSession, library: Library, vectors: np.ndarray
) -> list[uuid.UUID]:
    """New images of the library's owner, one per row of ``vectors``, in one statement each."""
    owner = library.owner_id
    ids = [uuid.uuid4() for _ in range(len(vectors))]
    await insert_images(session, owner, ids, [library.taken_at(10)] * len(ids))
    # One INSERT ... VALUES for all rows: one statement, as a bulk write would be.
    await session.execute(
        insert(Embedding).values(
            [
                {
                    "owner_id": owner,
                    "space_id": library.space.id,
                    "image_id": image_id,
                    "embedding": (v / np.linalg.norm(v)).tolist(),
                }
                for image_id, v in zip(ids, vectors, strict=True)
            ]
        )
    )
    return ids


def test_writes_after_a_load_are_answered_from_the_matrix_and_the_log(
    cached: Settings, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = library.owner_id
    query = library.vectors[500]
    live = set(library.image_ids)

    async def work(session: AsyncSession, cache: VectorCache) -> None:
        await _ask_apart(cache, library, query)
        await cache.settled()
        cache.refresh_seconds = 3600  # no reload: every answer below needs the log

        def no_planner(*args: Any) -> None:
            raise AssertionError("answered by the planner, not by the matrix and the log")

        monkeypatch.setattr(planner_module, "_plan", no_planner)
        async with cache.db.for_user(owner) as writer:
            (added,) = await _add_images(writer, library, query[None, :])
        assert (await _ask_apart(cache, library, query))[0] == added
        async with cache.db.for_user(owner) as writer:
            await writer.execute(
                delete(Embedding).where(Embedding.owner_id == owner, Embedding.image_id == added)
            )
            # The nearest library image moves far away; a far one moves onto the query.
            nearest_now = _truth(library, query)[0]
            far = library.image_ids[2999]
            for image_id, vector in ((nearest_now, -query), (far, query)):
                await writer.execute(
                    update(Embedding)
                    .where(Embedding.owner_id == owner, Embedding.image_id == image_id)
                    .values(embedding=(vector / np.linalg.norm(vector)).tolist())
                )
        found = await _ask_apart(cache, library, query)
        assert added not in found
        assert found[0] == far
        assert nearest_now not in found
        assert (
            found[1:]
            == [i for i in _truth_all(library, query) if i in live - {nearest_now}][: K - 1]
        )

    _in_session(cached, owner, work)


def test_a_bulk_write_sends_queries_to_the_planner_until_the_reload(
    cached: Settings, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = library.owner_id
    rng = np.random.default_rng(17)
    query = library.vectors[9]
    planned: list[int] = []
    plan = planner_module._plan

    async def counting_plan(*args: Any, **kwargs: Any) -> Any:
        planned.append(1)
        return await plan(*args, **kwargs)

    async def work(session: AsyncSession, cache: VectorCache) -> None:
        await _ask_apart(cache, library, query)
        await cache.settled()
        cache.refresh_seconds = 3600
        monkeypatch.setattr(planner_module, "_plan", counting_plan)
        async with cache.db.for_user(owner) as writer:
            bulk = rng.standard_normal((1001, DIM)).astype(np.float32)
            bulk[0] = query
            added = await _add_images(writer, library, bulk)
        assert (await _ask_apart(cache, library, query))[0] in {added[0], library.image_ids[9]}
        assert planned == [1]  # more changed than the log holds: the planner answered
        await cache.settled()  # reloaded at once, whatever the interval
        assert (await _ask_apart(cache, library, query))[0] in {added[0], library.image_ids[9]}
        assert planned == [1]

    _in_session(cached, owner, work)


def test_the_log_keeps_the_last_thousand_generations(cached: Settings, library: Library) -> None:
    owner = library.owner_id

    async def work(session: AsyncSession, cache: VectorCache) -> None:
        for n in range(1005):
            await session.execute(
                update(Embedding)
                .where(Embedding.owner_id == owner, Embedding.image_id == library.image_ids[n])
                .values(embedding=library.vectors[n + 1].tolist())
            )
        space = await SpaceRepository(session, owner).by_name("clip")
        assert space.generation is not None
        rows = (
            await session.execute(
                select(EmbeddingChange.generation, EmbeddingChange.image_ids).where(
                    EmbeddingChange.owner_id == owner
                )
            )
        ).all()
        # One row a statement; the generations of the last thousand statements kept.
        assert len(rows) == 1000
        assert min(g for g, _ in rows) == space.generation - 999
        newest = max(rows)
        assert newest == (space.generation, [library.image_ids[1004]])

    _in_session(cached, owner, work)


class _RolledBack(Exception):
    """Ends a unit of work with a rollback."""


def test_an_overlay_read_by_a_writing_transaction_is_not_shared(
    cached: Settings, library: Library
) -> None:
    """A rolled-back write's generation number comes back with other content."""
    owner = library.owner_id
    noise = np.random.default_rng(19).standard_normal(DIM).astype(np.float32)
    query = library.vectors[77] + 0.5 * noise  # near no image exactly
    moved, other = library.image_ids[1200], library.image_ids[1300]

    async def move_onto_query(session: AsyncSession, image_id: uuid.UUID) -> None:
        await session.execute(
            update(Embedding)
            .where(Embedding.owner_id == owner, Embedding.image_id == image_id)
            .values(embedding=(query / np.linalg.norm(query)).tolist())
        )

    async def work(session: AsyncSession, cache: VectorCache) -> None:
        cache.refresh_seconds = 3600
        async with cache.db.for_user(owner) as reader:
            await _ask(reader, cache, library, query)
        await cache.settled()
        with contextlib.suppress(_RolledBack):
            async with cache.db.for_user(owner) as writer:
                await move_onto_query(writer, moved)
                assert (await _ask(writer, cache, library, query))[0] == moved
                raise _RolledBack
        async with cache.db.for_user(owner) as other_writer:
            await move_onto_query(other_writer, other)  # the same generation number
        async with cache.db.for_user(owner) as reader:
            found = await _ask(reader, cache, library, query)
        assert found[0] == other
        assert moved not in found[:2]

    _in_session(cached, owner, work)


def test_trash_and_restore_reach_the_matrix_without_a_statement_of_their_own(
    cached: Settings, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The matrix holds live images only: leaving or entering the trash moves the
    generation and is logged like a changed vector (a trigger on ``images``), so a query
    without filters reads no list of trashed ids, before and after the reload."""
    owner = library.owner_id
    query = library.vectors[42]

    def forbidden(*args: Any) -> None:
        raise AssertionError("answered by the planner or with a list of image ids")

    def restore(image_id: uuid.UUID) -> Any:
        return (
            update(Image)
            .where(Image.owner_id == owner, Image.id == image_id)
            .values(trashed_at=None)
        )

    async def work(session: AsyncSession, cache: VectorCache) -> None:
        await _ask_apart(cache, library, query)
        await cache.settled()
        cache.refresh_seconds = 3600  # answers from the matrix and the log only
        monkeypatch.setattr(planner_module, "_plan", forbidden)
        monkeypatch.setattr(NearestReads, "packed_candidates", forbidden)
        first = await _ask_apart(cache, library, query)
        assert first == _truth(library, query)
        await _change(cache, library, _trash(owner, first[0]))
        await _change(cache, library, _trash(owner, first[2]))
        expected = [i for i in _truth_all(library, query) if i not in {first[0], first[2]}][:K]
        assert await _ask_apart(cache, library, query) == expected
        await _change(cache, library, restore(first[0]))
        expected = [i for i in _truth_all(library, query) if i != first[2]][:K]
        assert await _ask_apart(cache, library, query) == expected
        # Reloaded at the current generation, the matrix itself leaves the trash out.
        cache.refresh_seconds = 0
        monkeypatch.undo()
        await _ask_apart(cache, library, query)
        await cache.settled()
        monkeypatch.setattr(planner_module, "_plan", forbidden)
        monkeypatch.setattr(NearestReads, "packed_candidates", forbidden)
        space = await SpaceRepository(session, owner).by_name("clip")
        held = _held(cache, (owner, library.space.id))
        assert held.generation == space.generation
        assert len(held.image_ids) == len(library.image_ids) - 1
        assert await _ask_apart(cache, library, query) == expected

    _in_session(cached, owner, work)


def _assert_same_rows(ours: SpaceMatrix, theirs: SpaceMatrix) -> None:
    """The same rows, each image with the same vector, date and norm, in date order
    (photos taken at the same moment may come in either order)."""
    assert np.array_equal(ours.taken_at, theirs.taken_at)
    assert np.array_equal(ours.sorted_ids, theirs.sorted_ids)
    for name in ("vectors", "taken_at", "squared_norms"):
        mine, other = getattr(ours, name), getattr(theirs, name)
        assert np.array_equal(mine[ours.sorted_rows], other[theirs.sorted_rows]), name


def test_an_update_folds_the_overlay_into_the_matrix_without_reading_the_space(
    cached: Settings, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After writes the log answers for, the matrix is brought up to date from itself
    and the overlay: the result holds exactly what a full read gives."""
    owner = library.owner_id
    key = (owner, library.space.id)
    query = library.vectors[300]

    copy = VectorReads.copy

    async def changed_rows_only(
        reads: VectorReads, space: SpaceRef, only: NDArray[np.bytes_] | None = None
    ) -> bytearray:
        if only is None:
            raise AssertionError("the whole space was read again")
        return await copy(reads, space, only=only)

    async def work(session: AsyncSession, cache: VectorCache) -> None:
        await _ask_apart(cache, library, query)
        await cache.settled()
        cache.refresh_seconds = 3600
        truth = _truth(library, query)
        moved_far, moved_near = truth[0], library.image_ids[2500]
        async with cache.db.for_user(owner) as writer:
            (added,) = await _add_images(writer, library, query[None, :])
            for image_id, vector in ((moved_far, -query), (moved_near, query)):
                await writer.execute(
                    update(Embedding)
                    .where(Embedding.owner_id == owner, Embedding.image_id == image_id)
                    .values(embedding=(vector / np.linalg.norm(vector)).tolist())
                )
            await writer.execute(_trash(owner, truth[1]))
        before = await _ask_apart(cache, library, query)  # the log answers, the overlay is kept
        monkeypatch.setattr(VectorReads, "copy", changed_rows_only)
        cache.refresh_seconds = 0
        assert await _ask_apart(cache, library, query) == before  # and schedules the update
        await cache.settled()
        space = await SpaceRepository(session, owner).by_name("clip")
        folded = _held(cache, key)
        assert folded.generation == space.generation
        assert await _ask_apart(cache, library, query) == before
        assert set(before[:2]) == {added, moved_near}
        assert moved_far not in before and truth[1] not in before
        monkeypatch.undo()
        read = await cache.read_space(space)
        assert read is not None
        _assert_same_rows(folded, read)

    _in_session(cached, owner, work)


@pytest.mark.parametrize("held_rows", [340, 0])
def test_folding_gives_the_rows_a_rebuild_gives(held_rows: int) -> None:
    """Changed, removed and new rows, dates shared by many rows; also a matrix whose
    every row changed."""
    rng = np.random.default_rng(23)
    ids = np.frombuffer(rng.bytes(16 * 400), dtype="S16")
    vectors = rng.standard_normal((400, DIM)).astype(np.float32)
    taken = rng.integers(0, 40, 400)  # about ten photos a moment
    held = SpaceMatrix.build(1, "l2", ids, vectors, taken)
    changed = rng.choice(400, 60, replace=False) if held_rows else np.arange(400)
    new_ids = np.frombuffer(rng.bytes(16 * 20), dtype="S16")
    rewritten = ids[changed[: len(changed) // 2]]  # the other half left the space
    current_ids = np.concatenate([rewritten, new_ids])
    current = SpaceMatrix.build(
        5,
        "l2",
        current_ids,
        rng.standard_normal((len(current_ids), DIM)).astype(np.float32),
        rng.integers(0, 40, len(current_ids)),
    )
    folded = patched(held, np.concatenate([ids[changed], new_ids]), current, 5)
    kept = ~np.isin(ids, ids[changed])
    rebuilt = SpaceMatrix.build(
        5,
        "l2",
        np.concatenate([ids[kept], current.image_ids]),
        np.concatenate([vectors[kept], current.vectors]),
        np.concatenate([taken[kept], current.taken_at]),
    )
    assert folded.generation == 5
    _assert_same_rows(folded, rebuilt)


async def _loop_turns_during(work: Awaitable[T]) -> tuple[T, int]:
    """``work``'s result, and how often the event loop ran other tasks before it ended."""
    turns = 0
    done = False

    async def ticker() -> None:
        nonlocal turns
        while not done:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker's first turn, before the work starts
    turns = 0
    try:
        result = await work
        return result, turns
    finally:
        done = True
        await task


@pytest.mark.parametrize(
    ("rows", "select", "off_loop"),
    [
        (20_000, "all", True),
        (2_000, "all", False),
        (20_000, "listed", True),  # 6,000 listed ids: looked up and gathered
        (20_000, "taken", True),  # a date range of 18,000 rows
        (20_000, "few taken", False),  # a date range of 3,000 rows
    ],
)
def test_a_long_scan_leaves_the_event_loop_to_other_requests(
    rows: int, select: str, off_loop: bool
) -> None:
    dim = 512
    rng = np.random.default_rng(9)
    vectors = rng.standard_normal((rows, dim)).astype(np.float32)
    ids = np.array([uuid.UUID(int=i + 1).bytes for i in range(rows)], dtype="S16")
    micros = np.arange(rows, dtype=np.int64) * 1_000_000
    matrix = SpaceMatrix.build(1, "l2", ids, vectors, micros)
    cached = cache_module.CachedSpace(matrix, np.empty(0, dtype="S16"))
    query = rng.standard_normal(dim).astype(np.float32)
    distances = np.linalg.norm(vectors - query, axis=1)
    skipped = np.array([ids[int(np.argmin(distances))]], "S16")
    listed, taken, chosen = None, None, np.ones(rows, dtype=bool)
    if select == "listed":
        chosen = np.isin(np.arange(rows), rng.choice(rows, 6_000, replace=False))
        listed = ids[chosen]
    elif select != "all":
        low, high = (1_000, 19_000) if select == "taken" else (5_000, 8_000)
        epoch = datetime(2000, 1, 1, tzinfo=UTC)
        taken = TakenRange(
            after=epoch + timedelta(seconds=low), before=epoch + timedelta(seconds=high)
        )
        chosen = (np.arange(rows) >= low) & (np.arange(rows) < high)
    assert (matrix.scan_floats(listed, taken) > cache_module.OFFLOAD_FLOATS) == off_loop

    found, turns = asyncio.run(
        _loop_turns_during(cached.nearest(query, K, listed=listed, taken=taken, skipped=skipped))
    )

    # Off the loop, other tasks ran while the scan did; on it, none could.
    assert (turns > 0) == off_loop
    distances[~chosen | np.isin(ids, skipped)] = np.inf
    expected = [uuid.UUID(bytes=bytes(ids[i])) for i in np.argsort(distances)[:K]]
    assert [image_id for image_id, _ in found] == expected
    np.testing.assert_allclose(
        [raw for _, raw in found], np.sort(distances)[:K], rtol=1e-4, atol=1e-4
    )

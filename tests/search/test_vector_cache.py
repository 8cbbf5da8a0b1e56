"""The in-memory vector cache: exact answers, kept current by the space's generation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import numpy as np
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.app import build_context
from photostore.config import Settings
from photostore.db.models import Embedding, Image
from photostore.search import nearest
from photostore.search.cache import SpaceMatrix, VectorCache, parse_copy_binary
from photostore.services.context import ServiceContext
from tests.search.library import Library, clustered_vectors, seed_library

DIM = 32
K = 10
T = TypeVar("T")


def _in_session(
    settings: Settings,
    owner_id: uuid.UUID,
    work: Callable[[AsyncSession, ServiceContext], Awaitable[T]],
) -> T:
    async def run() -> T:
        ctx = build_context(settings)
        try:
            async with ctx.db.for_user(owner_id) as session:
                return await work(session, ctx)
        finally:
            await ctx.close()

    return asyncio.run(run())


def _truth(library: Library, query: np.ndarray) -> list[uuid.UUID]:
    return _truth_all(library, query)[:K]


@pytest.fixture
def library(settings: Settings) -> Library:
    return seed_library(settings, clustered_vectors(np.random.default_rng(7), 3000, DIM))


@pytest.fixture
def cached(settings: Settings) -> Settings:
    return settings.model_copy(update={"vector_cache_min_vectors": 100})


def test_the_cache_answers_exactly_what_numpy_answers(cached: Settings, library: Library) -> None:
    rng = np.random.default_rng(3)
    queries = [
        library.vectors[i] + 0.3 * rng.standard_normal(DIM).astype(np.float32)
        for i in rng.integers(0, 3000, 12)
    ]
    cache = VectorCache(64 * 1024 * 1024, min_vectors=100)

    async def work(session: AsyncSession, ctx: ServiceContext) -> list[list[uuid.UUID]]:
        answers = []
        for query in queries:
            found = await nearest(
                session, library.owner_id, library.space, query.tolist(), K, cache=cache
            )
            answers.append([n.image_id for n in found])
        half = select(Image.id).where(
            Image.owner_id == library.owner_id, Image.taken_at < library.taken_at(1500)
        )
        found = await nearest(
            session, library.owner_id, library.space, queries[0].tolist(), K, half, cache=cache
        )
        answers.append([n.image_id for n in found])
        return answers

    answers = _in_session(cached, library.owner_id, work)
    for query, answer in zip(queries, answers, strict=False):
        assert answer == _truth(library, query)
    first_half = set(library.image_ids[:1500])
    assert answers[-1] == [i for i in _truth_all(library, queries[0]) if i in first_half][:K]
    assert cache.used_bytes > 3000 * DIM * 4


def _truth_all(library: Library, query: np.ndarray) -> list[uuid.UUID]:
    unit = query / np.linalg.norm(query)
    return [library.image_ids[i] for i in np.argsort(1.0 - library.vectors @ unit, kind="stable")]


def test_trash_purge_and_new_vectors_show_at_once(cached: Settings, library: Library) -> None:
    cache = VectorCache(64 * 1024 * 1024, min_vectors=100)
    query = library.vectors[42]
    owner = library.owner_id

    async def ask(session: AsyncSession) -> list[uuid.UUID]:
        found = await nearest(session, owner, library.space, query.tolist(), K, cache=cache)
        return [n.image_id for n in found]

    async def work(session: AsyncSession, ctx: ServiceContext) -> None:
        first = await ask(session)
        assert first[0] == library.image_ids[42]
        # Trash the nearest: liveness is asked of the database on every query.
        await session.execute(
            update(Image)
            .where(Image.owner_id == owner, Image.id == first[0])
            .values(trashed_at=Image.uploaded_at)
        )
        assert first[0] not in await ask(session)
        # Purge the second: its vector goes by cascade and the generation moves.
        await session.execute(delete(Image).where(Image.owner_id == owner, Image.id == first[1]))
        after_purge = await ask(session)
        assert first[1] not in after_purge
        assert len(after_purge) == K
        # Move a far image's vector onto the query: it becomes the nearest.
        far = library.image_ids[2999]
        await session.execute(
            update(Embedding)
            .where(Embedding.owner_id == owner, Embedding.image_id == far)
            .values(embedding=(query / np.linalg.norm(query)).tolist())
        )
        assert (await ask(session))[0] == far

    _in_session(cached, owner, work)


def test_each_owner_has_their_own_matrix(cached: Settings, settings: Settings) -> None:
    rng = np.random.default_rng(11)
    alice = seed_library(settings, clustered_vectors(rng, 500, DIM))
    bob = seed_library(settings, clustered_vectors(rng, 500, DIM))
    cache = VectorCache(64 * 1024 * 1024, min_vectors=100)

    async def ask(session: AsyncSession, library: Library) -> set[uuid.UUID]:
        found = await nearest(
            session, library.owner_id, library.space, alice.vectors[0].tolist(), K, cache=cache
        )
        return {n.image_id for n in found}

    async def as_alice(session: AsyncSession, ctx: ServiceContext) -> set[uuid.UUID]:
        return await ask(session, alice)

    async def as_bob(session: AsyncSession, ctx: ServiceContext) -> set[uuid.UUID]:
        return await ask(session, bob)

    assert _in_session(cached, alice.owner_id, as_alice) <= set(alice.image_ids)
    assert _in_session(cached, bob.owner_id, as_bob) <= set(bob.image_ids)


def test_small_spaces_and_a_full_budget_stay_in_postgresql(
    settings: Settings, library: Library
) -> None:
    too_small = VectorCache(64 * 1024 * 1024, min_vectors=10_000)
    too_big = VectorCache(1024, min_vectors=1)

    async def work(session: AsyncSession, ctx: ServiceContext) -> None:
        for cache in (too_small, too_big):
            found = await nearest(
                session,
                library.owner_id,
                library.space,
                library.vectors[5].tolist(),
                K,
                cache=cache,
            )
            assert found[0].image_id == library.image_ids[5]
            assert cache.used_bytes == 0

    _in_session(settings, library.owner_id, work)


def test_copy_rows_parse_with_ids_ending_in_zero_bytes() -> None:
    ids = [uuid.UUID(bytes=b"\x01" * 15 + b"\x00"), uuid.UUID(bytes=b"\x00" * 16)]
    vectors = np.array([[1.0, 2.0], [3.0, -4.0]], dtype=np.float32)
    data = bytearray(b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8)
    for image_id, vector in zip(ids, vectors, strict=True):
        data += (2).to_bytes(2, "big") + (16).to_bytes(4, "big") + image_id.bytes
        data += (4 + 8).to_bytes(4, "big") + (2).to_bytes(2, "big") + b"\x00\x00"
        data += vector.astype(">f4").tobytes()
    data += b"\xff\xff"
    parsed_ids, parsed = parse_copy_binary(bytes(data), 2)
    np.testing.assert_array_equal(parsed, vectors)
    matrix = SpaceMatrix.build(1, "l2", parsed_ids, parsed)
    found = matrix.nearest_rows(
        np.array([3.0, -4.0], dtype=np.float32), 2, None, np.empty(0, dtype=np.intp)
    )
    assert [image_id for image_id, _ in found] == [ids[1], ids[0]]
    assert found[0][1] == pytest.approx(0.0)
    assert found[1][1] == pytest.approx(float(np.linalg.norm(vectors[0] - vectors[1])))
    assert list(matrix.rows_of(np.array([ids[0].bytes], dtype="S16"))) == [0]


def test_ids_sharing_their_low_bytes_are_still_told_apart() -> None:
    low = b"\x07" * 8
    ids = [uuid.UUID(bytes=b"\x01" * 8 + low), uuid.UUID(bytes=b"\x02" * 8 + low)]
    packed = np.array([i.bytes for i in ids], dtype="S16")
    matrix = SpaceMatrix.build(1, "ip", packed, np.eye(2, dtype=np.float32))
    assert matrix.sorted_keys is None  # the fast path needs unique keys
    assert list(matrix.rows_of(packed[::-1])) == [1, 0]
    unknown = np.array([uuid.UUID(bytes=b"\x03" * 8 + low).bytes], dtype="S16")
    assert list(matrix.rows_of(unknown)) == []

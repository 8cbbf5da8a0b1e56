"""A fixed-seed library of images with clustered vectors, written through the service role.

Each image's ``taken_at`` is one day after the previous one, so a date range selects an
exact, known share of a user's photos: the filters of the planner tests are real rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.config import Settings
from photostore.db.models import Blob, Embedding, EmbeddingSpace, Image, User
from photostore.domain.embeddings import SpaceRef
from photostore.provider import build_context

EPOCH = datetime(2015, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Library:
    owner_id: uuid.UUID
    space: SpaceRef
    image_ids: list[uuid.UUID]
    vectors: NDArray[np.float32]  # unit rows, in the order of image_ids

    def taken_at(self, position: int) -> datetime:
        return EPOCH + timedelta(days=position)


def clustered_vectors(rng: np.random.Generator, n: int, dim: int) -> NDArray[np.float32]:
    centroids = rng.standard_normal((max(4, n // 200), dim))
    points = centroids[rng.integers(0, len(centroids), n)] + 0.6 * rng.standard_normal((n, dim))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32)


async def insert_images(
    session: AsyncSession, owner_id: uuid.UUID, ids: list[uuid.UUID], taken_at: list[datetime]
) -> None:
    """Image rows (and their blobs) for ``ids``, in one statement each."""
    shas = [hashlib.sha256(i.bytes).hexdigest() for i in ids]
    await session.execute(
        insert(Blob), [{"owner_id": owner_id, "sha256": s, "byte_size": 1} for s in shas]
    )
    await session.execute(
        insert(Image),
        [
            {
                "owner_id": owner_id,
                "id": image_id,
                "sha256": sha,
                "original_filename": f"{n}.jpg",
                "content_type": "image/jpeg",
                "byte_size": 1,
                "width": 1,
                "height": 1,
                "taken_at": taken,
                "taken_at_source": "exif_original",
            }
            for n, (image_id, sha, taken) in enumerate(zip(ids, shas, taken_at, strict=True))
        ],
    )


async def _seed(settings: Settings, owner_id: uuid.UUID, vectors: NDArray[np.float32]) -> Library:
    ctx = build_context(settings)
    space_id = uuid.uuid4()
    dim = vectors.shape[1]
    ids = [uuid.uuid4() for _ in range(len(vectors))]
    try:
        async with ctx.db.for_system() as session:
            await session.execute(
                insert(User).values(id=owner_id, email=f"{owner_id}@example.org", password_hash="x")
            )
        async with ctx.db.for_user(owner_id) as session:
            await insert_images(
                session, owner_id, ids, [EPOCH + timedelta(days=n) for n in range(len(ids))]
            )
            await session.execute(
                insert(EmbeddingSpace).values(
                    owner_id=owner_id,
                    id=space_id,
                    name="clip",
                    model="test",
                    dimension=dim,
                    metric="cosine",
                )
            )
            await session.execute(
                insert(Embedding),
                [
                    {
                        "owner_id": owner_id,
                        "space_id": space_id,
                        "image_id": image_id,
                        "embedding": vector.tolist(),
                    }
                    for image_id, vector in zip(ids, vectors, strict=True)
                ],
            )
            assert await session.scalar(select(EmbeddingSpace.id)) == space_id
    finally:
        await ctx.db.dispose()
    space = SpaceRef(id=space_id, owner_id=owner_id, name="clip", dimension=dim, metric="cosine")
    return Library(owner_id=owner_id, space=space, image_ids=ids, vectors=vectors)


def seed_library(settings: Settings, vectors: NDArray[np.float32]) -> Library:
    """A new user owning one image per row of ``vectors`` in a cosine space ``clip``."""
    return asyncio.run(_seed(settings, uuid.uuid4(), vectors))

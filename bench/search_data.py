"""Data of the search benchmark: users, images and clustered vectors, bulk-loaded.

Fixed seed. 1,000 users with a skewed size distribution: three large users hold 15%,
12% and 10% of all vectors, the others share the rest by a log-normal law (median a few
hundred). Vectors: 1,000 global topic centroids; each user photographs 30 topics in
events of about 25 photos (an event is its topic's centroid moved by Gaussian noise of
scale 0.5); a photo is its event's centre plus Gaussian noise of scale 0.6, normalized
(each coordinate unit-variance before scaling). An image's position in
its owner's library is its ``taken_at`` (one minute apart), independent of its vector, so
a date range selects an exact share of a user's photos, as a real filter on real rows.

Rows are written by the superuser with COPY (row-level security does not apply to
superusers): users, blobs, images and spaces as text, embeddings in COPY's binary
format built by numpy in one buffer per chunk.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
from numpy.typing import NDArray

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
LARGE_SHARES = (0.15, 0.12, 0.10)
TOPICS = 1000
TOPICS_PER_USER = 30
EVENT_SPREAD = 0.5
PHOTOS_PER_EVENT = 25
NOISE = 0.6


@dataclass
class BenchUser:
    id: uuid.UUID
    email: str
    space_id: uuid.UUID
    image_ids: list[uuid.UUID]
    vectors: NDArray[np.float32]

    def taken_at(self, position: int) -> datetime:
        return EPOCH + timedelta(minutes=position)


def user_sizes(scale: int, users: int, rng: np.random.Generator) -> list[int]:
    large = [int(scale * share) for share in LARGE_SHARES]
    weights = rng.lognormal(0.0, 1.0, users - len(large))
    rest = scale - sum(large)
    floor = min(20, rest // len(weights))  # everyone has a few photos
    small = floor + np.floor(weights / weights.sum() * (rest - floor * len(weights))).astype(int)
    small[int(np.argmax(small))] += rest - int(small.sum())  # the total is exactly ``scale``
    return large + sorted(small.tolist(), reverse=True)


def make_users(scale: int, dim: int, users: int, seed: int) -> list[BenchUser]:
    rng = np.random.default_rng(seed)
    centroids = rng.standard_normal((TOPICS, dim)).astype(np.float32)
    made = []
    for n, size in enumerate(user_sizes(scale, users, rng)):
        points = photos(rng, centroids, size)
        ids = [uuid.UUID(bytes=b, version=4) for b in _chunks(rng.bytes(16 * size), 16)]
        made.append(
            BenchUser(
                id=uuid.UUID(int=n + 1, version=4),
                email=f"user{n}@bench.example",
                space_id=uuid.UUID(bytes=rng.bytes(16), version=4),
                image_ids=ids,
                vectors=points.astype(np.float32),
            )
        )
    return made


def photos(
    rng: np.random.Generator, centroids: NDArray[np.float32], size: int
) -> NDArray[np.float32]:
    """One library of ``size`` normalized photos: events of its owner's topics, each
    photo its event's centre plus noise (the module's notes)."""
    dim = centroids.shape[1]
    topics = rng.choice(TOPICS, TOPICS_PER_USER, replace=False)
    events = max(1, size // PHOTOS_PER_EVENT)
    centres = centroids[topics[rng.integers(0, TOPICS_PER_USER, events)]]
    centres = centres + EVENT_SPREAD * rng.standard_normal((events, dim), dtype=np.float32)
    points = centres[rng.integers(0, events, size)]
    points = points + NOISE * rng.standard_normal((size, dim), dtype=np.float32)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points


def query_near(user: BenchUser, rng: np.random.Generator) -> NDArray[np.float32]:
    """A query like a photo of this user's: one of theirs, moved by fresh noise."""
    base = user.vectors[rng.integers(0, len(user.vectors))]
    query = base + 0.5 * NOISE * rng.standard_normal(base.shape[0], dtype=np.float32)
    normalized: NDArray[np.float32] = (query / np.linalg.norm(query)).astype(np.float32)
    return normalized


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def load(conn: psycopg.Connection, users: list[BenchUser], password_hash: str) -> None:
    """Write every row through COPY (``conn`` is a superuser connection)."""
    dim = users[0].vectors.shape[1]
    with conn.cursor() as cur:
        with cur.copy("COPY users (id, email, password_hash) FROM STDIN") as copy:
            for user in users:
                copy.write(f"{user.id}\t{user.email}\t{password_hash}\n")
        with cur.copy(
            "COPY embedding_spaces (owner_id, id, name, model, dimension, metric) FROM STDIN"
        ) as copy:
            for user in users:
                copy.write(f"{user.id}\t{user.space_id}\tclip\tbench-clip\t{dim}\tcosine\n")
        with cur.copy("COPY blobs (owner_id, sha256, byte_size) FROM STDIN") as copy:
            for user in users:
                copy.write("".join(f"{user.id}\t{i.hex}{i.hex}\t1\n" for i in user.image_ids))
        columns = (
            "owner_id, id, sha256, original_filename, content_type, byte_size, width, height, "
            "taken_at, taken_at_source"
        )
        with cur.copy(f"COPY images ({columns}) FROM STDIN") as copy:
            for user in users:
                stamps = np.datetime64("2020-01-01T00:00") + np.arange(len(user.image_ids)).astype(
                    "timedelta64[m]"
                )
                texts = np.datetime_as_string(stamps)
                copy.write(
                    "".join(
                        f"{user.id}\t{i}\t{i.hex}{i.hex}\t{i.hex}.jpg\timage/jpeg\t1\t1\t1\t"
                        f"{t}+00\texif_original\n"
                        for i, t in zip(user.image_ids, texts, strict=True)
                    )
                )
        with cur.copy(
            "COPY embeddings (owner_id, space_id, image_id, embedding) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.write(b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") * 2)
            for user in users:
                copy.write(_binary_rows(user, dim))
            copy.write((-1).to_bytes(2, "big", signed=True))


def _binary_rows(user: BenchUser, dim: int) -> bytes:
    """One user's embeddings rows in COPY BINARY format, built as one numpy record array."""
    row = np.dtype(
        [
            ("fields", ">i2"),
            ("l_owner", ">i4"), ("owner", "V16"),
            ("l_space", ">i4"), ("space", "V16"),
            ("l_image", ">i4"), ("image", "V16"),
            ("l_vec", ">i4"), ("vdim", ">i2"), ("unused", ">i2"), ("values", ">f4", (dim,)),
        ]
    )  # fmt: skip
    n = len(user.image_ids)
    rows = np.zeros(n, dtype=row)
    rows["fields"] = 4
    rows["l_owner"] = rows["l_space"] = rows["l_image"] = 16
    rows["owner"] = np.void(user.id.bytes)
    rows["space"] = np.void(user.space_id.bytes)
    rows["image"] = np.frombuffer(b"".join(i.bytes for i in user.image_ids), dtype="V16")
    rows["l_vec"] = 4 + 4 * dim
    rows["vdim"] = dim
    rows["values"] = user.vectors
    return rows.tobytes()

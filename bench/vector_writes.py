"""Bulk vector write benchmark: vectors/s through a real server, beside the database floor.

    python -m bench.vector_writes [--vectors N] [--batch B] [--dim D] [--singles S]

A real ``photostore serve`` process on a scratch data folder (its embedded PostgreSQL
included) is driven over loopback HTTP by one keep-alive client. Data: one user made
through the API, N images (rows of ``blobs`` and ``images`` copied in by the superuser,
as ``bench/search_data.py`` does), and N vectors of D standard-normal values (seed 7),
sent in batches of B to ``POST /v1/embedding-spaces/{space}/vectors``, once as JSON lists
of numbers (``values``) and once as base64 of little-endian float32 (``values_base64``),
each into a space of its own. The bodies are encoded before the clock starts: the
client's encoding is not the server's work.

The floor writes the same rows with the same statement (``db.search.vectors``) from a bare
psycopg connection as the service role, one transaction per batch scoped to the user as
``Database.for_user`` scopes it, the vectors already normalized and packed. Batches of
the three run in turn, into empty spaces of the same table, so all meet the same table
size and the same load of the machine. Then the base64 bodies again, into a fourth
space, from two keep-alive clients at once (an analysis service with two requests in
flight: one is parsed while the other's rows are written). Last, S single-vector writes
(``PUT /v1/images/{image_id}/embeddings/{space}``) on the same connection, for
comparison.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx
import numpy as np
import psycopg
from numpy.typing import NDArray

from bench.serving import photostore_serve
from photostore.db.embedded import APP_ROLE, EmbeddedCluster, start_cluster
from photostore.db.search.vectors import UPSERT_SQL, BinaryArray, BinaryArrayDumper, vector_array
from photostore.domain.embeddings import SpaceRef

PASSWORD = "bench password"
EMAIL = "writer@bench.example"


def _add_images(cluster: EmbeddedCluster, owner_id: uuid.UUID, image_ids: list[uuid.UUID]) -> None:
    """Blob and image rows for ``image_ids``, copied in by the superuser."""
    with psycopg.connect(cluster.url("postgres", driver=""), autocommit=True) as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY blobs (owner_id, sha256, byte_size) FROM STDIN") as copy:
                copy.write("".join(f"{owner_id}\t{i.hex}{i.hex}\t1\n" for i in image_ids))
            columns = (
                "owner_id, id, sha256, original_filename, content_type, byte_size, width, "
                "height, taken_at, taken_at_source"
            )
            with cur.copy(f"COPY images ({columns}) FROM STDIN") as copy:
                copy.write(
                    "".join(
                        f"{owner_id}\t{i}\t{i.hex}{i.hex}\t{n}.jpg\timage/jpeg\t1\t1\t1\t"
                        f"2020-01-01 00:00:00+00\texif_original\n"
                        for n, i in enumerate(image_ids)
                    )
                )
        conn.execute("VACUUM ANALYZE images")


def _space_ref(conn: psycopg.Connection, owner_id: uuid.UUID, name: str) -> SpaceRef:
    with conn.transaction():
        conn.execute("SELECT set_config('app.user_id', %s, true)", (str(owner_id),))
        row = conn.execute(
            "SELECT id, dimension, metric FROM embedding_spaces WHERE owner_id = %s AND name = %s",
            (owner_id, name),
        ).fetchone()
    assert row is not None, name
    return SpaceRef(id=row[0], owner_id=owner_id, name=name, dimension=row[1], metric=row[2])


def _floor_batch(
    conn: psycopg.Connection,
    space: SpaceRef,
    vector_oid: int,
    image_ids: list[uuid.UUID],
    unit: NDArray[np.float32],
) -> int:
    """One batch written as the service writes it, minus HTTP, JSON and validation."""
    with conn.transaction():
        conn.execute("SELECT set_config('app.user_id', %s, true)", (str(space.owner_id),))
        row = conn.execute(
            UPSERT_SQL,
            {
                "owner_id": space.owner_id,
                "space_id": space.id,
                "now": datetime.now(UTC),
                "image_ids": image_ids,
                "vectors": BinaryArray(vector_array(vector_oid, unit)),
            },
        ).fetchone()
    assert row is not None and row[0] == len(image_ids), row
    return int(row[0])


def _declare(client: httpx.Client, headers: dict[str, str], name: str, dim: int) -> None:
    body = {"name": name, "model": "bench", "dimension": dim, "metric": "cosine"}
    response = client.post("/v1/embedding-spaces", json=body, headers=headers)
    assert response.status_code == 201, response.text


def run(args: argparse.Namespace) -> int:
    rng = np.random.default_rng(args.seed)
    count, batch, dim = args.vectors, args.batch, args.dim
    vectors = rng.standard_normal((count, dim)).astype(np.float32)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    image_ids = [uuid.UUID(bytes=rng.bytes(16), version=4) for _ in range(count)]
    starts = range(0, count, batch)
    print(f"encoding {len(starts)} bodies of {batch} {dim}-d vectors ...", file=sys.stderr)
    batches = [range(start, min(start + batch, count)) for start in starts]
    bodies = {
        "list": [
            json.dumps(
                {
                    "items": [
                        {"image_id": str(image_ids[n]), "values": vectors[n].tolist()} for n in b
                    ]
                }
            ).encode()
            for b in batches
        ],
        "base64": [
            json.dumps(
                {
                    "items": [
                        {
                            "image_id": str(image_ids[n]),
                            "values_base64": base64.b64encode(vectors[n].astype("<f4")).decode(),
                        }
                        for n in b
                    ]
                }
            ).encode()
            for b in batches
        ],
    }
    with tempfile.TemporaryDirectory(prefix="photostore-bench-writes-") as scratch:
        work = Path(scratch)
        work.chmod(0o755)
        data_dir = work / "data"
        with (
            photostore_serve(data_dir, {"allow_signup": "true"}) as base,
            httpx.Client(base_url=base, timeout=120) as client,
        ):
            made = client.post("/v1/users", json={"email": EMAIL, "password": PASSWORD})
            assert made.status_code == 202, made.text
            token = client.post("/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            owner_id = uuid.UUID(client.get("/v1/users/me", headers=headers).json()["id"])
            for name in ("list", "base64", "base64-2", "floor", "single"):
                _declare(client, headers, name, dim)
            cluster = start_cluster(data_dir / "pgdata")  # joins the server's cluster
            try:
                print(f"adding {count:,} images ...", file=sys.stderr)
                _add_images(cluster, owner_id, image_ids)
                with psycopg.connect(cluster.url(APP_ROLE, driver=""), autocommit=True) as conn:
                    conn.adapters.register_dumper(BinaryArray, BinaryArrayDumper)
                    oid_row = conn.execute("SELECT 'vector'::regtype::oid").fetchone()
                    assert oid_row is not None
                    floor_space = _space_ref(conn, owner_id, "floor")
                    http_ms: dict[str, list[float]] = {"list": [], "base64": []}
                    floor_ms: list[float] = []
                    print("writing ...", file=sys.stderr)
                    post_headers = {**headers, "Content-Type": "application/json"}
                    for n, ids in enumerate(batches):
                        for encoding, times in http_ms.items():
                            began = time.perf_counter()
                            response = client.post(
                                f"/v1/embedding-spaces/{encoding}/vectors",
                                content=bodies[encoding][n],
                                headers=post_headers,
                            )
                            times.append((time.perf_counter() - began) * 1000)
                            assert response.status_code == 200, response.text
                        began = time.perf_counter()
                        _floor_batch(
                            conn,
                            floor_space,
                            int(oid_row[0]),
                            [image_ids[i] for i in ids],
                            unit[ids.start : ids.stop],
                        )
                        floor_ms.append((time.perf_counter() - began) * 1000)
                    print("writing from two clients ...", file=sys.stderr)
                    two_s = _two_clients(base, post_headers, bodies["base64"])
            finally:
                cluster.stop()
            singles = min(args.singles, count)
            began = time.perf_counter()
            for n in range(singles):
                response = client.put(
                    f"/v1/images/{image_ids[n]}/embeddings/single",
                    json={"values": vectors[n].tolist()},
                    headers=headers,
                )
                assert response.status_code == 201, response.text
            single_s = time.perf_counter() - began
            for name in ("list", "base64", "base64-2"):
                check = client.get(f"/v1/images/{image_ids[-1]}/embeddings/{name}", headers=headers)
                assert check.status_code == 200, check.text
    print_table(count, batch, dim, http_ms, floor_ms, two_s, singles, single_s)
    return 0


def _two_clients(base: str, headers: dict[str, str], bodies: list[bytes]) -> float:
    """Seconds to send ``bodies`` to the space ``base64-2`` from two keep-alive clients
    taking them in turn from one queue."""
    queue = iter(bodies)
    lock = threading.Lock()

    def send() -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            while True:
                with lock:
                    body = next(queue, None)
                if body is None:
                    return
                response = client.post(
                    "/v1/embedding-spaces/base64-2/vectors", content=body, headers=headers
                )
                assert response.status_code == 200, response.text

    began = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(send) for _ in range(2)]:
            done.result()
    return time.perf_counter() - began


def print_table(
    count: int,
    batch: int,
    dim: int,
    http_ms: dict[str, list[float]],
    floor_ms: list[float],
    two_s: float,
    singles: int,
    single_s: float,
) -> None:
    floor_rate = count / (sum(floor_ms) / 1000)
    print(f"\n{count:,} {dim}-d vectors in batches of {batch}, one keep-alive client\n")
    print("| path | vectors/s | ms per batch (p50 / p90) | share of the floor |")
    print("| --- | ---: | ---: | ---: |")
    for label, ms in (
        ("HTTP: POST .../vectors, values as JSON numbers", http_ms["list"]),
        ("HTTP: POST .../vectors, values_base64 (float32)", http_ms["base64"]),
        ("floor: same statement, bare psycopg, for_user-scoped", floor_ms),
    ):
        rate = count / (sum(ms) / 1000)
        p50, p90 = statistics.median(ms), statistics.quantiles(ms, n=10)[-1]
        print(f"| {label} | {rate:,.0f} | {p50:.1f} / {p90:.1f} | {rate / floor_rate:.2f} |")
    two_rate = count / two_s
    print(
        f"| HTTP: values_base64, two clients at once | {two_rate:,.0f} | - | "
        f"{two_rate / floor_rate:.2f} |"
    )
    single_rate = singles / single_s
    print(
        f"| HTTP: PUT .../embeddings/{{space}}, one vector a request ({singles:,}) "
        f"| {single_rate:,.0f} | {1000 / single_rate:.1f} a request | "
        f"{single_rate / floor_rate:.2f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--singles", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())

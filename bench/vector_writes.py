"""Bulk vector write benchmark: vectors/s through a real server, beside the database floor.

    python -m bench.vector_writes [--vectors N] [--batch B] [--dim D] [--singles S]

A real ``photostore serve`` process on a scratch data folder (its embedded PostgreSQL
included) is driven over loopback HTTP by one keep-alive client. Data: one user made
through the API, N images (rows of ``blobs`` and ``images`` copied in by the superuser,
as ``bench/search_data.py`` does), and N vectors of D standard-normal values (seed 7),
sent as JSON in batches of B to ``POST /v1/embedding-spaces/{space}/vectors``. The JSON
bodies are encoded before the clock starts: the client's encoding is not the server's
work.

The floor writes the same rows with the same statement (``search.writes``) from a bare
psycopg connection as the service role, one transaction per batch scoped to the user as
``Database.for_user`` scopes it, the vectors already normalized and packed. Batches of
the two run alternately, into two empty spaces of the same table, so both meet the same
table size and the same load of the machine. Last, S single-vector writes
(``PUT /v1/images/{image_id}/embeddings/{space}``) on the same connection, for
comparison.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx
import numpy as np
import psycopg
from numpy.typing import NDArray

from bench.serving import photostore_serve
from photostore.db.embedded import APP_ROLE, EmbeddedCluster, start_cluster
from photostore.search.space import SpaceRef
from photostore.search.writes import UPSERT_SQL, BinaryArray, BinaryArrayDumper, vector_array

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
                "dimension": space.dimension,
                "metric": space.metric,
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
    print(f"encoding {len(starts)} JSON bodies of {batch} {dim}-d vectors ...", file=sys.stderr)
    bodies = [
        json.dumps(
            {
                "items": [
                    {"image_id": str(image_ids[n]), "values": vectors[n].tolist()}
                    for n in range(start, min(start + batch, count))
                ]
            }
        ).encode()
        for start in starts
    ]
    with tempfile.TemporaryDirectory(prefix="photostore-bench-writes-") as scratch:
        work = Path(scratch)
        work.chmod(0o755)
        data_dir = work / "data"
        with (
            photostore_serve(data_dir, {"allow_signup": "true"}) as base,
            httpx.Client(base_url=base, timeout=120) as client,
        ):
            made = client.post("/v1/users", json={"email": EMAIL, "password": PASSWORD})
            assert made.status_code == 201, made.text
            owner_id = uuid.UUID(made.json()["id"])
            token = client.post("/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            for name in ("http", "floor", "single"):
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
                    http_ms: list[float] = []
                    floor_ms: list[float] = []
                    print("writing ...", file=sys.stderr)
                    post_headers = {**headers, "Content-Type": "application/json"}
                    for body, start in zip(bodies, starts, strict=True):
                        began = time.perf_counter()
                        response = client.post(
                            "/v1/embedding-spaces/http/vectors", content=body, headers=post_headers
                        )
                        http_ms.append((time.perf_counter() - began) * 1000)
                        assert response.status_code == 200, response.text
                        ids = image_ids[start : start + batch]
                        began = time.perf_counter()
                        _floor_batch(
                            conn, floor_space, int(oid_row[0]), ids, unit[start : start + batch]
                        )
                        floor_ms.append((time.perf_counter() - began) * 1000)
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
            check = client.get(f"/v1/images/{image_ids[-1]}/embeddings/http", headers=headers)
            assert check.status_code == 200, check.text
    print_table(count, batch, dim, http_ms, floor_ms, singles, single_s)
    return 0


def print_table(
    count: int,
    batch: int,
    dim: int,
    http_ms: list[float],
    floor_ms: list[float],
    singles: int,
    single_s: float,
) -> None:
    http_rate = count / (sum(http_ms) / 1000)
    floor_rate = count / (sum(floor_ms) / 1000)
    print(f"\n{count:,} {dim}-d vectors in batches of {batch}, one keep-alive client\n")
    print("| path | vectors/s | ms per batch (p50 / p90) | share of the floor |")
    print("| --- | ---: | ---: | ---: |")
    for label, ms, rate in (
        ("HTTP: POST .../vectors (JSON, validated)", http_ms, http_rate),
        ("floor: same statement, bare psycopg, for_user-scoped", floor_ms, floor_rate),
    ):
        p50, p90 = statistics.median(ms), statistics.quantiles(ms, n=10)[-1]
        print(f"| {label} | {rate:,.0f} | {p50:.1f} / {p90:.1f} | {rate / floor_rate:.2f} |")
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

"""HNSW on ``vector`` against ``halfvec``: size, build time, recall@10 and latency.

    python -m bench.hnsw_types [--vectors N] [--queries Q]

Data: one library of N clustered, normalized 512-d photos made as ``bench.search_data``
makes a user's (fixed seed: 30 topics, events of 25 photos), in a table of its own in a
fresh embedded PostgreSQL, with the same vectors as ``vector(512)`` and ``halfvec(512)``
columns. Both HNSW indexes are built with photostore's parameters (``db.search.indexes``).
Each query is answered by an index scan of a window of rows, re-ranked by the exact
full-precision distance in an outer query (so a ``halfvec`` index loses no precision in
the answer), with pgvector 0.8's iterative scans off, ``relaxed_order`` and
``strict_order``. The floor is the exact answer: a sequential scan of the same table,
measured in the same run; recall is against numpy's exact top 10.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
from numpy.typing import NDArray

from bench.search_data import NOISE, TOPICS, photos
from photostore.db.embedded import start_cluster
from photostore.db.search.indexes import HNSW_EF_CONSTRUCTION, HNSW_M

DIM = 512
K = 10
# (iterative scan mode, rows in the window, hnsw.max_scan_tuples)
SCANS = (
    ("off", 40, 20_000),
    ("off", 1000, 20_000),
    ("relaxed_order", 2000, 50_000),
    ("relaxed_order", 4000, 100_000),
    ("strict_order", 2000, 50_000),
)


def library(n: int, rng: np.random.Generator) -> NDArray[np.float32]:
    centroids = rng.standard_normal((TOPICS, DIM)).astype(np.float32)
    return photos(rng, centroids, n)


def _literal(vector: NDArray[np.float32]) -> str:
    return "[" + ",".join(f"{x:.6f}" for x in vector) + "]"


def _ms(timings: list[float]) -> float:
    return statistics.median(timings) * 1000


def run(args: argparse.Namespace) -> int:
    rng = np.random.default_rng(args.seed)
    points = library(args.vectors, rng)
    queries = []
    for _ in range(args.queries):
        base = points[rng.integers(0, len(points))]
        query = base + 0.5 * NOISE * rng.standard_normal(DIM, dtype=np.float32)
        queries.append(query / np.linalg.norm(query))
    truths = [set(np.argsort(-(points @ q))[:K].tolist()) for q in queries]
    rows: list[tuple[str, str, int, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="photostore-bench-hnsw-") as scratch:
        work = Path(scratch)
        work.chmod(0o755)
        cluster = start_cluster(work / "pgdata")
        try:
            conn = psycopg.connect(cluster.url("postgres", "postgres", driver=""), autocommit=True)
            conn.execute("CREATE EXTENSION vector")
            conn.execute(f"CREATE TABLE t (id int PRIMARY KEY, v vector({DIM}), h halfvec({DIM}))")
            started = time.perf_counter()
            with conn.cursor().copy("COPY t (id, v) FROM STDIN") as copy:
                for i, point in enumerate(points):
                    copy.write_row([i, _literal(point)])
            conn.execute("UPDATE t SET h = v::halfvec")
            conn.execute("VACUUM ANALYZE t")
            print(f"... loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            built: dict[str, tuple[float, float]] = {}
            for column, opclass in (("v", "vector_cosine_ops"), ("h", "halfvec_cosine_ops")):
                started = time.perf_counter()
                conn.execute(
                    f"CREATE INDEX ix_{column} ON t USING hnsw ({column} {opclass}) "
                    f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
                )
                size = conn.execute(f"SELECT pg_relation_size('ix_{column}')").fetchone()
                built[column] = (time.perf_counter() - started, (size[0] if size else 0) / 2**20)
                print(f"... built ix_{column}", file=sys.stderr)
            conn.execute("SET enable_indexscan = off")
            floor = []
            for query in queries:
                started = time.perf_counter()
                conn.execute(f"SELECT id FROM t ORDER BY v <=> '{_literal(query)}' LIMIT {K}")
                floor.append(time.perf_counter() - started)
            conn.execute("RESET enable_indexscan")
            conn.execute("SET hnsw.ef_search = 1000")
            for column, kind in (("v", "vector"), ("h", "halfvec")):
                for mode, window, max_tuples in SCANS:
                    conn.execute(f"SET hnsw.iterative_scan = {mode}")
                    conn.execute(f"SET hnsw.max_scan_tuples = {max_tuples}")
                    recalls, timings = [], []
                    for query, truth in zip(queries, truths, strict=True):
                        q = _literal(query)
                        started = time.perf_counter()
                        found = conn.execute(
                            "WITH w AS MATERIALIZED ("
                            f"SELECT id, v <=> '{q}'::vector AS d FROM t "
                            f"ORDER BY {column} <=> '{q}'::{kind} LIMIT {window}) "
                            f"SELECT id FROM w ORDER BY d LIMIT {K}"
                        ).fetchall()
                        timings.append(time.perf_counter() - started)
                        recalls.append(len(truth & {r[0] for r in found}) / K)
                    rows.append((kind, mode, window, statistics.mean(recalls), _ms(timings)))
            conn.close()
        finally:
            cluster.stop()
    print(
        f"\nHNSW on vector and halfvec: {args.vectors:,} clustered {DIM}-d vectors, "
        f"{args.queries} queries, k={K}, m={HNSW_M}, ef_construction={HNSW_EF_CONSTRUCTION}, "
        "ef_search=1000"
    )
    for column, kind in (("v", "vector"), ("h", "halfvec")):
        seconds, mb = built[column]
        print(f"{kind:<8} index: built in {seconds:.0f} s, {mb:.0f} MB")
    header = f"{'index':<8} {'iterative':<14} {'window':>6} {'recall':>6} {'p50':>7} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    exact = _ms(floor)
    print(f"{'exact':<8} {'(floor)':<14} {'-':>6} {1.0:>6.3f} {exact:>7.1f} {1.0:>6.2f}")
    for kind, mode, window, recall, p50 in rows:
        print(f"{kind:<8} {mode:<14} {window:>6} {recall:>6.3f} {p50:>7.1f} {p50 / exact:>6.2f}")
    print("latencies in ms; ratio = p50 / exact sequential scan p50 (the floor)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=150_000)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

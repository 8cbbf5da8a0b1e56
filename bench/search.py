"""Vector search benchmark: recall@10 and latency of the planner beside the exact floor.

    python -m bench.search [--scale N] [--dim 512|384] [--quick] [--queries Q]

Data (``bench/search_data.py``): fixed-seed clustered, normalized vectors over 1,000
users (three hold 15/12/10% of the vectors, the rest a few hundred each), bulk-loaded
with COPY into a real embedded PostgreSQL with their users, blobs and images rows.
Per-space HNSW indexes come from ``search.maintenance.optimize`` (what
``photostore search optimize`` runs); the naive baseline is one global HNSW index over
every vector, queried with ``WHERE owner_id = x`` and the filter, as pgvector's docs
show (``enable_sort = off`` so PostgreSQL cannot swap in an exact plan).

For each user class and filter selectivity (a date range holding 100/10/1/0.1% of the
user's photos), Q queries near the user's photos: recall@10 against exact search,
latency through the service layer (``search.nearest`` in a ``for_user`` transaction)
and over HTTP (``POST /v1/search`` to a real ``photostore serve`` process on loopback,
one keep-alive client), and the floor: numpy brute force over the same user's candidate
vectors, already in memory, plus one row-level-security transaction holding one trivial
statement on a bare psycopg connection (the least any answer from the database costs),
both measured in the same run. The target of every case is an HTTP p50 of at most
2 x floor + 1.5 ms. The large user's cases are measured once more without the vector
cache (a second ``serve`` process with the cache off): what PostgreSQL's own plans give
while the cache loads or reloads a space, or for a space over the cache's budget. One
more line shows what one user's searches cost while another's longest scans run in the
same process, beside the same searches alone.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
import psycopg
from sqlalchemy import text, update

from bench.search_data import BenchUser, load, make_users, query_near
from bench.serving import photostore_serve
from photostore.auth.passwords import Passwords
from photostore.config import Settings
from photostore.db.embedded import APP_ROLE, OWNER_ROLE, ensure_database, start_cluster
from photostore.db.migrate import upgrade_to_head
from photostore.db.models import Embedding
from photostore.db.search.filters import candidate_images
from photostore.db.search.nearest import NearestReads
from photostore.db.search.spaces import SpaceRepository
from photostore.domain.search import SearchFilters
from photostore.provider import build_context
from photostore.search import choose_plan, nearest
from photostore.search.maintenance import optimize
from photostore.services.context import ServiceContext

K = 10
REWRITTEN = 200  # vectors the large user's analysis rewrites after the cache loaded
SELECTIVITIES = (1.0, 0.1, 0.01, 0.001)
PASSWORD = "bench password"


@dataclass
class Row:
    case: str
    candidates: int
    plan: str
    recall: float
    naive_recall: float
    numpy_ms: float
    floor_ms: float
    service_p50: float
    service_p99: float
    api_p50: float | None
    api_p99: float | None
    naive_p50: float


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def exact_top_k(vectors: np.ndarray, ids: list[Any], query: np.ndarray) -> tuple[set[Any], float]:
    """numpy's exact top-k over the candidate vectors, and how long it took (the floor)."""
    started = time.perf_counter()
    distances = 1.0 - vectors @ query
    top = np.argpartition(distances, min(K, len(ids) - 1))[:K] if len(ids) > K else range(len(ids))
    elapsed = time.perf_counter() - started
    return {ids[i] for i in top}, elapsed


def _naive_sql(dim: int) -> Any:
    return text(
        "SELECT e.image_id FROM embeddings e "
        "WHERE e.owner_id = :owner "
        "AND e.image_id IN (SELECT id FROM images WHERE owner_id = :owner "
        "AND taken_at >= :after AND taken_at < :before AND trashed_at IS NULL) "
        f"ORDER BY e.embedding::vector({dim}) <#> CAST(:q AS vector({dim})) LIMIT {K}"
    )


async def _measure_case(
    ctx: ServiceContext,
    user: BenchUser,
    share: float,
    queries: int,
    rng: np.random.Generator,
    *,
    baseline: bool,
    transaction_ms: float,
) -> tuple[Row, list[tuple[np.ndarray, int, int]]]:
    n = len(user.image_ids)
    size = max(1, round(share * n))
    dim = user.vectors.shape[1]
    recalls, naive_recalls, floors, service, naive = [], [], [], [], []
    plan_kinds: set[str] = set()
    asked, truths = [], []
    planned: list[Any] = []  # the filters of the queries PostgreSQL's plans answered
    for _ in range(queries):
        start = int(rng.integers(0, n - size + 1))
        stop = start + size
        query = query_near(user, rng)
        asked.append((query, start, stop))
        cand_vectors = np.ascontiguousarray(user.vectors[start:stop])
        truth, floor = exact_top_k(cand_vectors, user.image_ids[start:stop], query)
        truths.append(truth)
        floors.append(floor)
    # Each approach runs the same queries in its own pass: interleaved, the naive index
    # scans evicted from the CPU caches what the next service query needed, and the
    # service paid for the baseline's work.
    for (query, start, stop), truth in zip(asked, truths, strict=True):
        # As the search service builds a date filter: the candidates, and the range alone.
        filters = SearchFilters(taken_after=user.taken_at(start), taken_before=user.taken_at(stop))
        candidates = None if share == 1.0 else candidate_images(user.id, filters)
        t0 = time.perf_counter()
        async with ctx.db.for_user(user.id) as session:
            # As the search service does: the space by name, with its generation and size.
            space = await SpaceRepository(session, user.id).by_name("clip")
            found = await nearest(
                NearestReads(session, user.id),
                space,
                query.tolist(),
                K,
                candidates,
                cache=ctx.vector_cache,
                taken=filters.taken_range_only,
            )
        service.append(time.perf_counter() - t0)
        recalls.append(len({f.image_id for f in found} & truth) / max(1, len(truth)))
        if ctx.vector_cache is not None and ctx.vector_cache.holds(user.id, space.id):
            plan_kinds.add("memory")
        else:
            planned.append(candidates)
    async with ctx.db.for_user(user.id) as session:
        for candidates in planned:
            reads = NearestReads(session, user.id)
            plan_kinds.add((await choose_plan(reads, space, K, candidates)).kind)
    for (query, start, stop), truth in zip(asked, truths, strict=True) if baseline else ():
        t0 = time.perf_counter()
        async with ctx.db.for_user(user.id) as session:
            await session.execute(text("SET LOCAL enable_sort = off"))
            rows = await session.execute(
                _naive_sql(dim),
                {
                    "owner": user.id,
                    "after": user.taken_at(start),
                    "before": user.taken_at(stop),
                    "q": str(query.tolist()),
                },
            )
            got = {r[0] for r in rows}
        naive.append(time.perf_counter() - t0)
        naive_recalls.append(len(got & truth) / max(1, len(truth)))
    row = Row(
        case=f"{share:.1%} ",
        candidates=size,
        plan="+".join(sorted(plan_kinds)),
        recall=statistics.mean(recalls),
        naive_recall=statistics.mean(naive_recalls) if naive_recalls else float("nan"),
        numpy_ms=statistics.median(floors) * 1000,
        floor_ms=statistics.median(floors) * 1000 + transaction_ms,
        service_p50=_pct(service, 0.5),
        service_p99=_pct(service, 0.99),
        api_p50=None,
        api_p99=None,
        naive_p50=_pct(naive, 0.5) if naive else float("nan"),
    )
    return row, asked


async def _search(ctx: ServiceContext, user: BenchUser, query: np.ndarray) -> None:
    """One unfiltered search of ``user``, as the search service runs it."""
    async with ctx.db.for_user(user.id) as session:
        space = await SpaceRepository(session, user.id).by_name("clip")
        reads = NearestReads(session, user.id)
        await nearest(reads, space, query.tolist(), K, cache=ctx.vector_cache)


async def _answered_and_settled_ms(ctx: ServiceContext, user: BenchUser) -> tuple[float, float]:
    """How long one query of the user takes, and how long until the cache's background
    work it started (a load, or an update of a matrix behind the space) is done."""
    started = time.perf_counter()
    await _search(ctx, user, user.vectors[0])
    answered = time.perf_counter()
    if ctx.vector_cache is not None:
        await ctx.vector_cache.settled()
    return (answered - started) * 1000, (time.perf_counter() - started) * 1000


async def _contended_ms(
    ctx: ServiceContext, user: BenchUser, busy: BenchUser, queries: int, seed: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """p50 and p99 of ``user``'s unfiltered searches alone, then while ``busy``'s
    unfiltered searches run back to back in the same process (one API process serving
    both users)."""
    rng, busy_rng = np.random.default_rng(seed), np.random.default_rng(seed + 1)

    async def measured() -> tuple[float, float]:
        timings = []
        for _ in range(queries):
            query = query_near(user, rng)
            started = time.perf_counter()
            await _search(ctx, user, query)
            timings.append(time.perf_counter() - started)
        return _pct(timings, 0.5), _pct(timings, 0.99)

    alone = await measured()
    stop = asyncio.Event()

    async def keep_busy() -> None:
        while not stop.is_set():
            await _search(ctx, busy, query_near(busy, busy_rng))

    background = asyncio.create_task(keep_busy())
    try:
        contended = await measured()
    finally:
        stop.set()
        await background
    return alone, contended


async def _round_trip_ms(ctx: ServiceContext, user: BenchUser, runs: int = 50) -> float:
    """p50 of the least a database-backed answer costs: one row-level-security
    transaction holding one trivial statement."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        async with ctx.db.for_user(user.id) as session:
            await session.execute(text("SELECT 1"))
        timings.append(time.perf_counter() - started)
    return _pct(timings, 0.5)


async def _rewrite_vectors(
    ctx: ServiceContext, user: BenchUser, count: int, rng: np.random.Generator
) -> None:
    """Give ``count`` of the user's photos new vectors, one statement each, as an
    analysis service re-embedding them would (and keep ``user.vectors`` the truth)."""
    rows = rng.choice(len(user.image_ids), count, replace=False)
    async with ctx.db.for_user(user.id) as session:
        for row in rows:
            vector = query_near(user, rng)
            await session.execute(
                update(Embedding)
                .where(
                    Embedding.owner_id == user.id,
                    Embedding.space_id == user.space_id,
                    Embedding.image_id == user.image_ids[row],
                )
                .values(embedding=vector.tolist())
            )
            user.vectors[row] = vector


def bare_transaction_ms(app_url: str, user: BenchUser, runs: int = 200) -> float:
    """p50 of one row-level-security transaction holding one trivial statement on a bare
    psycopg connection: the database's part of the floor."""
    timings = []
    with psycopg.connect(app_url, autocommit=True) as conn:
        scope = f"BEGIN; SELECT set_config('app.user_id', '{user.id}', true)"
        for _ in range(runs):
            started = time.perf_counter()
            conn.execute(scope)
            conn.execute("SELECT 1").fetchone()
            conn.execute("COMMIT")
            timings.append(time.perf_counter() - started)
    return _pct(timings, 0.5)


def _search_body(user: BenchUser, query: np.ndarray, share: float, start: int, stop: int) -> Any:
    body: dict[str, Any] = {"vector": {"space": "clip", "values": query.tolist()}, "limit": K}
    if share < 1.0:  # as the service layer: 100% is no filter
        body["filters"] = {
            "taken_after": user.taken_at(start).isoformat(),
            "taken_before": user.taken_at(stop).isoformat(),
        }
    return body


def _post_search(client: httpx.Client, headers: dict[str, str], body: Any) -> float:
    started = time.perf_counter()
    response = client.post("/v1/search", json=body, headers=headers)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"API query failed: {response.status_code} {response.text}")
    return elapsed


def _first_http_search_ms(
    client: httpx.Client, user: BenchUser, headers: dict[str, str], load_ms: float
) -> float:
    """The first search of the user by the server (its cold start), then a wait for the
    server's vector cache to hold the space: twice the time the same load took in the
    benchmark's own process, which reads the same rows from the same database."""
    first = _post_search(client, headers, _search_body(user, user.vectors[0], 1.0, 0, 0))
    time.sleep(2 * load_ms / 1000 + 1)
    for _ in range(3):
        _post_search(client, headers, _search_body(user, user.vectors[0], 1.0, 0, 0))
    return first * 1000


def _login(client: httpx.Client, user: BenchUser) -> dict[str, str]:
    answer = client.post("/v1/auth/token", data={"username": user.email, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _measure_api(
    client: httpx.Client, user: BenchUser, headers: dict[str, str], row: Row, asked: list[Any]
) -> None:
    """HTTP latency of the case's queries: POST /v1/search to the serve process."""
    share = row.candidates / len(user.image_ids)
    timings = [
        _post_search(client, headers, _search_body(user, query, share, start, stop))
        for query, start, stop in asked
    ]
    row.api_p50, row.api_p99 = _pct(timings, 0.5), _pct(timings, 0.99)


def _measure_cases(
    ctx: ServiceContext,
    user: BenchUser,
    label: str,
    args: argparse.Namespace,
    rng: np.random.Generator,
    transaction_ms: float,
    http: tuple[httpx.Client, dict[str, str]] | None = None,
    *,
    baseline: bool = False,
) -> list[Row]:
    """One row per selectivity: the service layer (and the naive baseline with
    ``baseline``), and over HTTP through ``http``'s client and headers if given."""
    rows = []
    for share in SELECTIVITIES:
        print(f"... {label} {share:.1%}", file=sys.stderr, flush=True)
        row, asked = asyncio.run(
            _measure_case(
                ctx,
                user,
                share,
                args.queries,
                rng,
                baseline=baseline,
                transaction_ms=transaction_ms,
            )
        )
        if http is not None:
            _measure_api(http[0], user, http[1], row, asked)
        rows.append(row)
    return rows


def _classes(users: list[BenchUser]) -> list[tuple[str, BenchUser]]:
    by_size = sorted(users, key=lambda u: len(u.image_ids))
    mid = min(users, key=lambda u: abs(len(u.image_ids) - 3000))
    return [("large", by_size[-1]), ("mid", mid), ("small", by_size[len(by_size) // 2])]


def _timed(label: str, action: Callable[[], Any]) -> tuple[Any, float]:
    print(f"... {label}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def _index_bytes(conn: psycopg.Connection, pattern: str) -> int:
    row = conn.execute(
        "SELECT coalesce(sum(pg_relation_size(c.oid)), 0) FROM pg_class c "
        "WHERE c.relkind = 'i' AND c.relname LIKE %s",
        (pattern,),
    ).fetchone()
    return int(row[0]) if row else 0


def _target_ms(row: Row) -> float:
    return 2 * row.floor_ms + 1.5


def print_table(title: str, rows: list[tuple[str, Row]]) -> None:
    print(f"\n{title}")
    header = (
        f"{'user (vectors)':<16} {'filter':>7} {'cands':>7} {'plan':>11} {'recall':>6} "
        f"{'naive':>6} {'numpy':>7} {'floor':>7} {'svc p50':>8} {'http p50':>8} {'p99':>7} "
        f"{'ratio':>6} {'target':>7} {'met':>4} {'naive p50':>9}"
    )
    print(header)
    print("-" * len(header))
    for who, r in rows:
        if r.api_p50 is not None and r.api_p99 is not None:
            http = f"{r.api_p50:8.2f} {r.api_p99:7.2f} {r.api_p50 / r.floor_ms:>6.1f}"
            met = "yes" if r.api_p50 <= _target_ms(r) else "no"
        else:
            http, met = f"{'-':>8} {'-':>7} {'-':>6}", "-"
        print(
            f"{who:<16} {r.case:>7} {r.candidates:>7} {r.plan:>11} {r.recall:>6.3f} "
            f"{r.naive_recall:>6.3f} {r.numpy_ms:>7.2f} {r.floor_ms:>7.2f} "
            f"{r.service_p50:>8.2f} {http} {_target_ms(r):>7.2f} {met:>4} {r.naive_p50:>9.2f}"
        )
    print(
        "latencies in ms; numpy = exact top-k over the candidates in memory; floor = numpy + "
        "one RLS transaction with one trivial statement on a bare psycopg connection; "
        "ratio = http p50 / floor; target = 2 x floor + 1.5"
    )


def run(args: argparse.Namespace) -> int:
    users, gen_s = _timed(
        "generating vectors", lambda: make_users(args.scale, args.dim, args.users, args.seed)
    )
    total = sum(len(u.image_ids) for u in users)
    with tempfile.TemporaryDirectory(prefix="photostore-bench-search-") as scratch:
        work = Path(scratch)
        work.chmod(0o755)
        cluster = start_cluster(work / "pgdata")
        try:
            ensure_database(cluster)
            upgrade_to_head(cluster.url(OWNER_ROLE))
            su_url = cluster.url("postgres", driver="")
            with psycopg.connect(su_url, autocommit=True) as conn:
                _, load_s = _timed(
                    f"loading {total:,} vectors",
                    lambda: load(conn, users, Passwords().hash(PASSWORD)),
                )
                _, vacuum_s = _timed("VACUUM ANALYZE", lambda: conn.execute("VACUUM ANALYZE"))
            owner_url = cluster.url(OWNER_ROLE, driver="")
            report, ours_s = _timed(
                "building per-space HNSW indexes",
                lambda: optimize(owner_url, args.index_min_vectors),
            )
            naive_s = float("nan")
            with psycopg.connect(su_url, autocommit=True) as conn:
                if args.baseline:
                    conn.execute("SET maintenance_work_mem = '4GB'")
                    _, naive_s = _timed(
                        "building the naive global HNSW index",
                        lambda: conn.execute(
                            f"CREATE INDEX bench_global_hnsw ON embeddings USING hnsw "
                            f"((embedding::vector({args.dim})) vector_ip_ops)"
                        ),
                    )
                ours_bytes = _index_bytes(conn, "ix_embeddings_hnsw_%")
                naive_bytes = _index_bytes(conn, "bench_global_hnsw")
                table_bytes = conn.execute("SELECT pg_total_relation_size('embeddings')").fetchone()
            settings = Settings(
                environment="test",
                data_dir=work / "data",
                database_url=cluster.url(APP_ROLE),
                database_pool_size=2,
            )
            rng = np.random.default_rng(args.seed + 1)
            results: list[tuple[str, Row]] = []
            cold_ms: dict[str, tuple[float, float]] = {}
            http_cold_ms: dict[str, float] = {}
            transaction_ms = bare_transaction_ms(cluster.url(APP_ROLE, driver=""), users[0])
            ctx = build_context(settings)
            serve_settings = {"migration_database_url": cluster.url(OWNER_ROLE)}
            with (
                photostore_serve(work / "serve", serve_settings, cluster.url(APP_ROLE)) as base,
                httpx.Client(base_url=base, timeout=600) as client,
            ):
                for label, user in _classes(users):
                    headers = _login(client, user)
                    cold_ms[label] = asyncio.run(_answered_and_settled_ms(ctx, user))
                    http_cold_ms[label] = _first_http_search_ms(
                        client, user, headers, cold_ms[label][1]
                    )
                    rows = _measure_cases(
                        ctx,
                        user,
                        label,
                        args,
                        rng,
                        transaction_ms,
                        (client, headers),
                        baseline=args.baseline,
                    )
                    results += [(f"{label} ({len(user.image_ids):,})", row) for row in rows]
            # One process, two users: the mid user's searches while the large user's
            # unfiltered ones (the longest scans) run back to back.
            (large_label, large), (mid_label, mid) = _classes(users)[:2]
            alone, contended = asyncio.run(
                _contended_ms(ctx, mid, large, max(100, args.queries), args.seed + 2)
            )
            # What a large user gets while the cache loads or reloads their space, or for
            # a space over its budget: the PostgreSQL plans alone (per-space HNSW index or
            # exact scan), in the service and through a server with the cache off.
            uncached = replace(ctx, vector_cache=None)
            no_cache = {**serve_settings, "vector_cache_mb": "0"}
            with (
                photostore_serve(work / "serve-nocache", no_cache, cluster.url(APP_ROLE)) as base,
                httpx.Client(base_url=base, timeout=600) as client,
            ):
                http = (client, _login(client, large))
                rows = _measure_cases(
                    uncached, large, "large without cache", args, rng, transaction_ms, http
                )
                results += [("large, no cache", row) for row in rows]
            # After writes: the matrix is behind the space and answers with the log of
            # changed images (scored by PostgreSQL and merged) until its reload.
            assert ctx.vector_cache is not None
            ctx.vector_cache.refresh_seconds = 24 * 3600
            asyncio.run(_rewrite_vectors(ctx, large, REWRITTEN, rng))
            rows = _measure_cases(ctx, large, "large after writes", args, rng, transaction_ms)
            results += [(f"large, {REWRITTEN} new", row) for row in rows]
            # The update of the large user's matrix, due at once: the overlay folded in.
            ctx.vector_cache.refresh_seconds = 0
            _, update_ms = asyncio.run(_answered_and_settled_ms(ctx, large))
            round_trip = asyncio.run(_round_trip_ms(ctx, users[0]))
            asyncio.run(ctx.close())
        finally:
            cluster.stop()
    print_table(
        f"search benchmark: {total:,} vectors, {args.dim}-d, {args.users} users, "
        f"{args.queries} queries per case, k={K}",
        results,
    )
    print(
        f"generate {gen_s:.1f} s; COPY load {load_s:.1f} s; VACUUM ANALYZE {vacuum_s:.1f} s; "
        f"embeddings table {table_bytes[0] / 2**20 if table_bytes else 0:.0f} MB"
    )
    print(
        f"per-space HNSW indexes (spaces >= {args.index_min_vectors:,} vectors): "
        f"{len(report.built)} built in {ours_s:.1f} s, {ours_bytes / 2**20:.0f} MB"
    )
    if args.baseline:
        print(f"naive global HNSW index: built in {naive_s:.1f} s, {naive_bytes / 2**20:.0f} MB")
    print(
        "first query per user, answered by PostgreSQL while the space loads into the vector "
        "cache in the background (answer / load done): "
        + ", ".join(f"{label} {ms:.0f} / {done:.0f} ms" for label, (ms, done) in cold_ms.items())
    )
    print(
        "cold start: the first search of each user by a freshly started serve process, over "
        "HTTP: " + ", ".join(f"{label} {ms:.0f} ms" for label, ms in http_cold_ms.items())
    )
    print(
        f"after the {REWRITTEN} writes, the large user's matrix was brought up to date in "
        f"{update_ms:.0f} ms (the overlay folded in, in the background; a full read is the "
        "load time above)"
    )
    print(
        f"{mid_label} user's unfiltered searches while the {large_label} user's run back to "
        f"back in the same process: p50 {contended[0]:.2f} ms, p99 {contended[1]:.2f} ms "
        f"(alone: p50 {alone[0]:.2f} ms, p99 {alone[1]:.2f} ms; p50 ratio "
        f"{contended[0] / alone[0]:.1f})"
    )
    print(
        "one row-level-security transaction with one trivial statement (the least any "
        f"answer from the database costs): p50 {transaction_ms:.2f} ms on a bare psycopg "
        f"connection, {round_trip:.2f} ms through the service's data layer"
    )
    print(f"peak RSS of the benchmark process (client, API, numpy data): {_peak_rss_mb():.0f} MB")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1_000_000, help="total vectors")
    parser.add_argument("--dim", type=int, default=512, choices=(384, 512))
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=50, help="queries per case")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument(
        "--index-min-vectors", type=int, default=Settings().vector_index_min_vectors
    )
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    parser.add_argument("--quick", action="store_true", help="60,000 vectors, 15 queries")
    args = parser.parse_args(argv)
    if args.quick:
        args.scale, args.queries, args.index_min_vectors = 60_000, 15, 5_000
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

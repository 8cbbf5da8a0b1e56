"""Request benchmark: photostore's request path beside a bare app running the same SQL.

    python -m bench.requests [--seconds S] [--rounds R] [--vectors N] [--clients C]

Data: one user of ``bench.search_data`` (fixed seed, clustered 512-d vectors) holding
``--vectors`` images and vectors (10,000 by default: their space is answered from the
in-process vector cache, which holds spaces of 2,000 vectors or more), bulk-loaded with
COPY into a fresh embedded PostgreSQL.

Two servers run side by side on loopback, each in its own process: ``photostore serve``
and the bare app of ``bench/bare_app.py`` (Starlette on uvicorn, a psycopg pool, the
statements of photostore's request path and nothing else). For ``GET /v1/images/{id}``
(a random image of the user's) and ``POST /v1/search`` (k=10, a query vector near the
user's photos, no filter) each is measured with ``--clients`` keep-alive connections
sending requests back to back for ``--seconds``, in ``--rounds`` rounds alternating
which server goes first (the machine is shared: only the ratio within a run means
much); the table shows the median round. p50 is one client's latency, sequential requests.

Beside them, the floor of issue 12's latency target, measured in the same run: one
row-level-security transaction holding one trivial statement on a bare psycopg
connection, plus (for the search) numpy's exact top-k over the user's vectors; and the
target itself, ``2 x floor + 1.5 ms``, to hold the bare app's p50 and ours against.

The load generator is a minimal HTTP/1.1 client on asyncio streams (a request is a
prebuilt byte string, a response is read by its ``Content-Length``), so that the client
costs as little CPU as possible beside the two servers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import numpy as np
import psycopg

from bench.search import bare_transaction_ms, exact_top_k
from bench.search_data import LARGE_SHARES, load, make_users, query_near
from bench.serving import free_port, server_process
from photostore.auth.passwords import Passwords
from photostore.db.embedded import APP_ROLE, OWNER_ROLE, ensure_database, start_cluster
from photostore.db.migrate import upgrade_to_head

PASSWORD = "bench password"
SECRET = "bench-secret-" + "x" * 40
K = 10
DIM = 512
REQUEST_SAMPLES = 200  # distinct prebuilt requests per route, cycled through


@dataclass(frozen=True)
class Measured:
    rps: float
    p50_ms: float


@dataclass(frozen=True)
class Route:
    label: str
    floor_ms: float
    measured: dict[str, Measured]

    @property
    def target_ms(self) -> float:
        return 2 * self.floor_ms + 1.5


# Any answer means the server is up: the bare app has no health route, ours gives 401.
_READY_PATH = "/v1/images/00000000-0000-0000-0000-000000000000"


def _raw(method: str, path: str, port: int, token: str, body: bytes = b"") -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n"
    )
    if body:
        head += "Content-Type: application/json\r\n"
    return (head + "\r\n").encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> None:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    if head[9:12] != b"200":
        raise RuntimeError(f"unexpected answer: {head[:200]!r}")
    at = head.lower().index(b"content-length:") + 15
    length = int(head[at : head.index(b"\r\n", at)])
    await reader.readexactly(length)


async def _throughput(port: int, requests: list[bytes], clients: int, seconds: float) -> float:
    done = 0
    stop = time.perf_counter() + seconds

    async def client(n: int) -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = n
        while time.perf_counter() < stop:
            await _exchange(reader, writer, requests[i % len(requests)])
            i += clients
            done += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return done / (time.perf_counter() - started)


async def _p50_ms(port: int, requests: list[bytes], count: int) -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    times = []
    for i in range(count):
        started = time.perf_counter()
        await _exchange(reader, writer, requests[i % len(requests)])
        times.append(time.perf_counter() - started)
    writer.close()
    return statistics.median(times) * 1000


def _measure(
    ports: dict[str, int],
    requests: dict[str, list[bytes]],
    args: argparse.Namespace,
) -> dict[str, Measured]:
    rates: dict[str, list[float]] = {name: [] for name in ports}
    p50s: dict[str, list[float]] = {name: [] for name in ports}
    names = list(ports)
    for round_ in range(args.rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            port, reqs = ports[name], requests[name]
            p50s[name].append(asyncio.run(_p50_ms(port, reqs, args.latency_requests)))
            rates[name].append(asyncio.run(_throughput(port, reqs, args.clients, args.seconds)))
    return {
        name: Measured(statistics.median(rates[name]), statistics.median(p50s[name]))
        for name in names
    }


def _token(base: str, email: str) -> str:
    answer = httpx.post(f"{base}/v1/auth/token", data={"username": email, "password": PASSWORD})
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def run(args: argparse.Namespace) -> int:
    # The first user of bench.search_data holds LARGE_SHARES[0] of all vectors.
    scale = round(args.vectors / LARGE_SHARES[0])
    user = make_users(scale, DIM, 100, args.seed)[0]
    rng = np.random.default_rng(args.seed + 1)
    with tempfile.TemporaryDirectory(prefix="photostore-bench-requests-") as scratch:
        work = Path(scratch)
        work.chmod(0o755)
        cluster = start_cluster(work / "pgdata")
        try:
            ensure_database(cluster)
            upgrade_to_head(cluster.url(OWNER_ROLE))
            with psycopg.connect(cluster.url("postgres", driver=""), autocommit=True) as conn:
                load(conn, [user], Passwords().hash(PASSWORD))
                conn.execute("VACUUM ANALYZE")
            env = {
                **os.environ,
                "PHOTOSTORE_DATABASE_URL": cluster.url(APP_ROLE),
                "PHOTOSTORE_MIGRATION_DATABASE_URL": cluster.url(OWNER_ROLE),
                "PHOTOSTORE_SECRET_KEY": SECRET,
                "PHOTOSTORE_LOG_LEVEL": "WARNING",
            }
            ours_port, bare_port = free_port(), free_port()
            ours_cmd = [sys.executable, "-m", "photostore", "serve", "--data-dir"]
            ours_cmd += [str(work / "data"), "--port", str(ours_port)]
            bare_cmd = [sys.executable, "-m", "uvicorn", "bench.bare_app:create_app"]
            bare_cmd += ["--factory", "--port", str(bare_port), "--no-access-log"]
            bare_cmd += ["--log-level", "warning"]
            with (
                server_process(ours_cmd, env, ours_port, work / "ours.log", _READY_PATH) as ours,
                server_process(bare_cmd, env, bare_port, work / "bare.log", _READY_PATH),
            ):
                token = _token(ours, user.email)
                images = [user.image_ids[i] for i in rng.integers(0, len(user.image_ids), 200)]
                searches = [
                    json.dumps(
                        {
                            "vector": {"space": "clip", "values": query_near(user, rng).tolist()},
                            "limit": K,
                        }
                    ).encode()
                    for _ in range(REQUEST_SAMPLES)
                ]
                # The first search loads the space into photostore's vector cache in the
                # background; wait until it answers from there.
                for _ in range(3):
                    for body in searches[:20]:
                        httpx.post(
                            f"{ours}/v1/search",
                            content=body,
                            headers={
                                "Authorization": f"Bearer {token}",
                                "Content-Type": "application/json",
                            },
                        ).raise_for_status()
                    time.sleep(2)
                ports = {"ours": ours_port, "bare": bare_port}
                transaction_ms = bare_transaction_ms(cluster.url(APP_ROLE, driver=""), user)
                exact_ms = 1000 * statistics.median(
                    exact_top_k(user.vectors, user.image_ids, query_near(user, rng))[1]
                    for _ in range(REQUEST_SAMPLES)
                )
                table = []
                for label, method, make, floor_ms in (
                    ("GET /v1/images/{id}", "GET", None, transaction_ms),
                    (f"POST /v1/search (k={K})", "POST", searches, transaction_ms + exact_ms),
                ):
                    requests = {
                        name: [_raw("GET", f"/v1/images/{i}", port, token) for i in images]
                        if make is None
                        else [_raw(method, "/v1/search", port, token, body) for body in make]
                        for name, port in ports.items()
                    }
                    print(f"... {label}", file=sys.stderr, flush=True)
                    table.append(Route(label, floor_ms, _measure(ports, requests, args)))
        finally:
            cluster.stop()
    _print_table(args, len(user.image_ids), table)
    return 0


def _print_table(args: argparse.Namespace, vectors: int, table: list[Route]) -> None:
    print(
        f"request benchmark: one user of {vectors:,} images and {DIM}-d vectors; "
        f"{args.clients} keep-alive clients, {args.seconds:g} s x {args.rounds} rounds "
        f"(median); p50 of one client, {args.latency_requests} sequential requests"
    )
    header = (
        f"| {'route':<24} | {'ours req/s':>10} | {'bare req/s':>10} | {'ratio':>5} "
        f"| {'ours p50 ms':>11} | {'bare p50 ms':>11} | {'floor ms':>8} | {'target ms':>9} "
        f"| {'ours met':>8} | {'bare met':>8} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for route in table:
        ours, bare = route.measured["ours"], route.measured["bare"]
        met = {
            name: "yes" if m.p50_ms <= route.target_ms else "no"
            for name, m in route.measured.items()
        }
        print(
            f"| {route.label:<24} | {ours.rps:>10.0f} | {bare.rps:>10.0f} | "
            f"{ours.rps / bare.rps:>5.2f} | {ours.p50_ms:>11.2f} | {bare.p50_ms:>11.2f} | "
            f"{route.floor_ms:>8.2f} | {route.target_ms:>9.2f} | {met['ours']:>8} | "
            f"{met['bare']:>8} |"
        )
    print(
        "floor = one row-level-security transaction with one trivial statement on a bare "
        "psycopg connection (+ numpy's exact top-k over the user's vectors for the search); "
        "target = 2 x floor + 1.5 ms, for the p50"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=10_000, help="images of the user")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0, help="per round and server")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-requests", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20261125)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

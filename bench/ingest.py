"""Ingest benchmark: uploads per second and peak memory, beside the decode floor.

    python -m bench.ingest [--files DIR] [--large N] [--repeat R]

Data: the shared EXIF corpus (real camera files, ``shared/corpus/exif-samples``), N
synthetic 24 MP JPEGs made by libvips from a fixed seed (``tests.imagegen``), and the
same N cut at 90 %: damaged photos, kept after a second, lenient decode. Each image
is uploaded through the real ASGI application into a real embedded PostgreSQL and a
local blob store. The floor is the same files through ``analyze_file`` alone (sniff +
EXIF + one decode + both thumbnails, no HTTP, no database, no disk writes), measured in
the same run: the ratio says what HTTP, hashing, fsync and the database add.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient
from tests import imagegen
from tests.media.corpus import corpus_dir, corpus_images

from photostore.app import create_app
from photostore.config import Settings
from photostore.db.embedded import APP_ROLE, OWNER_ROLE, ensure_database, start_cluster
from photostore.db.migrate import upgrade_to_head
from photostore.media import DecodeLimits, configure_vips
from photostore.media.analyze import analyze_file


@dataclass(frozen=True)
class Row:
    case: str
    files: int
    megabytes: float
    floor_per_s: float
    ours_per_s: float
    p50_ms: float
    p99_ms: float


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(paths: list[Path], action: Callable[[Path], object]) -> tuple[float, list[float]]:
    latencies = []
    started = time.perf_counter()
    for path in paths:
        t0 = time.perf_counter()
        action(path)
        latencies.append(time.perf_counter() - t0)
    return time.perf_counter() - started, latencies


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def run_case(name: str, paths: list[Path], client: TestClient, headers: dict[str, str]) -> Row:
    limits = DecodeLimits()
    floor_seconds, _ = _timed(paths, lambda p: analyze_file(p, limits))

    def upload(path: Path) -> None:
        response = client.post(
            "/v1/images", files={"file": (path.name, path.read_bytes())}, headers=headers
        )
        if response.status_code not in {200, 201}:
            raise SystemExit(f"upload of {path} failed: {response.status_code} {response.text}")

    ours_seconds, latencies = _timed(paths, upload)
    size = sum(p.stat().st_size for p in paths) / 1e6
    return Row(
        case=name,
        files=len(paths),
        megabytes=size,
        floor_per_s=len(paths) / floor_seconds,
        ours_per_s=len(paths) / ours_seconds,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=_percentile(latencies, 0.99),
    )


def print_table(rows: list[Row], peak_mb: float) -> None:
    header = (
        f"{'case':<22} {'files':>5} {'MB':>7} {'floor img/s':>12} {'ours img/s':>11} "
        f"{'ours/floor':>10} {'p50 ms':>8} {'p99 ms':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.case:<22} {r.files:>5} {r.megabytes:>7.1f} {r.floor_per_s:>12.1f} "
            f"{r.ours_per_s:>11.1f} {r.ours_per_s / r.floor_per_s:>10.2f} "
            f"{r.p50_ms:>8.1f} {r.p99_ms:>8.1f}"
        )
    print(f"peak RSS of the process (server and client in one): {peak_mb:.0f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=Path, default=None, help="corpus folder")
    parser.add_argument("--large", type=int, default=8, help="synthetic 24 MP JPEGs")
    args = parser.parse_args(argv)

    configure_vips()
    root = args.files or corpus_dir()
    corpus_paths = (
        [root / rel for rel in corpus_images()]
        if args.files is None
        else sorted(p for p in root.rglob("*") if p.is_file())
    )
    with tempfile.TemporaryDirectory(prefix="photostore-bench-") as scratch:
        work = Path(scratch)
        work.chmod(0o755)
        large_paths = []
        for seed in range(args.large):
            path = work / f"large-{seed}.jpg"
            imagegen.make_large_jpeg(path, seed=seed)
            large_paths.append(path)
        cut_paths = []
        for path in large_paths:
            cut = path.with_name(f"cut-{path.name}")
            cut.write_bytes(imagegen.truncate(path.read_bytes(), 0.9))
            cut_paths.append(cut)

        cluster = start_cluster(work / "pgdata")
        try:
            ensure_database(cluster)
            upgrade_to_head(cluster.url(OWNER_ROLE))
            settings = Settings(
                environment="test",
                data_dir=work / "data",
                database_url=cluster.url(APP_ROLE),
                allow_signup=True,
            )
            with TestClient(create_app(settings)) as client:
                credentials = {"email": "bench@example.org", "password": "bench password"}
                client.post("/v1/users", json=credentials)
                token = client.post(
                    "/v1/auth/token",
                    data={"username": credentials["email"], "password": credentials["password"]},
                ).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                rows = [run_case("exif-samples corpus", corpus_paths, client, headers)]
                if large_paths:
                    rows.append(run_case("24 MP JPEG (synthetic)", large_paths, client, headers))
                    rows.append(run_case("24 MP JPEG cut at 90 %", cut_paths, client, headers))
        finally:
            cluster.stop()
    print_table(rows, _peak_rss_mb())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Import and export benchmark: photos per second beside the ingest floor.

    python -m bench.transfer [--photos N] [--width W --height H]

Data: N JPEGs of W x H pixels (default 10,000 of 1024 x 768), made from 32 distinct
images of a fixed seed (``tests.imagegen``), each made a distinct file by a JPEG comment
holding its number: every photo is new bytes and costs a whole decode. They are
imported into a real embedded PostgreSQL and a local, encrypting blob store by the code
of ``photostore import`` (``transfer.folder``), exported (``transfer.export``), the
export imported into a second account (``transfer.restore``), and the first folder
imported again (everything already stored: the cost of a resumed import).

The floor is ``analyze_file`` (sniff, EXIF, one decode, both thumbnails) over a sample of
the same photos, one at a time, as bench/ingest measures it; the import runs as many at
once as the process has decode slots, so on a machine of C cores it may pass the floor
by up to C times.
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from tests import imagegen

from photostore.config import Settings
from photostore.db.embedded import APP_ROLE, OWNER_ROLE, ensure_database, start_cluster
from photostore.db.migrate import upgrade_to_head
from photostore.media import DecodeLimits, configure_vips
from photostore.media.analyze import analyze_file
from photostore.provider import build_context
from photostore.services.context import ServiceContext
from photostore.services.staging_area import StagingArea
from photostore.services.users import UserService
from photostore.transfer.export import export_to_folder
from photostore.transfer.folder import import_folder
from photostore.transfer.restore import import_export

DISTINCT = 32
FLOOR_SAMPLE = 64


@dataclass(frozen=True)
class Row:
    case: str
    photos: int
    seconds: float


def with_comment(jpeg: bytes, text: bytes) -> bytes:
    """``jpeg`` with a comment segment after its start marker: other bytes, same pixels."""
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + jpeg[2:]


def make_photos(folder: Path, count: int, width: int, height: int) -> list[Path]:
    bases = [imagegen.make_jpeg(None, width, height, seed=s) for s in range(DISTINCT)]
    paths = []
    for n in range(count):
        path = folder / f"{n // 1000:03}" / f"IMG_{n:06}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(with_comment(bases[n % DISTINCT], f"photo {n}".encode()))
        paths.append(path)
    return paths


def floor_per_second(paths: list[Path]) -> float:
    limits = DecodeLimits()
    started = time.perf_counter()
    for path in paths:
        analyze_file(path, limits)
    return len(paths) / (time.perf_counter() - started)


async def _timed(case: str, photos: int, work: Awaitable[object]) -> Row:
    started = time.perf_counter()
    await work
    return Row(case, photos, time.perf_counter() - started)


async def run(ctx: ServiceContext, photos: Path, export: Path, count: int) -> list[Row]:
    users = UserService(ctx)
    first = await users.create("bench@example.org", "bench password")
    second = await users.create("copy@example.org", "bench password")
    cases: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("import of a folder", lambda: import_folder(ctx, first.id, photos)),
        ("export", lambda: export_to_folder(ctx, first.id, export)),
        ("import of the export", lambda: import_export(ctx, second.id, export)),
        ("import again (resume)", lambda: import_folder(ctx, first.id, photos)),
    ]
    return [await _timed(case, count, work()) for case, work in cases]


def print_table(rows: list[Row], floor: float, megabytes: float) -> None:
    header = (
        f"{'case':<24} {'photos':>7} {'seconds':>8} {'img/s':>8} {'floor img/s':>12} {'x floor':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        rate = r.photos / r.seconds
        print(
            f"{r.case:<24} {r.photos:>7} {r.seconds:>8.1f} {rate:>8.1f} {floor:>12.1f} "
            f"{rate / floor:>8.2f}"
        )
    print(
        f"{megabytes:.0f} MB of photos; floor: analyze_file one at a time ({FLOOR_SAMPLE} photos)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=768)
    args = parser.parse_args(argv)
    configure_vips()
    with tempfile.TemporaryDirectory(prefix="photostore-bench-") as scratch:
        work = Path(scratch)
        work.chmod(0o755)
        paths = make_photos(work / "photos", args.photos, args.width, args.height)
        megabytes = sum(p.stat().st_size for p in paths) / 1e6
        floor = floor_per_second(paths[:FLOOR_SAMPLE])
        cluster = start_cluster(work / "pgdata")
        try:
            ensure_database(cluster)
            upgrade_to_head(cluster.url(OWNER_ROLE))
            settings = Settings(
                environment="test", data_dir=work / "data", database_url=cluster.url(APP_ROLE)
            )
            ctx = build_context(settings, staging=StagingArea.claim(settings.staging_dir))

            async def measured() -> list[Row]:
                try:
                    return await run(ctx, work / "photos", work / "export", args.photos)
                finally:
                    await ctx.close()

            rows = asyncio.run(measured())
        finally:
            cluster.stop()
    print_table(rows, floor, megabytes)
    return 0


if __name__ == "__main__":
    sys.exit(main())

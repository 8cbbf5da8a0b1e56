"""Backup and restore of a library: how long ``backup create`` (full, then incremental),
``restore`` and ``backup drill`` take, and how big the incremental point is.

    python -m bench.backup [--photos 10000] [--seed 7]

The photos are generated from the seed (distinct JPEGs), uploaded through a real
``photostore serve`` over loopback HTTP, and backed up while that server runs. The floor
of each step, measured in the same run, is a plain copy of the bytes the step must move:
the data folder for a full backup, the new photos for an incremental one, the backup
folder for a restore.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
from PIL import Image

from bench.serving import photostore_serve

EMAIL, PASSWORD = "bench@example.org", "bench password"
PASSPHRASE = "bench passphrase, not a secret"


def _photo(rng: random.Random, width: int, height: int) -> bytes:
    image = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
    noise = Image.frombytes(
        "RGB", (width // 8, height // 8), rng.randbytes(width * height * 3 // 64)
    )
    image.paste(noise.resize((width, height)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _cli(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSTORE_")}
    env["PHOTOSTORE_LOG_LEVEL"] = "WARNING"
    env["PHOTOSTORE_KEYS_PASSPHRASE"] = PASSPHRASE
    done = subprocess.run(
        [sys.executable, "-m", "photostore", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"photostore {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _timed(action: Callable[[], object]) -> float:
    began = time.monotonic()
    action()
    return time.monotonic() - began


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _upload_all(base: str, photos: list[bytes]) -> None:
    token = httpx.post(
        f"{base}/v1/auth/token", data={"username": EMAIL, "password": PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    def send(part: list[bytes]) -> None:
        with httpx.Client(headers=headers, timeout=60) as client:
            for n, photo in enumerate(part):
                answer = client.post(f"{base}/v1/images", files={"file": (f"{n}.jpg", photo)})
                if answer.status_code != 201:
                    raise RuntimeError(answer.text)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, [photos[i::4] for i in range(4)]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", default="480x360", help="WIDTHxHEIGHT of each photo")
    args = parser.parse_args(argv)
    width, height = map(int, args.size.split("x"))
    rng = random.Random(args.seed)
    began = time.monotonic()
    photos = [_photo(rng, width, height) for _ in range(args.photos)]
    extra = [_photo(rng, width, height) for _ in range(max(1, args.photos // 100))]
    print(f"generated {len(photos)} + {len(extra)} photos in {time.monotonic() - began:.1f} s")
    work = Path(tempfile.mkdtemp(prefix="photostore-bench-backup-"))
    work.chmod(0o711)
    try:
        data, target = work / "data", work / "backup"
        _cli("user", "create", "--data-dir", str(data), "--email", EMAIL, "--password", PASSWORD)
        rows: list[tuple[str, float, float, int]] = []
        with photostore_serve(data) as base:
            upload_s = _timed(lambda: _upload_all(base, photos))
            print(f"uploaded {len(photos)} photos in {upload_s:.1f} s")
            floor = _timed(
                lambda: shutil.copytree(
                    data,
                    work / "floor-copy",
                    symlinks=True,
                    ignore=shutil.ignore_patterns(".s.PGSQL*"),
                )
            )
            shutil.rmtree(work / "floor-copy")
            full = _timed(
                lambda: _cli("backup", "create", "--data-dir", str(data), "--to", str(target))
            )
            rows.append(("backup, full", full, floor, _size(target)))
            _upload_all(base, extra)
            before = _size(target)
            extra_dir = work / "extra"
            extra_dir.mkdir()
            floor = _timed(
                lambda: [(extra_dir / f"{n}.jpg").write_bytes(p) for n, p in enumerate(extra)]
            )
            incremental = _timed(
                lambda: _cli("backup", "create", "--data-dir", str(data), "--to", str(target))
            )
            rows.append(("backup, incremental", incremental, floor, _size(target) - before))
        _cli("keys", "export", "--data-dir", str(data), "--to", str(work / "keys.bin"))
        floor = _timed(lambda: shutil.copytree(target, work / "floor-restore", symlinks=True))
        shutil.rmtree(work / "floor-restore")
        restored = work / "restored"
        restore = _timed(
            lambda: _cli(
                "restore",
                "--from",
                str(target),
                "--data-dir",
                str(restored),
                "--keys",
                str(work / "keys.bin"),
            )
        )
        rows.append(("restore", restore, floor, _size(restored)))
        drill = _timed(
            lambda: _cli("backup", "drill", "--from", str(target), "--data-dir", str(data))
        )
        rows.append(("drill", drill, floor, 0))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nbackup benchmark: {args.photos} photos of {args.size} (seed {args.seed})")
    print(f"{'step':<22}{'ours s':>9}{'floor s':>9}{'ratio':>9}{'MiB':>10}")
    for name, ours, floor_s, size in rows:
        print(f"{name:<22}{ours:>9.1f}{floor_s:>9.2f}{ours / floor_s:>9.1f}{size / 2**20:>10.1f}")
    print(
        "floor = a plain copy of the bytes the step moves: the data folder (full), the new "
        "photos (incremental), the backup folder (restore, drill); MiB = what the step wrote"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Uploads under SIGKILL: a real ``photostore serve`` killed at random points while
keep-alive clients upload, restarted, and checked after the last round.

    python -m bench.kill_rounds [--rounds 200] [--seed 11] [--clients 3]

Each round starts ``photostore serve`` on one data folder and lets the clients upload
photos generated from the seed: mostly new ones, some sent slowly (so that a kill finds
them mid-body, their staging files on disk) and some the same bytes again (the
deduplicating path). At a random moment after the round's first acknowledged upload
(fixed seed) the server is SIGKILLed, and the next round's start must remove the dead
process's staging files. After the last round every acknowledged upload is read back
byte-exact, the original and thumbnail of every listed image are read, and ``photostore
verify`` must find no damage (no row without its blob). ``photostore gc --grace 0``,
run beside the last server, must then leave no orphan blob, no partial write and no
staging file. The table gives what was acknowledged and lost (must be 0) and what was
left behind before and after gc.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx

from bench.serving import (
    COMMAND,
    UPLOAD_CONTENT_TYPE,
    ServeProcess,
    make_photo,
    multipart_body,
    photostore_cli,
    photostore_env,
)

EMAIL, PASSWORD = "kill-rounds@example.org", "kill rounds password"


_SERVE_ENV = photostore_env(allow_signup="true")


def _slowly(body: bytes, pieces: int, pause: float) -> Iterator[bytes]:
    step = max(1, len(body) // pieces)
    for at in range(0, len(body), step):
        yield body[at : at + step]
        time.sleep(pause)


@dataclass
class Uploads:
    """What the clients sent and what the server acknowledged, shared by their threads."""

    acknowledged: dict[str, bytes] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    refused: int = 0
    other_ids: int = 0
    """The same bytes again answered with another image than the first time."""
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(base: str, token: str, rng: random.Random, uploads: Uploads) -> None:
    """Upload until the server dies: new photos, slow ones, and the same bytes again."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": UPLOAD_CONTENT_TYPE,
    }
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        while True:
            roll = rng.random()
            with uploads.lock:
                known = rng.choice(uploads.order) if uploads.order else None
            if roll < 0.1 and known is not None:
                expected_id, photo = known, uploads.acknowledged[known]
            elif roll > 0.8:
                # Over the parser's 256 KiB batch, sent slowly: a kill finds it staged.
                expected_id, photo = None, make_photo(rng, 800, 600)
            else:
                expected_id, photo = None, make_photo(rng)
            body = multipart_body(photo)
            content = _slowly(body, 8, 0.05) if roll > 0.8 else body
            try:
                answer = client.post("/v1/images", content=content)
            except httpx.TransportError:
                return  # killed
            if answer.status_code not in (200, 201):
                with uploads.lock:
                    uploads.refused += 1
                continue
            image_id = str(answer.json()["id"])
            with uploads.lock:
                if expected_id is not None and image_id != expected_id:
                    uploads.other_ids += 1
                    continue
                if image_id not in uploads.acknowledged:
                    uploads.order.append(image_id)
                uploads.acknowledged[image_id] = photo


def staged_files(data_dir: Path) -> list[Path]:
    """Staging files on disk (the lock files of process folders aside)."""
    root = data_dir / "tmp"
    return [p for p in root.rglob("*") if p.is_file() and p.name != ".lock"]


def partial_writes(data_dir: Path) -> list[Path]:
    """Temporary files of the local blob store's writes (``.tmp-*``)."""
    return [p for p in (data_dir / "blobs").rglob(".tmp-*") if p.is_file()]


def orphan_count(data_dir: Path) -> int:
    """The orphans ``photostore verify`` reports; RuntimeError on damage."""
    report = photostore_cli("verify", "--data-dir", str(data_dir))
    found = re.search(r"(\d+) damaged, (\d+) orphans", report)
    if found is None or found.group(1) != "0":
        raise RuntimeError(f"verify found damage:\n{report}")
    return int(found.group(2))


@dataclass
class KillReport:
    """What the rounds did and what they left."""

    rounds: int = 0
    acknowledged: int = 0
    refused: int = 0
    other_ids: int = 0
    lost: list[str] = field(default_factory=list)
    listed: int = 0
    unreadable_listed: list[str] = field(default_factory=list)
    staged_after_kills: int = 0
    staged_after_starts: int = 0
    orphans_before_gc: int = 0
    partials_before_gc: int = 0
    orphans_after_gc: int = 0
    partials_after_gc: int = 0
    staged_after_gc: int = 0
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        """Nothing lost, nothing broken visible, nothing left behind after gc."""
        return not (
            self.lost
            or self.unreadable_listed
            or self.other_ids
            or self.staged_after_starts
            or self.orphans_after_gc
            or self.partials_after_gc
            or self.staged_after_gc
        )


def _listed_ids(client: httpx.Client) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    while True:
        page = client.get(
            "/v1/images", params={"limit": 100, **({"cursor": cursor} if cursor else {})}
        ).json()
        ids += [item["id"] for item in page["items"]]
        cursor = page.get("next_cursor")
        if cursor is None:
            return ids


def _check_reads(base: str, token: str, uploads: Uploads, report: KillReport) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for image_id, photo in uploads.acknowledged.items():
            got = client.get(f"/v1/images/{image_id}/content")
            if got.status_code != 200 or got.content != photo:
                report.lost.append(image_id)
        listed = _listed_ids(client)
        report.listed = len(listed)
        for image_id in listed:
            original = client.get(f"/v1/images/{image_id}/content")
            thumbnail = client.get(f"/v1/images/{image_id}/thumbnail")
            if original.status_code != 200 or thumbnail.status_code != 200:
                report.unreadable_listed.append(image_id)


def run_kill_rounds(
    work: Path, rounds: int, seed: int, clients: int = 3, max_delay: float = 1.0
) -> KillReport:
    """``rounds`` SIGKILLed servers on a data folder in ``work``, then the checks."""
    began = time.monotonic()
    rng = random.Random(seed)
    data_dir = work / "data"
    try:
        return _rounds(work, data_dir, rounds, rng, clients, max_delay, began)
    except BaseException:
        # A round that failed leaves the embedded PostgreSQL running with no holder: a
        # command joins and lets go of it, which stops it.
        subprocess.run(
            [*COMMAND, "migrate", "--data-dir", str(data_dir)],
            env=photostore_env(),
            capture_output=True,
            timeout=120,
            check=False,
        )
        raise


def _rounds(
    work: Path,
    data_dir: Path,
    rounds: int,
    rng: random.Random,
    clients: int,
    max_delay: float,
    began: float,
) -> KillReport:
    uploads = Uploads()
    report = KillReport()
    token = ""
    for n in range(rounds):
        server = ServeProcess(data_dir, work / f"serve-{n}.log", _SERVE_ENV)
        try:
            # The start removed every staging folder of the process killed before it.
            report.staged_after_starts += len(staged_files(data_dir))
            if not token:
                # Signing up in the server saves a command's start (PHOTOSTORE_ALLOW_SIGNUP).
                signed_up = httpx.post(
                    f"{server.base}/v1/users", json={"email": EMAIL, "password": PASSWORD}
                )
                if signed_up.status_code != 202:
                    raise RuntimeError(f"sign-up failed: {signed_up.text}")
                token = httpx.post(
                    f"{server.base}/v1/auth/token",
                    data={"username": EMAIL, "password": PASSWORD},
                ).json()["access_token"]
            threads = [
                threading.Thread(
                    target=_client,
                    args=(server.base, token, random.Random(rng.getrandbits(64)), uploads),
                )
                for _ in range(clients)
            ]
            before = len(uploads.acknowledged)
            for thread in threads:
                thread.start()
            # The random delay counts from the round's first acknowledged upload, so that
            # a slow start (a busy machine) never leaves a round without uploads in flight.
            deadline = time.monotonic() + 30
            while len(uploads.acknowledged) == before and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, max_delay))
        finally:
            server.kill()
        for thread in threads:
            thread.join(60)
        report.staged_after_kills += len(staged_files(data_dir))
        report.rounds += 1
    # The checks and gc run while a last server serves: gc is meant to run beside it.
    server = ServeProcess(data_dir, work / "serve-last.log", _SERVE_ENV)
    try:
        report.staged_after_starts += len(staged_files(data_dir))
        _check_reads(server.base, token, uploads, report)
        report.orphans_before_gc = orphan_count(data_dir)
        report.partials_before_gc = len(partial_writes(data_dir))
        photostore_cli("gc", "--data-dir", str(data_dir), "--grace", "0")
        report.orphans_after_gc = orphan_count(data_dir)
        report.partials_after_gc = len(partial_writes(data_dir))
        report.staged_after_gc = len(staged_files(data_dir))
    finally:
        server.stop()
    report.acknowledged = len(uploads.acknowledged)
    report.refused = uploads.refused
    report.other_ids = uploads.other_ids
    report.seconds = time.monotonic() - began
    return report


def print_report(report: KillReport, seed: int) -> None:
    rows = [
        ("rounds (serve SIGKILLed)", report.rounds),
        ("acknowledged uploads", report.acknowledged),
        ("refused uploads (4xx/5xx answers)", report.refused),
        ("lost uploads (must be 0)", len(report.lost)),
        ("same bytes, another image (must be 0)", report.other_ids),
        ("listed images", report.listed),
        ("listed but unreadable (must be 0)", len(report.unreadable_listed)),
        ("staging files right after the kills", report.staged_after_kills),
        ("staging files after the next start", report.staged_after_starts),
        ("orphan blobs before gc", report.orphans_before_gc),
        ("partial writes before gc", report.partials_before_gc),
        ("orphan blobs after gc", report.orphans_after_gc),
        ("partial writes after gc", report.partials_after_gc),
        ("staging files after gc", report.staged_after_gc),
    ]
    print(f"\nkill rounds: seed {seed}, {report.seconds:.0f} s")
    for name, value in rows:
        print(f"{name:<40}{value:>8}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--max-delay", type=float, default=1.5, help="seconds before a kill")
    parser.add_argument("--work", type=Path, default=None, help="keep the folder here")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="photostore-bench-kill-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o711)  # the embedded PostgreSQL runs as its own user under root
    try:
        report = run_kill_rounds(work, args.rounds, args.seed, args.clients, args.max_delay)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print_report(report, args.seed)
    return 0 if report.clean else 1


if __name__ == "__main__":
    raise SystemExit(main())

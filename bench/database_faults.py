"""The embedded PostgreSQL killed and restarted, round after round, under requests to a
real ``photostore serve``: how long callers wait for it, and what they are answered.

    python -m bench.database_faults [--rounds 30] [--seed 7] [--workers 4]

Each round picks a fault from the seed (SIGKILL of the postmaster, ``pg_ctl restart -m
fast``, ``-m immediate``) after a pause of 0.5-2 s under load, then waits for 20 answered
successes. The table gives, per fault, the rounds, the requests, how many were 503 with
Retry-After and how many anything else but a success (which must be 0), and the time from
the fault to the last answer that was not a success (the outage callers see; after a
SIGKILL it is serve's supervisor that brings the server back).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx
from tests import imagegen
from tests.faults.load import Load

from bench.serving import photostore_serve
from photostore.db.postmaster import cluster_lock, live_postmaster_pid
from photostore.db.programs import run_pg_ctl

EMAIL, PASSWORD = "bench@example.org", "bench password"
FAULTS = ("kill -9", "restart fast", "restart immediate")


def _create_user(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSTORE_")}
    done = subprocess.run(
        [sys.executable, "-m", "photostore", "user", "create", "--data-dir", str(data_dir),
         "--email", EMAIL, "--password", PASSWORD],
        capture_output=True, text=True, env={**env, "PHOTOSTORE_LOG_LEVEL": "WARNING"},
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(done.stderr)


def _inject(fault: str, pgdata: Path) -> None:
    if fault == "kill -9":
        pid = live_postmaster_pid(pgdata)
        assert pid is not None, "no postmaster to kill"
        os.kill(pid, signal.SIGKILL)
        return
    with cluster_lock():  # as an operator's restart: the supervisor waits
        run_pg_ctl(pgdata, "restart", "--wait", "-m", fault.split()[1], timeout=300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rows: dict[str, list[tuple[int, int, int, float]]] = {fault: [] for fault in FAULTS}
    with tempfile.TemporaryDirectory(prefix="photostore-bench-") as scratch:
        Path(scratch).chmod(0o755)  # the server's OS account must reach pgdata below it
        data_dir = Path(scratch) / "data"
        _create_user(data_dir)
        pgdata = data_dir.resolve() / "pgdata"
        with photostore_serve(data_dir, {"embedded_database_check_seconds": "0.5"}) as base:
            token = httpx.post(
                f"{base}/v1/auth/token", data={"username": EMAIL, "password": PASSWORD}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            photo = imagegen.make_jpeg(None, 120, 80, seed=args.seed)
            stored = httpx.post(
                f"{base}/v1/images", files={"file": ("p.jpg", photo)}, headers=headers
            ).json()
            for _ in range(args.rounds):
                fault = rng.choice(FAULTS)
                with Load(base, headers, stored["id"], workers=args.workers) as load:
                    time.sleep(rng.uniform(0.5, 2.0))
                    at = time.monotonic()
                    _inject(fault, pgdata)
                    load.wait_for_successes_after(at, 20, timeout=120)
                tally = load.tally
                failed = [a.at for a in tally.failures() if a.at > at]
                outage = max(failed) - at if failed else 0.0
                retry = sum(1 for a in tally.answers if a.status == 503 and a.retry_after)
                rows[fault].append((len(tally.answers), retry, len(tally.unexplained()), outage))
    print(f"{args.rounds} rounds, seed {args.seed}, {args.workers} clients\n")
    print(f"{'fault':<18} {'rounds':>6} {'requests':>9} {'503+RA':>7} {'other':>6} "
          f"{'outage median':>14} {'outage max':>11}")  # fmt: skip
    for fault, results in rows.items():
        if not results:
            continue
        outages = [r[3] for r in results]
        print(
            f"{fault:<18} {len(results):>6} {sum(r[0] for r in results):>9} "
            f"{sum(r[1] for r in results):>7} {sum(r[2] for r in results):>6} "
            f"{statistics.median(outages):>13.2f}s {max(outages):>10.2f}s"
        )


if __name__ == "__main__":
    main()

"""PostgreSQL restarted under concurrent requests to a real ``serve``: every answer that is
not a success is 503 with Retry-After (never a 500), and requests succeed again after."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from photostore.db.postmaster import cluster_lock, live_postmaster_pid
from photostore.db.programs import PostgresProgramFailed, run_pg_ctl
from tests import imagegen
from tests.conftest import postgres_folder
from tests.faults.load import Load
from tests.processes import login, run_cli, serving

pytestmark = pytest.mark.slow  # a server and a cluster of its own

EMAIL, PASSWORD = "ada@example.org", "ada password"


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with postgres_folder() as folder:
        yield folder / "photostore-data"


def _restart(pgdata: Path, mode: str) -> None:
    try:
        run_pg_ctl(pgdata, "restart", "--wait", "-m", mode, timeout=120)
    except PostgresProgramFailed as exc:
        # The stop ran; the start met the stopped postmaster not yet reaped by the
        # machine's init (docs/operations.md): serve's supervisor starts it once it is.
        assert "could not start server" in str(exc), exc


def test_every_answer_during_a_restart_is_503_with_retry_after(data_dir: Path) -> None:
    pgdata = data_dir.resolve() / "pgdata"
    made = run_cli(
        "user", "create", "--data-dir", str(data_dir), "--email", EMAIL, "--password", PASSWORD
    )
    assert made.returncode == 0, made.stderr
    with serving(data_dir, quiet=False) as base:
        headers = login(base, EMAIL, PASSWORD)
        photo = imagegen.make_jpeg(None, 120, 80, seed=4)
        stored = httpx.post(f"{base}/v1/images", files={"file": ("p.jpg", photo)}, headers=headers)
        assert stored.status_code == 201, stored.text
        with Load(base, headers, stored.json()["id"], workers=4) as load:
            for mode in ("fast", "immediate"):
                time.sleep(1)
                before = live_postmaster_pid(pgdata)
                # Under the lock every start and stop of the cluster takes, as an operator's
                # restart would be: serve's supervisor waits instead of starting it itself.
                with cluster_lock():
                    _restart(pgdata, mode)
                load.wait_for_successes_after(time.monotonic(), 30, timeout=60)
                assert live_postmaster_pid(pgdata) not in (None, before)
        tally = load.tally
        print(f"postgres restarted twice (fast, immediate) under load: {tally.summary()}")
        assert tally.unexplained() == [], tally.unexplained()
        assert tally.statuses()[503] > 0, "the restarts went unseen"
        ready = [a for a in tally.answers if a.route == "ready" and a.status == 503]
        assert ready and all(a.retry_after == "1" for a in ready)

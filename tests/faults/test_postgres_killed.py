"""The embedded PostgreSQL killed under load: ``serve`` starts it again by itself, callers
meet 503 with Retry-After meanwhile (never a 500), and a clean stop stops the new server."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx2 as httpx
import pytest

from photostore.db.postmaster import live_postmaster_pid
from tests import imagegen
from tests.conftest import postgres_folder
from tests.faults.load import Load
from tests.processes import login, postgres_running_in, run_cli, serving

pytestmark = pytest.mark.slow  # two servers and a cluster of their own

EMAIL, PASSWORD = "ada@example.org", "ada password"
CHECK_EVERY = {"PHOTOSTORE_EMBEDDED_DATABASE_CHECK_SECONDS": "0.5"}


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with postgres_folder() as folder:
        yield folder / "photostore-data"


def _log_of(data_dir: Path, base: str) -> str:
    return (data_dir.parent / f"serve-{base.rsplit(':', 1)[1]}.log").read_text()


def test_a_killed_postgres_is_started_again_and_stopped_with_the_last_serve(
    data_dir: Path,
) -> None:
    pgdata = data_dir.resolve() / "pgdata"
    made = run_cli(
        "user", "create", "--data-dir", str(data_dir), "--email", EMAIL, "--password", PASSWORD
    )
    assert made.returncode == 0, made.stderr
    with ExitStack() as first, ExitStack() as second:
        # Two processes on one folder, as behind a load balancer.
        stacks = {
            first.enter_context(serving(data_dir, CHECK_EVERY, quiet=False)): first,
            second.enter_context(serving(data_dir, CHECK_EVERY, quiet=False)): second,
        }
        headers = login(next(iter(stacks)), EMAIL, PASSWORD)
        photo = imagegen.make_jpeg(None, 120, 80, seed=3)
        stored = httpx.post(
            f"{next(iter(stacks))}/v1/images", files={"file": ("p.jpg", photo)}, headers=headers
        )
        assert stored.status_code == 201, stored.text
        killed = live_postmaster_pid(pgdata)
        assert killed is not None

        loads = [Load(base, headers, stored.json()["id"], workers=2) for base in stacks]
        with ExitStack() as running:
            for load in loads:
                running.enter_context(load)
            time.sleep(1)
            os.kill(killed, signal.SIGKILL)
            at = time.monotonic()
            for load in loads:
                load.wait_for_successes_after(at, 30, timeout=90)

        restarted = live_postmaster_pid(pgdata)
        assert restarted not in (None, killed)
        for load in loads:
            print(f"postgres killed under load: {load.tally.summary()}")
            assert load.tally.unexplained() == [], load.tally.unexplained()
        assert any(load.tally.statuses()[503] for load in loads), "the kill went unseen"
        content = httpx.get(
            f"{next(iter(stacks))}/v1/images/{stored.json()['id']}/content", headers=headers
        )
        assert content.content == photo

        # One process started it; the other found it started.
        by = [base for base in stacks if "restarted by this process" in _log_of(data_dir, base)]
        assert len(by) == 1, [_log_of(data_dir, base) for base in stacks]
        # The process that did not restart it lets go last: its stop must stop the new one.
        stacks[by[0]].close()
        assert postgres_running_in(pgdata), "the other serve still holds the cluster"
    assert not postgres_running_in(pgdata), "the restarted PostgreSQL outlived serve"

"""An import killed half-way, run again, stores the rest and skips what it stored."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from photostore.config import Settings
from tests import imagegen
from tests.conftest import Account, ScratchDatabase
from tests.processes import COMMAND, cli_env, run_cli
from tests.transfer.library import cli_env as transfer_env

PHOTOS = 40


def _count(client: TestClient, account: Account) -> int:
    page = client.get("/v1/images", params={"limit": 100}, headers=account.headers)
    return len(page.json()["items"])


@pytest.mark.slow
def test_an_import_killed_half_way_goes_on_where_it_stopped(
    client: TestClient,
    settings: Settings,
    database: ScratchDatabase,
    alice: Account,
    tmp_path: Path,
) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    for n in range(PHOTOS):
        imagegen.make_jpeg(root / f"IMG_{n:04}.jpg", 1200, 900, seed=n)
    env = {**cli_env(), **transfer_env(settings, database.owner_url)}
    process = subprocess.Popen(
        [*COMMAND, "import", str(root), "--user", alice.email],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while _count(client, alice) < 2 and process.poll() is None:
            assert time.monotonic() < deadline, "the import stored nothing"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the import ended before it was killed"
    stored_before = _count(client, alice)
    assert 2 <= stored_before < PHOTOS

    again = run_cli("import", str(root), "--user", alice.email, env=env)
    assert again.returncode == 0, again.stderr
    counts = re.search(r"(\d+) stored, (\d+) already stored, 0 skipped", again.stdout)
    assert counts is not None, again.stdout
    assert (int(counts[1]), int(counts[2])) == (PHOTOS - stored_before, stored_before)
    assert _count(client, alice) == PHOTOS

"""Staging folders per process (``services.staging_area``): the plaintext a dead process
staged is removed as soon as another process looks, a live process's files never are."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from bench.serving import (
    UPLOAD_CONTENT_TYPE,
    ServeProcess,
    make_photo,
    multipart_body,
    photostore_cli,
    photostore_env,
)
from fastapi.testclient import TestClient

from photostore.app import create_app
from photostore.config import Settings
from photostore.services.staging_area import (
    LOCK_NAME,
    StagingArea,
    StagingSweep,
    sweep_staging,
)
from tests.conftest import postgres_folder

EMAIL, PASSWORD = "ada@example.org", "ada password"

_CLAIM_AND_WAIT = """
import sys, time
from pathlib import Path
from photostore.services.staging_area import StagingArea
area = StagingArea.claim(Path(sys.argv[1]))
(area.folder / "upload-photo").write_bytes(b"plaintext photo")
print(area.folder, flush=True)
time.sleep(120)
"""


@pytest.fixture
def other_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """Another process that has staged a file in its own folder below the staging root of
    the ``settings`` fixture's data folder, ``tmp_path/data/tmp``."""
    process = subprocess.Popen(
        [sys.executable, "-c", _CLAIM_AND_WAIT, str(tmp_path / "data" / "tmp")],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert process.stdout is not None
    folder = Path(process.stdout.readline().strip())
    try:
        yield process, folder
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


def test_a_dead_process_s_folder_is_swept_and_a_live_one_s_stays(
    tmp_path: Path, other_process: tuple[subprocess.Popen[str], Path]
) -> None:
    root = tmp_path / "data" / "tmp"
    process, theirs = other_process
    ours = StagingArea.claim(root)
    (ours.folder / "upload-ours").write_bytes(b"ours")
    (root / "upload-of-an-older-photostore").write_bytes(b"old")

    # Both processes live: only the older photostore's loose file goes.
    assert sweep_staging(root) == StagingSweep(folders=0, files=1, bytes=3)
    assert (theirs / "upload-photo").is_file()
    assert (ours.folder / "upload-ours").is_file()

    process.kill()
    process.wait()
    assert sweep_staging(root, dry_run=True) == StagingSweep(folders=1, files=1, bytes=15)
    assert (theirs / "upload-photo").is_file()
    assert sweep_staging(root) == StagingSweep(folders=1, files=1, bytes=15)
    assert not theirs.exists()
    assert (ours.folder / "upload-ours").is_file()

    ours.release()
    assert list(root.iterdir()) == []


def test_a_start_removes_a_dead_process_s_staging_files_and_a_stop_its_own(
    settings: Settings, tmp_path: Path, other_process: tuple[subprocess.Popen[str], Path]
) -> None:
    process, theirs = other_process
    process.kill()
    process.wait()
    assert settings.staging_dir == tmp_path / "data" / "tmp"  # where other_process staged
    with TestClient(create_app(settings)) as client:
        assert not theirs.exists()
        own = client.app.state.ctx.staging_folder()  # type: ignore[attr-defined]
        assert own.parent == settings.staging_dir and own.is_dir()
    assert not own.exists()


@pytest.fixture
def folder() -> Iterator[Path]:
    with postgres_folder() as scratch:
        yield scratch


def _wait_for(condition: Callable[[], object], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {seconds} s")
        time.sleep(0.05)


class _HeldUpload(threading.Thread):
    """An upload whose body stops half way until :attr:`go_on` is set."""

    def __init__(self, base: str, token: str, photo: bytes) -> None:
        super().__init__()
        self.base, self.token, self.body = base, token, multipart_body(photo)
        self.go_on = threading.Event()
        self.status: int | None = None

    def _body(self) -> Iterator[bytes]:
        half = len(self.body) // 2
        yield self.body[:half]
        self.go_on.wait(30)
        yield self.body[half:]

    def run(self) -> None:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": UPLOAD_CONTENT_TYPE,
        }
        try:
            answer = httpx.post(
                f"{self.base}/v1/images", content=self._body(), headers=headers, timeout=30
            )
            self.status = answer.status_code
        except httpx.TransportError:
            self.status = -1


def _staged(data_dir: Path, pid: int) -> list[Path]:
    return [
        p
        for p in (data_dir / "tmp").glob(f"proc-{pid}-*/upload-*")
        if p.is_file() and p.stat().st_size > 0
    ]


@pytest.mark.slow
def test_a_live_server_sweeps_the_staging_files_of_a_killed_one(folder: Path) -> None:
    """Two servers on one folder, each mid-upload; one is SIGKILLed: the other's sweep
    removes the dead one's plaintext within its interval and its own upload completes."""
    data_dir = folder / "data"
    photostore_cli(
        "user", "create", "--data-dir", str(data_dir), "--email", EMAIL, "--password", PASSWORD
    )
    doomed = ServeProcess(data_dir, folder / "doomed.log")
    survivor = ServeProcess(
        data_dir, folder / "survivor.log", photostore_env(staging_sweep_seconds="0.2")
    )
    try:
        token = httpx.post(
            f"{survivor.base}/v1/auth/token", data={"username": EMAIL, "password": PASSWORD}
        ).json()["access_token"]
        # Over the parser's 256 KiB batch in the first half: staged before it stops.
        photo = make_photo(random.Random(5), 1200, 900)
        uploads = [_HeldUpload(doomed.base, token, photo), _HeldUpload(survivor.base, token, photo)]
        for upload in uploads:
            upload.start()
        _wait_for(lambda: _staged(data_dir, doomed.process.pid), "the doomed upload staged")
        _wait_for(lambda: _staged(data_dir, survivor.process.pid), "the live upload staged")
        doomed.kill()
        dead_folders = list((data_dir / "tmp").glob(f"proc-{doomed.process.pid}-*"))
        assert dead_folders
        _wait_for(lambda: not any(f.exists() for f in dead_folders), "the sweep removed them")
        assert _staged(data_dir, survivor.process.pid), "the live upload's file was touched"
        for upload in uploads:
            upload.go_on.set()
            upload.join(30)
        assert uploads[1].status == 201
    finally:
        if doomed.process.poll() is None:
            doomed.kill()
        survivor.stop()
        # The killed server is still listed as a holder of the embedded PostgreSQL: a
        # command's start forgets it, and its exit then stops the cluster.
        photostore_cli("migrate", "--data-dir", str(data_dir))
    assert list((data_dir / "tmp").iterdir()) == []


def test_a_claim_abandoned_halfway_is_swept_and_a_fresh_one_stays(tmp_path: Path) -> None:
    root = tmp_path / "tmp"
    root.mkdir()
    abandoned, fresh = root / ".claim-0123456789ab", root / ".claim-ba9876543210"
    for claim in (abandoned, fresh):
        claim.mkdir()
        (claim / LOCK_NAME).touch()  # a process killed before it took the lock
    old = time.time() - 3600
    os.utime(abandoned, (old, old))

    swept = sweep_staging(root)
    assert swept.folders == 1
    assert not abandoned.exists()
    assert fresh.is_dir()  # made a moment ago: its process may be taking the lock now

"""A backup of a folder whose blobs are not encrypted carries the blobs' chunk sums, so
the restored folder checks every read as the original one did: ``verify`` on it finds
every blob checked, none "unchecked"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests import imagegen
from tests.conftest import postgres_folder
from tests.processes import login, run_cli, serving

pytestmark = pytest.mark.slow  # a cluster, a server, a backup and a restore of its own

EMAIL, PASSWORD = "ada@example.org", "ada password"
PLAIN = {"PHOTOSTORE_ENCRYPT_BLOBS": "false"}


@pytest.fixture
def folder() -> Iterator[Path]:
    with postgres_folder() as scratch:
        yield scratch


def test_a_plain_folder_restores_with_its_chunk_sums(folder: Path) -> None:
    data_dir, target, restored = folder / "data", folder / "backup", folder / "restored"
    made = run_cli(
        "user", "create", "--data-dir", str(data_dir), "--email", EMAIL, "--password", PASSWORD,
        env=PLAIN,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    with serving(data_dir, PLAIN) as base:
        headers = login(base, EMAIL, PASSWORD)
        photo = imagegen.make_png(None, 64, 48, seed=3)
        sent = httpx.post(f"{base}/v1/images", headers=headers, files={"file": ("p.png", photo)})
        assert sent.status_code == 201, sent.text
    backed_up = run_cli("backup", "create", "--data-dir", str(data_dir), "--to", str(target))
    assert backed_up.returncode == 0, backed_up.stderr
    done = run_cli("restore", "--from", str(target), "--data-dir", str(restored), env=PLAIN)
    assert done.returncode == 0, done.stderr

    blobs = restored / "blobs"
    stored = {
        path.relative_to(blobs).as_posix()
        for path in blobs.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    }
    sums = {key for key in stored if key.startswith("chunk-sums/")}
    # An original and its thumbnails, each with its sums.
    assert len(stored - sums) >= 2
    assert {f"chunk-sums/{key}" for key in stored - sums} == sums
    verified = run_cli("verify", "--data-dir", str(restored), env=PLAIN)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "0 damaged" in verified.stdout
    assert "0 unchecked" in verified.stdout, verified.stdout

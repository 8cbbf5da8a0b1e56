"""Backups that restore, end to end with real processes: ``backup create`` while a server
takes uploads, an incremental point, ``backup list``, a restore refused without its keys,
a restore that serves every photo byte-exact, a drill that passes and one that finds a
damaged copy, and ``verify`` finding a damaged blob in a live folder."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests import imagegen
from tests.conftest import postgres_folder
from tests.processes import login, run_cli, serving

pytestmark = pytest.mark.slow  # clusters, servers and backups of their own

EMAIL, PASSWORD = "ada@example.org", "ada password"
PASSPHRASE = {"PHOTOSTORE_KEYS_PASSPHRASE": "correct horse battery staple"}


@pytest.fixture
def folder() -> Iterator[Path]:
    with postgres_folder() as scratch:
        yield scratch


def _upload(base: str, headers: dict[str, str], seed: int) -> tuple[str, bytes]:
    photo = imagegen.make_png(None, 32, 24, seed=seed)
    answer = httpx.post(
        f"{base}/v1/images", headers=headers, files={"file": (f"p{seed}.png", photo)}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"]), photo


def _backup(data_dir: Path, target: Path) -> str:
    done = run_cli("backup", "create", "--data-dir", str(data_dir), "--to", str(target))
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_online_backup_restores_every_photo_acknowledged_before_it(folder: Path) -> None:
    data_dir, target = folder / "data", folder / "backup"
    made = run_cli(
        "user", "create", "--data-dir", str(data_dir), "--email", EMAIL, "--password", PASSWORD
    )
    assert made.returncode == 0, made.stderr
    before: dict[str, bytes] = {}
    during: dict[str, bytes] = {}
    with serving(data_dir) as base:
        headers = login(base, EMAIL, PASSWORD)
        before.update(_upload(base, headers, seed) for seed in range(4))
        assert "(full)" in _backup(data_dir, target)
        before.update(_upload(base, headers, seed) for seed in range(4, 6))

        # Uploads go on while the second backup runs: each is in the point or after it,
        # never half in it.
        stop = threading.Event()

        def keep_uploading() -> None:
            seed = 100
            while not stop.is_set():
                during.update([_upload(base, headers, seed)])
                seed += 1

        writer = threading.Thread(target=keep_uploading)
        writer.start()
        try:
            second = _backup(data_dir, target)
        finally:
            stop.set()
            writer.join()
        assert "(incremental)" in second, second
    assert during, "no upload ran during the backup"

    listed = run_cli("backup", "list", "--from", str(target))
    assert listed.returncode == 0, listed.stderr
    points = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [p[1] for p in points] == ["full", "incremental"]
    assert points[0][3] == "4 images"
    images_in_point = int(points[1][3].split()[0])
    assert len(before) <= images_in_point <= len(before) + len(during)

    # Without the keys, nothing is made.
    restored = folder / "restored"
    refused = run_cli("restore", "--from", str(target), "--data-dir", str(restored))
    assert refused.returncode == 1
    assert "needs the master keys" in refused.stderr and "--keys" in refused.stderr
    assert not restored.exists()

    keys = folder / "keys.bin"
    exported = run_cli(
        "keys", "export", "--data-dir", str(data_dir), "--to", str(keys), env=PASSPHRASE
    )
    assert exported.returncode == 0, exported.stderr
    done = run_cli(
        "restore", "--from", str(target), "--data-dir", str(restored), "--keys", str(keys),
        env=PASSPHRASE,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    with serving(restored) as base:
        headers = login(base, EMAIL, PASSWORD)
        listed_ids = []
        url: str | None = f"{base}/v1/images?limit=100"
        while url is not None:
            page = httpx.get(url, headers=headers).json()
            listed_ids += [item["id"] for item in page["items"]]
            cursor = page.get("next_cursor")
            url = None if cursor is None else f"{base}/v1/images?limit=100&cursor={cursor}"
        assert len(listed_ids) == images_in_point
        assert set(before) <= set(listed_ids)
        assert set(listed_ids) <= set(before) | set(during)
        for image_id in listed_ids:
            original = httpx.get(f"{base}/v1/images/{image_id}/content", headers=headers)
            assert original.status_code == 200
            assert original.content == {**before, **during}[image_id]

    drill = run_cli("backup", "drill", "--from", str(target), "--data-dir", str(data_dir))
    assert drill.returncode == 0, drill.stdout + drill.stderr
    assert "passed" in drill.stdout and "recovery time" in drill.stdout
    assert "(no continuous archive)" in drill.stdout

    # A damaged copy in the backup fails the drill, naming it.
    victim = next(p for p in (target / "objects").rglob("*") if p.is_file())
    victim.write_bytes(b"\0" + victim.read_bytes()[1:])
    failed = run_cli("backup", "drill", "--from", str(target), "--data-dir", str(data_dir))
    assert failed.returncode == 1, failed.stdout
    assert "FAILED" in failed.stdout and "is damaged" in failed.stdout

    # So does a damaged blob in the live folder, for verify.
    sound = run_cli("verify", "--data-dir", str(data_dir))
    assert sound.returncode == 0, sound.stdout + sound.stderr
    assert "0 damaged" in sound.stdout
    blob = next(
        p for p in (data_dir / "blobs").rglob("*") if p.is_file() and "originals" in p.parts
    )
    blob.write_bytes(blob.read_bytes()[:-1] + bytes([blob.read_bytes()[-1] ^ 1]))
    damaged = run_cli("verify", "--data-dir", str(data_dir))
    assert damaged.returncode == 1, damaged.stdout
    assert "1 damaged" in damaged.stdout

"""What photostore leaves on disk: every file 0600, every folder 0700, the master key
out of the data folder (issue 13, point 8)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from photostore.app import create_app
from photostore.config import Settings
from photostore.crypto.masterkeys import (
    KeyFilesDisagree,
    MasterKeyring,
    keyring_for,
    read_key_file,
    write_key_file,
)
from photostore.services.staging import StagingFile
from tests import imagegen
from tests.conftest import create_account, upload


@pytest.fixture(autouse=True)
def _umask_of_a_usual_shell() -> Iterator[None]:
    """The modes must not depend on the umask: run with the common, permissive one."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    return {
        str(path.relative_to(root)): stat.S_IMODE(path.stat().st_mode)
        for path in [root, *root.rglob("*")]
    }


@pytest.mark.parametrize("encrypt", [True, False], ids=["encrypted", "plain"])
def test_an_upload_leaves_only_private_files_and_folders(settings: Settings, encrypt: bool) -> None:
    settings = settings.model_copy(update={"encrypt_blobs": encrypt})
    with TestClient(create_app(settings)) as client:
        alice = create_account(client, "alice@example.org")
        for data in (imagegen.make_jpeg(None, 400, 300, seed=3), imagegen.make_png(None, 64, 48)):
            image = upload(client, alice, data)
            assert image.status_code == 201, image.text
            image_id = image.json()["id"]
            small = f"/v1/images/{image_id}/thumbnail?size=small"
            assert client.get(small, headers=alice.headers).status_code == 200
    modes = _modes(settings.data_dir)
    blobs = [name for name in modes if name.startswith("blobs/originals/")]
    assert blobs and any(name.startswith("blobs/derivatives/") for name in modes)
    wrong = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (settings.data_dir / name).is_dir() else 0o600)
    }
    assert wrong == {}
    if encrypt:
        key_file = settings.resolved_master_key_file
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700


def test_a_staging_file_is_private_from_its_first_byte(tmp_path: Path) -> None:
    staging = StagingFile(tmp_path / "data" / "tmp", limit=10)
    staging.write(b"abc")
    assert stat.S_IMODE(staging.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(staging.path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(staging.path.parent.parent.stat().st_mode) == 0o700
    staging.discard()


def test_the_folders_an_older_photostore_left_open_are_closed_on_start(
    settings: Settings,
) -> None:
    for folder in (settings.resolved_blob_dir / "originals", settings.staging_dir):
        folder.mkdir(parents=True, mode=0o755)
        folder.chmod(0o755)
    settings.resolved_blob_dir.chmod(0o755)
    with TestClient(create_app(settings)):
        pass
    for folder in (settings.resolved_blob_dir, settings.staging_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


# -- where the master key lives ------------------------------------------------------


def test_the_master_key_lives_outside_the_data_and_blob_folders(
    client: TestClient, settings: Settings
) -> None:
    key_file = settings.resolved_master_key_file.resolve()
    assert key_file.is_file()
    for folder in (settings.data_dir.resolve(), settings.resolved_blob_dir.resolve()):
        assert not key_file.is_relative_to(folder)
    # What a cold copy of the data folder carries: no key of any kind to the blobs.
    assert [p.name for p in settings.data_dir.rglob("master.json")] == []


def test_a_key_file_in_the_old_place_is_moved_and_its_blobs_still_read(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    legacy = settings.legacy_master_key_file
    before = settings.model_copy(update={"master_key_file": legacy})
    data = imagegen.make_png(None, 40, 30, seed=9)
    with TestClient(create_app(before)) as client:
        alice = create_account(client, "alice@example.org")
        image_id = upload(client, alice, data).json()["id"]
        tokens = alice.headers
    ring = read_key_file(legacy)
    caplog.set_level(logging.WARNING, logger="photostore.crypto.masterkeys")
    with TestClient(create_app(settings)) as client:
        content = client.get(f"/v1/images/{image_id}/content", headers=tokens)
        assert content.status_code == 200
        assert content.content == data
    assert not legacy.exists() and not legacy.parent.exists()
    assert read_key_file(settings.resolved_master_key_file) == ring
    moved = [r.getMessage() for r in caplog.records if "moved the master key file" in r.message]
    assert len(moved) == 1
    assert str(legacy) in moved[0] and str(settings.resolved_master_key_file) in moved[0]


def test_two_different_key_files_stop_the_start_with_what_to_do(settings: Settings) -> None:
    write_key_file(settings.legacy_master_key_file, MasterKeyring(current=os.urandom(32)))
    write_key_file(settings.resolved_master_key_file, MasterKeyring(current=os.urandom(32)))
    with pytest.raises(KeyFilesDisagree, match="hold different master keys"):
        keyring_for(settings)
    assert settings.legacy_master_key_file.exists()


def test_a_key_file_moved_half_way_by_a_crash_is_finished(settings: Settings) -> None:
    ring = MasterKeyring(current=os.urandom(32))
    write_key_file(settings.legacy_master_key_file, ring)
    write_key_file(settings.resolved_master_key_file, ring)
    assert keyring_for(settings) == ring
    assert not settings.legacy_master_key_file.exists()

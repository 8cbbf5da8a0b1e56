"""Master keys travel apart from the data: exported under a passphrase, imported without
dropping a key, and a start that lacks a key the database needs stops before serving."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from photostore.app import create_app
from photostore.config import Settings
from photostore.crypto.deletion_log import deletion_log_path, read_deletions, record_deletion
from photostore.crypto.key_export import (
    ExportedKeys,
    KeyFileRefused,
    key_ids_of,
    open_keys,
    seal_keys,
)
from photostore.crypto.key_transfer import export_keys, import_keys, read_export
from photostore.crypto.masterkeys import NoMasterKey, keyring_for, read_key_file
from photostore.services.master_keys import MasterKeysMissing
from tests import imagegen
from tests.conftest import ScratchDatabase, create_account, service_settings, upload

PASSPHRASE = "correct horse battery staple"


def _exported() -> ExportedKeys:
    return ExportedKeys(
        current_id="a" * 16,
        keys={"a" * 16: "QUFB", "b" * 16: "QkJC"},
        deletions=[
            {
                "user_id": "0190a1b2-0000-7000-8000-000000000001",
                "deleted_at": "2026-01-02T03:04:05+00:00",
            }
        ],
    )


def test_a_sealed_file_opens_with_its_passphrase_and_names_its_keys_in_the_clear() -> None:
    data = seal_keys(_exported(), PASSPHRASE)
    assert key_ids_of(data) == ["a" * 16, "b" * 16]
    assert b"QUFB" not in data and b"QkJC" not in data
    assert open_keys(data, PASSPHRASE) == _exported()


def test_a_wrong_passphrase_or_an_edited_header_does_not_open() -> None:
    data = seal_keys(_exported(), PASSPHRASE)
    with pytest.raises(KeyFileRefused, match="passphrase is wrong"):
        open_keys(data, PASSPHRASE + "!")
    document = json.loads(data)
    document["key_ids"] = ["c" * 16]
    with pytest.raises(KeyFileRefused, match="passphrase is wrong or the file was changed"):
        open_keys(json.dumps(document).encode(), PASSPHRASE)


def test_hostile_or_broken_files_are_refused_quickly_and_clearly() -> None:
    document = json.loads(seal_keys(_exported(), PASSPHRASE))
    document["kdf"]["n"] = 2**30  # 128 GiB of scrypt memory
    began = time.monotonic()
    with pytest.raises(KeyFileRefused, match="out of bounds"):
        open_keys(json.dumps(document).encode(), PASSPHRASE)
    assert time.monotonic() - began < 1
    for data, message in [
        (b"\x89PNG not a key file", "not JSON"),
        (b'{"format": "something else"}', "not a photostore key file"),
        (b'{"format": "photostore-keys", "version": 9}', "version 9"),
        (b'{"format": "photostore-keys", "version": 1, "kdf": 3}', "header is damaged"),
    ]:
        with pytest.raises(KeyFileRefused, match=message):
            open_keys(data, PASSPHRASE)
    with pytest.raises(KeyFileRefused, match="at least 12 characters"):
        seal_keys(_exported(), "short")


def _settings(folder: Path, name: str, database_url: str = "postgresql+psycopg://x@/x") -> Settings:
    return service_settings(folder / name, database_url)


def test_export_then_import_moves_every_key_and_deletion_and_drops_none(tmp_path: Path) -> None:
    source = _settings(tmp_path, "source")
    ring = keyring_for(source)
    gone = uuid.uuid4()
    record_deletion(deletion_log_path(source), gone, datetime(2026, 1, 2, tzinfo=UTC))
    export = tmp_path / "keys.json"
    assert export_keys(source, export, PASSPHRASE) == sorted(ring.key_ids)
    assert export.stat().st_mode & 0o077 == 0

    # Into a folder with no keys: the exported current key becomes current there.
    target = _settings(tmp_path, "target")
    done = import_keys(target, read_export(export, PASSPHRASE))
    assert done.key_ids == sorted(ring.key_ids) and done.deletions == 1
    assert read_key_file(target.resolved_master_key_file).current == ring.current
    assert [d.user_id for d in read_deletions(deletion_log_path(target))] == [gone]

    # Into a folder with a key of its own: that key stays current, the new one is kept.
    other = _settings(tmp_path, "other")
    own = keyring_for(other)
    import_keys(other, read_export(export, PASSPHRASE))
    merged = read_key_file(other.resolved_master_key_file)
    assert merged.current == own.current and merged.retired == (ring.current,)
    # Importing again adds nothing.
    again = import_keys(other, read_export(export, PASSPHRASE))
    assert again.key_ids == [] and again.deletions == 0


def test_export_never_makes_a_key(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "empty")
    with pytest.raises(NoMasterKey):
        export_keys(settings, tmp_path / "keys.json", PASSPHRASE)
    assert not settings.resolved_master_key_file.exists()
    assert not (tmp_path / "keys.json").exists()


def test_a_start_without_a_needed_key_stops_and_an_import_brings_the_images_back(
    tmp_path: Path, database: ScratchDatabase
) -> None:
    settings = _settings(tmp_path, "data", database.app_url)
    data = imagegen.make_png(None, 64, 48, seed=4)
    with TestClient(create_app(settings)) as client:
        alice = create_account(client, "alice@example.org")
        image_id = upload(client, alice, data).json()["id"]
    export = tmp_path / "keys.json"
    export_keys(settings, export, PASSPHRASE)
    key_file = settings.resolved_master_key_file
    key_id = read_key_file(key_file).current_id
    key_file.unlink()

    missing = f"{key_id} \\(1 data keys\\).*keys import"
    with pytest.raises(MasterKeysMissing, match=missing), TestClient(create_app(settings)):
        pass
    assert not key_file.exists(), "a refused start made a new key"

    # Another key than the needed one is refused too.
    keyring_for(settings)
    with pytest.raises(MasterKeysMissing, match=key_id), TestClient(create_app(settings)):
        pass

    import_keys(settings, read_export(export, PASSPHRASE))
    with TestClient(create_app(settings)) as client:
        alice = create_account(client, "alice2@example.org")
        login = client.post(
            "/v1/auth/token",
            data={"username": "alice@example.org", "password": "correct horse"},
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        got = client.get(f"/v1/images/{image_id}/content", headers=headers)
        assert got.status_code == 200 and got.content == data

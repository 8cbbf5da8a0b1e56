"""Encryption at rest: blobs are AES-256-GCM ciphertext bound to owner and key; ranges
work; rotation re-wraps keys without rewriting blobs; deleting a user shreds their key."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import stat
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image, PngImagePlugin

from photostore.config import Settings
from photostore.crypto.envelope import CHUNK_SIZE, HEADER_BYTES, OVERHEAD
from photostore.errors import Unreadable
from photostore.keys_cli import _rotate
from photostore.provider import build_context
from photostore.storage.base import BlobStore, original_key
from photostore.storage.encrypted import EncryptedBlobStore
from tests import imagegen
from tests.conftest import Account, ScratchDatabase, upload

CANARY = "PHOTOSTORE-CANARY-7f3a9c"


def _store(client: TestClient) -> EncryptedBlobStore:
    store = client.app.state.ctx.blobs  # type: ignore[attr-defined]
    assert isinstance(store, EncryptedBlobStore)
    return store


def _read(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.read_range(key, start, end))


def test_round_trip_and_ranges_decrypt_only_what_they_touch(
    client: TestClient, alice: Account
) -> None:
    store = _store(client)
    data = os.urandom(3 * CHUNK_SIZE + 1234)
    key = original_key(str(alice.id), "ab" * 32)
    store.put_bytes(key, data)
    assert store.size(key) == len(data)
    assert _read(store, key) == data
    edges = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, len(data) - 1]
    for start in edges:
        for end in (start + 1, start + 2, start + CHUNK_SIZE + 7, len(data), None):
            assert _read(store, key, start, end) == data[start:end], (start, end)
    assert _read(store, key, 10, 10) == b""
    empty = original_key(str(alice.id), "cd" * 32)
    store.put_bytes(empty, b"")
    assert _read(store, empty) == b"" and store.size(empty) == 0
    stored = (store.inner.root / key).stat().st_size  # type: ignore[attr-defined]
    assert stored == HEADER_BYTES + len(data) + 4 * OVERHEAD


def test_a_range_request_through_the_api(client: TestClient, alice: Account) -> None:
    data = imagegen.make_png(None, 300, 300, seed=9)
    image_id = upload(client, alice, data).json()["id"]
    got = client.get(
        f"/v1/images/{image_id}/content", headers={**alice.headers, "Range": "bytes=100-70000"}
    )
    assert got.status_code == 206
    assert got.content == data[100:70001]
    assert got.headers["content-length"] == str(70001 - 100)


def _blob_path(client: TestClient, key: str) -> Path:
    return _store(client).inner.root / key  # type: ignore[attr-defined, no-any-return]


def test_a_blob_moved_to_another_owner_or_key_does_not_decrypt(
    client: TestClient, alice: Account, bob: Account
) -> None:
    store = _store(client)
    alice_key = original_key(str(alice.id), "ee" * 32)
    store.put_bytes(alice_key, b"alice's photo" * 10_000)
    bob_image = upload(client, bob, imagegen.make_png(None, 8, 8, seed=4)).json()
    bob_key = original_key(str(bob.id), bob_image["sha256"])
    other_key = original_key(str(alice.id), "ff" * 32)
    shutil.copyfile(_blob_path(client, alice_key), _blob_path(client, bob_key))
    _blob_path(client, other_key).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_blob_path(client, alice_key), _blob_path(client, other_key))
    for key in (bob_key, other_key):
        with pytest.raises(Unreadable):
            _read(store, key)
    # Through the API it is a problem document, not a stream of garbage or a bare 500.
    response = client.get(f"/v1/images/{bob_image['id']}/content", headers=bob.headers)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/unreadable-data")


def test_reordered_tampered_or_truncated_chunks_do_not_decrypt(
    client: TestClient, alice: Account
) -> None:
    store = _store(client)
    key = original_key(str(alice.id), "aa" * 32)
    store.put_bytes(key, os.urandom(2 * CHUNK_SIZE))
    path = _blob_path(client, key)
    original = path.read_bytes()
    size = CHUNK_SIZE + OVERHEAD
    first, second = original[HEADER_BYTES : HEADER_BYTES + size], original[HEADER_BYTES + size :]
    flipped = bytearray(original)
    flipped[HEADER_BYTES + 100] ^= 1
    for forged in (
        original[:HEADER_BYTES] + second + first,
        bytes(flipped),
        original[: HEADER_BYTES + size],
    ):
        path.write_bytes(forged)
        with pytest.raises(Unreadable):
            _read(store, key)


def test_no_plaintext_lands_in_the_data_folder(
    client: TestClient, alice: Account, settings: Settings
) -> None:
    exif = imagegen.make_exif(make=f"{CANARY}-make", model=f"{CANARY}-model")
    jpeg = imagegen.make_jpeg(None, 400, 300, seed=21, exif=exif)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", f"{CANARY}-png-text")
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), (200, 30, 90)).save(buffer, "PNG", pnginfo=info)
    png = buffer.getvalue()
    plaintexts = [jpeg, png]
    for data in (jpeg, png):
        image_id = upload(client, alice, data).json()["id"]
        for size in ("small", "preview"):
            thumb = client.get(
                f"/v1/images/{image_id}/thumbnail?size={size}", headers=alice.headers
            )
            assert thumb.status_code == 200
            plaintexts.append(thumb.content)
    files = [p for p in settings.data_dir.rglob("*") if p.is_file()]
    assert len(files) >= 6
    needles = [CANARY.encode()] + [
        blob[at : at + 32] for blob in plaintexts for at in range(0, len(blob) - 32, 512)
    ]
    for path in files:
        content = path.read_bytes()
        found = [n for n in needles if n in content]
        assert found == [], f"{path} holds plaintext"


def test_the_key_file_is_private(settings: Settings, client: TestClient) -> None:
    mode = stat.S_IMODE(settings.resolved_master_key_file.stat().st_mode)
    assert mode == 0o600


def test_rotation_rewraps_every_data_key_and_keeps_every_blob_readable(
    client: TestClient,
    alice: Account,
    bob: Account,
    settings: Settings,
    database: ScratchDatabase,
) -> None:
    uploaded = {
        account.id: (upload(client, account, data).json(), data)
        for account, data in (
            (alice, imagegen.make_png(None, 50, 50, seed=1)),
            (bob, imagegen.make_jpeg(None, 50, 50, seed=2)),
        )
    }
    files_before = {p: p.read_bytes() for p in settings.resolved_blob_dir.rglob("*") if p.is_file()}
    old_id = json.loads(settings.resolved_master_key_file.read_text())["current"]
    assert asyncio.run(_rotate(settings)) == 2
    ring = json.loads(settings.resolved_master_key_file.read_text())
    assert ring["current"] != old_id and list(ring["keys"]) == [ring["current"]]
    with database.superuser_connect() as conn:
        ids = {r[0] for r in conn.execute("SELECT master_key_id FROM user_keys").fetchall()}
    assert ids == {ring["current"]}
    # Blobs untouched, and readable under the new master key by a fresh process.
    assert {p: p.read_bytes() for p in files_before} == files_before
    ctx = build_context(settings)
    try:
        for owner_id, (record, data) in uploaded.items():
            assert _read(ctx.blobs, original_key(str(owner_id), record["sha256"])) == data
    finally:
        asyncio.run(ctx.close())


def test_deleting_a_user_shreds_their_key_before_their_files(
    client: TestClient, alice: Account, database: ScratchDatabase
) -> None:
    data = imagegen.make_png(None, 40, 40, seed=5)
    record = upload(client, alice, data).json()
    key = original_key(str(alice.id), record["sha256"])
    path = _blob_path(client, key)
    kept = path.read_bytes()  # a copy that outlives the deletion (a backup, a stray file)
    assert client.delete("/v1/users/me", headers=alice.headers).status_code == 204
    assert not path.exists()
    assert list(_store(client).keys(f"derivatives/{alice.id}/")) == []
    with database.superuser_connect() as conn:
        assert conn.execute("SELECT count(*) FROM user_keys").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM images").fetchone() == (0,)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(kept)
    with pytest.raises(Unreadable):
        _read(_store(client), key)


def test_keys_without_an_owner_segment_are_refused(client: TestClient) -> None:
    from photostore.storage.base import UnsafeKey

    with pytest.raises(UnsafeKey):
        _store(client).put_bytes(f"misc/{uuid.uuid4().hex}x", b"x")

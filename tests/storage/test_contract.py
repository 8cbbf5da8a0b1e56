"""The ``BlobStore`` contract, run against every backend.

Each backend the service can be configured with gets a parameter of the ``backend``
fixture; a new one (the S3 store) passes when it answers every test here as the others
do. The local store runs bare, wrapped by the checksumming store (as the service runs it
with encryption off) and by the encrypting store (as it runs it by default).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from photostore.crypto.envelope import CHUNK_SIZE
from photostore.storage.base import (
    BlobNotFound,
    BlobStore,
    UnsafeKey,
    derivative_key,
    original_key,
)
from photostore.storage.checksummed import ChecksummedBlobStore
from photostore.storage.encrypted import EncryptedBlobStore
from photostore.storage.local import LocalBlobStore
from tests.conftest import Account


@dataclass(frozen=True)
class Backend:
    """A store under test and an owner whose keys it accepts."""

    store: BlobStore
    owner: uuid.UUID

    def original(self, seed: str) -> str:
        return original_key(str(self.owner), (seed * 64)[:64])

    def derivative(self, kind: str) -> str:
        return derivative_key(str(self.owner), str(uuid.UUID(int=7)), kind)


def _local(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return Backend(LocalBlobStore(tmp_path / "blobs"), uuid.uuid4())


def _checksummed_local(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    # The store the service builds when blobs are not encrypted.
    return Backend(ChecksummedBlobStore(LocalBlobStore(tmp_path / "blobs")), uuid.uuid4())


def _encrypted_local(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    # The store the service builds: its data keys live in the database, one per user.
    client: TestClient = request.getfixturevalue("client")
    alice: Account = request.getfixturevalue("alice")
    store = client.app.state.ctx.blobs  # type: ignore[attr-defined]
    assert isinstance(store, EncryptedBlobStore)
    return Backend(store, alice.id)


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], Backend]] = {
    "local": _local,
    "checksummed-local": _checksummed_local,
    "encrypted-local": _encrypted_local,
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return BACKENDS[request.param](request, tmp_path)


def _read(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.read_range(key, start, end))


def test_bytes_come_back_whole_and_by_range(backend: Backend) -> None:
    store, key = backend.store, backend.original("a")
    data = os.urandom(2 * CHUNK_SIZE + 999)
    store.put_bytes(key, data)
    assert store.size(key) == len(data)
    assert _read(store, key) == data
    for start, end in [
        (0, 1),
        (10, 20),
        (CHUNK_SIZE - 3, CHUNK_SIZE + 3),
        (len(data) - 5, None),
        (len(data) - 5, len(data) + 100),  # past the end: clipped
        (len(data), None),  # at the end: nothing
        (len(data) + 10, None),  # beyond it: nothing
        (100, 100),
    ]:
        assert _read(store, key, start, end) == data[start:end], (start, end)


def test_chunks_are_at_most_the_size_asked_for(backend: Backend) -> None:
    store, key = backend.store, backend.original("b")
    data = os.urandom(100_000)
    store.put_bytes(key, data)
    chunks = list(store.read_range(key, 5, None, chunk_size=7_000))
    assert b"".join(chunks) == data[5:]
    assert all(0 < len(chunk) <= 7_000 for chunk in chunks)


def test_an_empty_blob_is_a_blob(backend: Backend) -> None:
    store, key = backend.store, backend.derivative("small")
    store.put_bytes(key, b"")
    assert store.exists(key)
    assert store.size(key) == 0
    assert _read(store, key) == b""


def test_a_file_is_stored_as_it_is(backend: Backend, tmp_path: Path) -> None:
    store, key = backend.store, backend.original("c")
    data = os.urandom(3 * CHUNK_SIZE + 1)
    source = tmp_path / "staged.bin"
    source.write_bytes(data)
    store.put_file(key, source)  # the store may move the file instead of copying it
    assert store.size(key) == len(data)
    assert _read(store, key) == data
    span = (CHUNK_SIZE, 2 * CHUNK_SIZE + 10)
    assert _read(store, key, *span) == data[span[0] : span[1]]


def test_writing_a_key_again_replaces_its_blob(backend: Backend) -> None:
    # Thumbnails are made again under the same key; the last write is what reads see.
    store, key = backend.store, backend.derivative("preview")
    store.put_bytes(key, b"first version")
    store.put_bytes(key, b"second")
    assert _read(store, key) == b"second"
    assert store.size(key) == len(b"second")


def test_a_missing_blob_is_blob_not_found_at_once(backend: Backend) -> None:
    store, key = backend.store, backend.original("d")
    assert not store.exists(key)
    with pytest.raises(BlobNotFound):
        store.size(key)
    # Raised by the call, not on the first chunk: a route can still answer 404.
    with pytest.raises(BlobNotFound):
        store.read_range(key)
    store.delete(key)  # deleting what is not there is not an error


def test_a_deleted_blob_is_gone_everywhere(backend: Backend) -> None:
    store, key, kept = backend.store, backend.original("e"), backend.original("f")
    store.put_bytes(key, b"bye")
    store.put_bytes(kept, b"stay")
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(BlobNotFound):
        store.size(key)
    assert key not in set(store.keys())
    assert _read(store, kept) == b"stay"


def test_keys_lists_exactly_what_is_under_a_prefix(backend: Backend) -> None:
    store = backend.store
    originals = {backend.original(seed) for seed in "123"}
    derivatives = {backend.derivative(kind) for kind in ("small", "preview")}
    for key in originals | derivatives:
        store.put_bytes(key, key.encode())
    assert set(store.keys()) >= originals | derivatives
    assert set(store.keys(f"originals/{backend.owner}/")) == originals
    assert set(store.keys(f"derivatives/{backend.owner}/")) == derivatives
    assert set(store.keys(f"originals/{uuid.uuid4()}/")) == set()


def test_a_failed_write_leaves_nothing(backend: Backend, tmp_path: Path) -> None:
    store, key = backend.store, backend.original("g")
    with pytest.raises(FileNotFoundError):
        store.put_file(key, tmp_path / "does-not-exist")
    assert not store.exists(key)
    assert key not in set(store.keys())


@pytest.mark.parametrize("key", ["../escape", "/absolute", "originals/../../x", "A/B", "a//b"])
def test_keys_that_could_escape_are_refused_by_every_method(backend: Backend, key: str) -> None:
    store = backend.store
    calls: list[Callable[[], object]] = [
        lambda: store.put_bytes(key, b"x"),
        lambda: store.size(key),
        lambda: store.read_range(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
    ]
    for call in calls:
        with pytest.raises(UnsafeKey):
            call()

"""The checksummed store beyond the contract (``test_contract``): damage on disk is never
handed out, a range checks the whole chunk it starts in, and blobs written before chunk
sums were recorded are checked against their content address or refused as unchecked."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from photostore.errors import BlobDamaged
from photostore.storage.base import BlobNotFound, UncheckedBlob, derivative_key, original_key
from photostore.storage.checksummed import CHUNK_SIZE, ChecksummedBlobStore, sums_key
from photostore.storage.local import LocalBlobStore

OWNER = str(uuid.UUID(int=1))
DATA = os.urandom(3 * CHUNK_SIZE + 500)
KEY = original_key(OWNER, hashlib.sha256(DATA).hexdigest())


@pytest.fixture
def raw(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def store(raw: LocalBlobStore) -> ChecksummedBlobStore:
    checked = ChecksummedBlobStore(raw)
    checked.put_bytes(KEY, DATA)
    return checked


def _path(raw: LocalBlobStore, key: str = KEY) -> Path:
    return raw.root / key


def _flip(at: int) -> Callable[[bytes], bytes]:
    def damage(data: bytes) -> bytes:
        changed = bytearray(data)
        changed[at] ^= 0x01
        return bytes(changed)

    return damage


def _read(store: ChecksummedBlobStore, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.read_range(KEY, start, end))


def _served_until_failure(store: ChecksummedBlobStore, start: int = 0) -> bytes:
    """The bytes a read hands out before it raises :class:`BlobDamaged`."""
    served = bytearray()
    with pytest.raises(BlobDamaged):
        for chunk in store.read_range(KEY, start):
            served += chunk
    return bytes(served)


@pytest.mark.parametrize(
    "damage",
    [
        _flip(0),
        _flip(CHUNK_SIZE - 1),
        lambda data: data[: CHUNK_SIZE // 2],
        lambda data: b"",
    ],
    ids=["first-byte", "last-byte-of-chunk-0", "truncated-in-chunk-0", "emptied"],
)
def test_damage_in_the_first_chunk_fails_before_any_byte(
    store: ChecksummedBlobStore, raw: LocalBlobStore, damage: Callable[[bytes], bytes]
) -> None:
    path = _path(raw)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(BlobDamaged):
        store.read_range(KEY)  # raised by the call: an HTTP answer can still be a problem
    with pytest.raises(BlobDamaged):
        store.read_range(KEY, 10, 20)  # a range inside the damaged chunk


@pytest.mark.parametrize(
    ("damage", "good_chunks"),
    [
        (_flip(2 * CHUNK_SIZE + 7), 2),
        (_flip(len(DATA) - 1), 3),
        (lambda data: data[: 2 * CHUNK_SIZE + 100], 2),
        (lambda data: data[: 2 * CHUNK_SIZE], 2),  # at a chunk boundary
    ],
    ids=["chunk-2", "last-byte", "truncated-in-chunk-2", "truncated-at-a-boundary"],
)
def test_damage_later_stops_the_read_before_the_damaged_chunk(
    store: ChecksummedBlobStore,
    raw: LocalBlobStore,
    damage: Callable[[bytes], bytes],
    good_chunks: int,
) -> None:
    path = _path(raw)
    path.write_bytes(damage(path.read_bytes()))
    served = _served_until_failure(store)
    assert served == DATA[: good_chunks * CHUNK_SIZE]
    # A range that starts mid-chunk in the damaged chunk checks that whole chunk first.
    with pytest.raises(BlobDamaged):
        store.read_range(KEY, good_chunks * CHUNK_SIZE + 3, good_chunks * CHUNK_SIZE + 9)
    # One that stays clear of it is served, checked.
    assert _read(store, 5, CHUNK_SIZE + 5) == DATA[5 : CHUNK_SIZE + 5]


def test_a_range_starting_mid_chunk_verifies_its_chunk(
    store: ChecksummedBlobStore, raw: LocalBlobStore
) -> None:
    path = _path(raw)
    path.write_bytes(_flip(CHUNK_SIZE + 10)(path.read_bytes()))
    # The range begins after the flipped byte, in the same chunk.
    with pytest.raises(BlobDamaged):
        store.read_range(KEY, CHUNK_SIZE + 100, CHUNK_SIZE + 200)


def test_bytes_appended_are_not_served_and_size_reports_them(
    store: ChecksummedBlobStore, raw: LocalBlobStore
) -> None:
    with _path(raw).open("ab") as out:
        out.write(b"garbage")
    assert _read(store) == DATA
    assert _read(store, len(DATA) - 4) == DATA[-4:]
    with pytest.raises(BlobDamaged, match="holds"):
        store.size(KEY)


def test_a_missing_blob_is_not_found_even_with_its_sums(
    store: ChecksummedBlobStore, raw: LocalBlobStore
) -> None:
    _path(raw).unlink()
    assert raw.exists(sums_key(KEY))
    with pytest.raises(BlobNotFound):
        store.read_range(KEY)
    with pytest.raises(BlobNotFound):
        store.size(KEY)


def test_sums_are_hidden_from_the_listing_and_deleted_with_their_blob(
    store: ChecksummedBlobStore, raw: LocalBlobStore
) -> None:
    assert list(store.keys()) == [KEY]
    assert sums_key(KEY) in set(raw.keys())
    store.delete(KEY)
    assert list(raw.keys()) == []


def test_an_original_without_sums_is_checked_against_its_address_then_gets_them(
    store: ChecksummedBlobStore, raw: LocalBlobStore
) -> None:
    raw.delete(sums_key(KEY))  # as a blob written before sums were recorded
    assert _read(store, CHUNK_SIZE + 1, CHUNK_SIZE + 9) == DATA[CHUNK_SIZE + 1 : CHUNK_SIZE + 9]
    assert raw.exists(sums_key(KEY))
    # From now on its chunks are checked one by one.
    path = _path(raw)
    path.write_bytes(_flip(3 * CHUNK_SIZE)(path.read_bytes()))
    assert _served_until_failure(store) == DATA[: 3 * CHUNK_SIZE]


def test_a_damaged_original_without_sums_is_refused_whole(
    store: ChecksummedBlobStore, raw: LocalBlobStore
) -> None:
    raw.delete(sums_key(KEY))
    path = _path(raw)
    path.write_bytes(_flip(3 * CHUNK_SIZE)(path.read_bytes()))
    with pytest.raises(BlobDamaged, match="sha256"):
        store.read_range(KEY)
    assert not raw.exists(sums_key(KEY))


def test_damaged_sums_count_as_none(store: ChecksummedBlobStore, raw: LocalBlobStore) -> None:
    sums = _path(raw, sums_key(KEY))
    sums.write_bytes(_flip(40)(sums.read_bytes()))
    assert _read(store) == DATA  # checked against the content address, sums made again
    assert _read(store) == DATA


def test_a_thumbnail_without_sums_is_unchecked(raw: LocalBlobStore) -> None:
    key = derivative_key(OWNER, str(uuid.UUID(int=2)), "small")
    raw.put_bytes(key, b"webp bytes")
    with pytest.raises(UncheckedBlob):
        ChecksummedBlobStore(raw).read_range(key)
    raw.delete(key)
    with pytest.raises(BlobNotFound):
        ChecksummedBlobStore(raw).read_range(key)

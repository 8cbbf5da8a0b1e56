"""The local blob store beyond the contract every store keeps (``test_contract``): safe
keys, moves and copies into place, no temporary file left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from photostore.storage.base import UnsafeKey, check_key, original_key
from photostore.storage.local import LocalBlobStore


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "/abs/path",
        "a/../../b",
        "a//b",
        "",
        "A/B",
        "a/b\x00",
        "a\\b",
        "a/./b",
        ".hidden",
    ],
)
def test_unsafe_keys_are_refused(store: LocalBlobStore, key: str) -> None:
    with pytest.raises(UnsafeKey):
        store.put_bytes(key, b"x")
    with pytest.raises(UnsafeKey):
        check_key(key)


def test_put_file_moves_the_file_into_place(store: LocalBlobStore, tmp_path: Path) -> None:
    source = tmp_path / "blobs" / "staged"
    source.write_bytes(b"hello")
    store.put_file("originals/u/aa/aaa", source)
    assert b"".join(store.read_range("originals/u/aa/aaa")) == b"hello"
    assert list(store.keys()) == ["originals/u/aa/aaa"]


def test_put_file_from_another_folder_copies(store: LocalBlobStore, tmp_path: Path) -> None:
    source = tmp_path / "elsewhere.bin"
    source.write_bytes(b"x" * 3_000_000)
    store.put_file("derivatives/u/i/small", source)
    assert store.size("derivatives/u/i/small") == 3_000_000


def test_a_failed_write_leaves_nothing(store: LocalBlobStore, tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist"
    with pytest.raises(FileNotFoundError):
        store.put_file("originals/u/bb/bbb", missing)
    assert not store.exists("originals/u/bb/bbb")
    assert not any(p.name.startswith(".tmp-") for p in store.root.rglob("*"))


def test_original_keys_are_per_owner_content_addresses() -> None:
    sha = "ab" + "0" * 62
    assert original_key("owner-1", sha) == f"originals/owner-1/ab/{sha}"
    assert original_key("owner-1", sha) != original_key("owner-2", sha)

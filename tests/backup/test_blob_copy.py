"""Copies of blobs into a target: by content, once, and a blob that went away between
the listing and the copy stops a backup but is passed over by the continuous archive."""

from __future__ import annotations

from pathlib import Path

import pytest

from photostore.backup.blob_copy import BlobCopier, BlobGone
from photostore.backup.layout import Target
from photostore.storage.local import LocalBlobStore


def test_a_blob_is_copied_once_and_a_gone_one_is_refused_or_passed_over(
    tmp_path: Path, target: Target
) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    blobs.put_bytes("originals/a/00/one", b"one photo")
    blobs.put_bytes("originals/a/00/two", b"one photo")  # the same bytes under two keys
    copier = BlobCopier(blobs, target, {})
    copier.copy(copier.present_keys())
    assert copier.copied["originals/a/00/one"] == copier.copied["originals/a/00/two"]
    assert copier.bytes_copied == len(b"one photo")
    assert len(list((target.root / "objects").glob("*/*"))) == 1

    with pytest.raises(BlobGone, match="missing"):
        copier.copy(["originals/a/00/three"])
    copier.copy(["originals/a/00/three"], gone_ok=True)
    assert "originals/a/00/three" not in copier.copied

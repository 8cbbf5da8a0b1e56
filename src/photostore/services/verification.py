"""``photostore verify``: every blob against its row and its checksum, and the database.

An original must be in the blob store, pass the store's check of every chunk (the
envelope's authentication of encrypted blobs, the recorded chunk sums of plain ones:
the very check a read makes) and hash to the sha256 its row names; a thumbnail must be
there, pass the same check and be as long as its row says; a blob no row references is
an orphan (reported, not removed here: ``services.garbage`` collects them). A plain
thumbnail written before chunk sums were recorded has nothing to be checked against: it
is listed as unchecked (its next read makes it again from its original). An original
written before them is checked against its sha256, and its sums are recorded. The
database is checked by ``pg_amcheck`` and the server's page checksum counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from photostore.db.cluster_reads import LibraryRows
from photostore.errors import Unreadable
from photostore.storage.base import (
    BlobNotFound,
    BlobStore,
    UncheckedBlob,
    derivative_key,
    original_key,
)


@dataclass(frozen=True)
class Damage:
    """One blob that is not what its row says."""

    key: str
    problem: str


@dataclass
class LibraryReport:
    """What a verification found."""

    originals: int = 0
    thumbnails: int = 0
    damage: list[Damage] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    database: list[str] = field(default_factory=list)

    @property
    def sound(self) -> bool:
        """No damage: every blob is right and the database checks clean (orphans are
        waste, not damage)."""
        return not self.damage and not self.database


def _read_all(store: BlobStore, key: str) -> tuple[int, str]:
    """The size of ``key`` as the store reports it (which checks the stored length) and
    the sha256 of its bytes, each chunk checked as a read checks it."""
    size = store.size(key)
    digest = hashlib.sha256()
    for chunk in store.read_range(key):
        digest.update(chunk)
    return size, digest.hexdigest()


def _check(store: BlobStore, key: str, size: int, sha256: str | None) -> str | None:
    """Why the blob ``key`` is not ``size`` bytes hashing to ``sha256``; None when it is.

    Raises :class:`UncheckedBlob` for a blob with nothing to check it against."""
    try:
        got_size, got_sha256 = _read_all(store, key)
    except (BlobNotFound, FileNotFoundError):
        return "missing"
    except Unreadable as exc:
        return f"fails its check ({exc.detail})"
    if got_size != size:
        return f"{got_size} bytes where the row says {size}"
    if sha256 is not None and got_sha256 != sha256:
        return "its bytes do not hash to the sha256 of its row"
    return None


def referenced_keys(rows: LibraryRows) -> set[str]:
    """The blob keys of every original and thumbnail ``rows`` reference."""
    return {original_key(str(o.owner_id), o.sha256) for o in rows.originals} | {
        derivative_key(str(t.owner_id), str(t.image_id), t.kind) for t in rows.thumbnails
    }


def orphan_keys(store: BlobStore, rows: LibraryRows) -> list[str]:
    """The keys of ``store`` no row of ``rows`` references (the temporary files of writes
    in flight are not in the store's listing)."""
    return sorted(set(store.keys(prefix="")) - referenced_keys(rows))


def verify_library(
    store: BlobStore, rows: LibraryRows, progress: Callable[[int], None] | None = None
) -> LibraryReport:
    """Check every blob ``rows`` reference in ``store``, and find the orphans."""
    report = LibraryReport()
    for original in rows.originals:
        key = original_key(str(original.owner_id), original.sha256)
        problem = _check(store, key, original.byte_size, original.sha256)
        if problem is not None:
            report.damage.append(Damage(key, problem))
        report.originals += 1
        if progress is not None:
            progress(1)
    for thumbnail in rows.thumbnails:
        key = derivative_key(str(thumbnail.owner_id), str(thumbnail.image_id), thumbnail.kind)
        try:
            problem = _check(store, key, thumbnail.byte_size, None)
        except UncheckedBlob:
            report.unchecked.append(key)
            problem = None
        if problem is not None:
            report.damage.append(Damage(key, problem))
        report.thumbnails += 1
        if progress is not None:
            progress(1)
    report.orphans = orphan_keys(store, rows)
    return report

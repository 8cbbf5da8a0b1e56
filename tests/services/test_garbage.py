"""``photostore gc``'s rules (``services.garbage``): old orphans of every kind go,
referenced blobs and young orphans stay, a dry run removes nothing, and an orphan an
upload in flight is about to reference is never removed."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx2 as httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from photostore.config import Settings
from photostore.db.cluster_reads import (
    LibraryRows,
    oldest_transaction_start,
    stored_originals,
    stored_thumbnails,
)
from photostore.db.embedded import APP_ROLE
from photostore.db.session import Database, make_engine
from photostore.services.garbage import GarbageCollector, GarbageReport
from photostore.storage.base import derivative_key, original_key
from photostore.storage.checksummed import sums_key
from photostore.storage.local import LocalBlobStore
from tests import imagegen
from tests.conftest import Account, ScratchDatabase, upload

HOURS = 3600.0


def _rows(database: ScratchDatabase) -> LibraryRows:
    with database.superuser_connect() as conn:
        return LibraryRows(stored_originals(conn), stored_thumbnails(conn))


def _collect(
    settings: Settings,
    database: ScratchDatabase,
    rows: LibraryRows,
    grace_seconds: float = 24 * HOURS,
    *,
    dry_run: bool = False,
) -> GarbageReport:
    def open_since() -> datetime | None:
        with database.superuser_connect() as conn:
            return oldest_transaction_start(conn)

    async def collect() -> GarbageReport:
        db = Database(make_engine(database.app_url, 2))
        try:
            collector = GarbageCollector(
                db,
                LocalBlobStore(settings.resolved_blob_dir),
                settings.staging_dir,
                open_since,
                grace_seconds,
                dry_run=dry_run,
            )
            return await collector.collect(rows)
        finally:
            await db.dispose()

    return asyncio.run(collect())


def _plant(store: LocalBlobStore, name: str, age_seconds: float) -> Path:
    path = store.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"left by a crash")
    when = time.time() - age_seconds
    os.utime(path, (when, when))
    return path


def test_old_orphans_of_every_kind_go_and_nothing_else(
    client: TestClient, alice: Account, settings: Settings, database: ScratchDatabase
) -> None:
    photo = imagegen.make_jpeg(None, 64, 48, seed=1)
    image_id = upload(client, alice, photo).json()["id"]
    store = LocalBlobStore(settings.resolved_blob_dir)
    referenced = sorted(store.keys())
    assert len(referenced) == 3  # the original and two thumbnails
    for key in referenced:  # old, but referenced
        os.utime(store.root / key, (time.time() - 48 * HOURS,) * 2)
    owner = str(alice.id)
    old, young = 30 * HOURS, 1 * HOURS
    gone = [
        _plant(store, original_key(owner, "ab" * 32), old),
        _plant(store, derivative_key(owner, str(uuid.uuid4()), "small"), old),
        _plant(store, f"originals/{owner}/cd/.tmp-abc123", old),
    ]
    kept = [
        _plant(store, original_key(owner, "ef" * 32), young),
        _plant(store, f"originals/{owner}/cd/.tmp-def456", young),
        # A thumbnail of an image that exists, its row missing: the next read remakes it.
        _plant(store, derivative_key(owner, image_id, "extra"), old),
        _plant(store, "not-photostore/file", old),
    ]
    rows = _rows(database)

    dry = _collect(settings, database, rows, dry_run=True)
    assert (dry.originals, dry.thumbnails, dry.partial_writes) == (1, 1, 1)
    assert (dry.young, dry.in_use, dry.unknown) == (2, 1, ["not-photostore/file"])
    assert all(path.exists() for path in gone + kept)

    done = _collect(settings, database, rows)
    assert (done.originals, done.thumbnails, done.partial_writes) == (1, 1, 1)
    assert done.bytes == 3 * len(b"left by a crash")
    assert not any(path.exists() for path in gone)
    assert all(path.exists() for path in kept)
    assert set(referenced) <= set(store.keys())
    read = client.get(f"/v1/images/{image_id}/content", headers=alice.headers)
    assert read.content == photo
    assert client.get(f"/v1/images/{image_id}/thumbnail", headers=alice.headers).status_code == 200


def _waiting(database: ScratchDatabase, event: str) -> int:
    """Backends of the test's database waiting on a lock of kind ``event``."""
    with database.superuser_connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND wait_event = %s",
            (event,),
        ).fetchone()
    return int(row[0]) if row else 0


def _wait_for(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within 20 s")
        time.sleep(0.02)


def test_an_orphan_original_an_upload_is_about_to_reference_is_kept(
    client: TestClient, alice: Account, settings: Settings, database: ScratchDatabase
) -> None:
    """A crash left the original of these bytes; an upload of the same bytes has written
    it again and waits to commit its rows (held here by an uncommitted row of the same
    key): gc, even with no grace, must wait for the upload and then keep the file."""
    photo = imagegen.make_jpeg(None, 64, 48, seed=2)
    sha256 = hashlib.sha256(photo).hexdigest()
    store = LocalBlobStore(settings.resolved_blob_dir)
    orphan = _plant(store, original_key(str(alice.id), sha256), 30 * HOURS)
    rows = _rows(database)

    holder = database.superuser_connect()
    holder.autocommit = False
    holder.execute(
        "INSERT INTO blobs (owner_id, sha256, byte_size) VALUES (%s, %s, %s)",
        (alice.id, sha256, len(photo)),
    )
    answers: list[httpx.Response] = []
    uploading = threading.Thread(target=lambda: answers.append(upload(client, alice, photo)))
    uploading.start()
    reports: list[GarbageReport] = []
    collecting = threading.Thread(
        target=lambda: reports.append(_collect(settings, database, rows, grace_seconds=0))
    )
    try:
        # The upload has written the file and waits at its row, under its content lock.
        _wait_for(lambda: _waiting(database, "transactionid"), "the upload waited at its row")
        collecting.start()
        _wait_for(
            lambda: _waiting(database, "advisory") or not collecting.is_alive(),
            "gc waited for the content lock",
        )
        assert collecting.is_alive(), "gc did not wait for the upload's content lock"
    finally:
        holder.rollback()
        holder.close()
        uploading.join(30)
        if collecting.ident is not None:
            collecting.join(30)
    assert answers[0].status_code == 201
    # The original under the lock; the upload's thumbnails, written inside its open
    # transaction, by the transaction rule.
    report = reports[0]
    assert (report.originals, report.thumbnails, report.in_use) == (0, 0, 3)
    assert orphan.exists()
    image_id = answers[0].json()["id"]
    read = client.get(f"/v1/images/{image_id}/content", headers=alice.headers)
    assert read.content == photo


def test_a_thumbnail_written_inside_a_transaction_still_open_is_kept(
    client: TestClient, alice: Account, settings: Settings, database: ScratchDatabase
) -> None:
    """An upload writes its thumbnails inside its transaction, which commits their image
    row after: while a transaction older than the file is open, the file stays."""
    store = LocalBlobStore(settings.resolved_blob_dir)
    with psycopg.connect(database.cluster.url(APP_ROLE, database.name, driver="")) as writer:
        writer.execute("SELECT 1")  # the transaction begins, before the file is written
        time.sleep(1.5)  # past the clock slack the collector allows
        thumbnail = _plant(store, derivative_key(str(alice.id), str(uuid.uuid4()), "small"), 0)
        kept = _collect(settings, database, _rows(database), grace_seconds=0)
        assert (kept.thumbnails, kept.in_use) == (0, 1)
        assert thumbnail.exists()
    removed = _collect(settings, database, _rows(database), grace_seconds=0)
    assert removed.thumbnails == 1
    assert not thumbnail.exists()


def test_chunk_sums_go_with_their_blob_or_when_their_blob_never_came(
    client: TestClient, alice: Account, settings: Settings, database: ScratchDatabase
) -> None:
    photo = imagegen.make_jpeg(None, 64, 48, seed=2)
    upload(client, alice, photo)
    store = LocalBlobStore(settings.resolved_blob_dir)
    owner = str(alice.id)
    old, young = 30 * HOURS, 1 * HOURS
    referenced = next(iter(store.keys(prefix="originals/")))
    orphan = original_key(owner, "ab" * 32)
    gone = [
        _plant(store, orphan, old),
        _plant(store, sums_key(orphan), old),
        _plant(store, sums_key(original_key(owner, "cd" * 32)), old),  # its blob never came
    ]
    kept = [
        _plant(store, sums_key(referenced), old),
        _plant(store, sums_key(original_key(owner, "ef" * 32)), young),
    ]

    done = _collect(settings, database, _rows(database))
    assert (done.originals, done.partial_writes, done.unknown) == (1, 1, [])
    assert not any(path.exists() for path in gone)
    assert all(path.exists() for path in kept)

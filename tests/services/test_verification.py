"""``verify_library`` over the service's own blob store, plain and encrypted: it makes the
check a read makes, so it names every damaged, truncated, extended or missing blob."""

from __future__ import annotations

import io
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from photostore.app import create_app
from photostore.config import Settings
from photostore.crypto.envelope import HEADER_BYTES
from photostore.db.cluster_reads import LibraryRows, StoredOriginal, StoredThumbnail
from photostore.services.verification import verify_library
from photostore.storage.base import BlobStore, derivative_key, original_key
from photostore.storage.checksummed import CHUNK_SIZE, sums_key
from tests.conftest import Account, ScratchDatabase, service_settings, upload


@pytest.fixture(params=["plain", "encrypted"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, database: ScratchDatabase) -> Settings:
    plain = service_settings(tmp_path / "data", database.app_url)
    return plain.model_copy(update={"encrypt_blobs": request.param == "encrypted"})


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _photos(client: TestClient, account: Account, count: int) -> list[dict[str, object]]:
    images = []
    for seed in range(count):
        noise = random.Random(seed).randbytes(300 * 300 * 3)
        out = io.BytesIO()
        Image.frombytes("RGB", (300, 300), noise).save(out, "PNG", compress_level=0)
        images.append(upload(client, account, out.getvalue(), filename="noise.png").json())
    return images


def _rows(owner: uuid.UUID, images: list[dict[str, object]]) -> LibraryRows:
    originals = [StoredOriginal(owner, str(i["sha256"]), int(str(i["byte_size"]))) for i in images]
    return LibraryRows(originals=originals, thumbnails=[])


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "flip-chunk-0":
        data[HEADER_BYTES + 40] ^= 1
    elif how == "flip-chunk-2":
        data[2 * CHUNK_SIZE + 500] ^= 1
    elif how == "truncate":
        del data[2 * CHUNK_SIZE + 500 :]
    elif how == "extend":
        data += b"appended"
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["flip-chunk-0", "flip-chunk-2", "truncate", "extend", "delete"])
def test_verify_names_each_damaged_original(
    client: TestClient, alice: Account, settings: Settings, how: str
) -> None:
    store: BlobStore = client.app.state.ctx.blobs  # type: ignore[attr-defined]
    images = _photos(client, alice, 3)
    rows = _rows(alice.id, images)
    assert verify_library(store, rows).sound
    victim = original_key(str(alice.id), str(images[1]["sha256"]))
    path = settings.resolved_blob_dir / victim
    if how == "delete":
        path.unlink()
    else:
        _damage(path, how)
    report = verify_library(store, rows)
    assert not report.sound
    assert [d.key for d in report.damage] == [victim]
    expected = "missing" if how == "delete" else "fails its check"
    assert report.damage[0].problem.startswith(expected), report.damage


def test_verify_lists_plain_thumbnails_without_sums_as_unchecked(
    client: TestClient, alice: Account, settings: Settings
) -> None:
    if settings.encrypt_blobs:
        pytest.skip("encrypted blobs carry their check in their envelope")
    store: BlobStore = client.app.state.ctx.blobs  # type: ignore[attr-defined]
    (image,) = _photos(client, alice, 1)
    image_id = uuid.UUID(str(image["id"]))
    thumbnails = []
    for kind in ("small", "preview"):
        path = settings.resolved_blob_dir / derivative_key(str(alice.id), str(image_id), kind)
        thumbnails.append(StoredThumbnail(alice.id, image_id, kind, path.stat().st_size))
    key = derivative_key(str(alice.id), str(image_id), "small")
    (settings.resolved_blob_dir / sums_key(key)).unlink()
    rows = LibraryRows(originals=_rows(alice.id, [image]).originals, thumbnails=thumbnails)
    report = verify_library(store, rows)
    assert report.unchecked == [key]
    assert report.sound  # nothing to check is not damage: its next read makes it again
    assert report.orphans == []  # the sums of the original are not orphans

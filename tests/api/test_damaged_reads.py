"""Reads of stored files damaged on disk, plain and encrypted: no wrong byte ever reaches
the client. Damage in the chunk a read starts in is a problem document before any
header; damage found later cuts the response short (a prefix of the right bytes), is
counted, and the audit row says 500; a missing file is 404 ``blob-missing``; a damaged,
missing or unchecked thumbnail, wherever the damage lies in it, is made again from its
original."""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from photostore.app import create_app
from photostore.config import Settings
from photostore.crypto.envelope import HEADER_BYTES, NONCE_BYTES, OVERHEAD
from photostore.storage.base import derivative_key, original_key
from photostore.storage.checksummed import CHUNK_SIZE, sums_key
from tests.conftest import Account, ScratchDatabase, service_settings, upload

# A range inside chunk 0, and one that starts mid-chunk 2 and stays in it.
IN_CHUNK_0 = (10, 1000)
IN_CHUNK_2 = (2 * CHUNK_SIZE + 50, 2 * CHUNK_SIZE + 5000)


@pytest.fixture(params=["plain", "encrypted"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, database: ScratchDatabase) -> Settings:
    plain = service_settings(tmp_path / "data", database.app_url)
    return plain.model_copy(update={"encrypt_blobs": request.param == "encrypted"})


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    # A response cut short after its headers comes back as what was sent, not as an error.
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def _photo(seed: int) -> bytes:
    """A PNG of noise, a little over four 64 KiB chunks."""
    noise = random.Random(seed).randbytes(300 * 300 * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (300, 300), noise).save(out, "PNG", compress_level=0)
    return out.getvalue()


def _stored_offset(settings: Settings, chunk: int, at: int) -> int:
    """Where byte ``at`` of chunk ``chunk`` of the plaintext lies in the stored file."""
    if not settings.encrypt_blobs:
        return chunk * CHUNK_SIZE + at
    return HEADER_BYTES + chunk * (CHUNK_SIZE + OVERHEAD) + NONCE_BYTES + at


def _flip(offset: int) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        data = bytearray(path.read_bytes())
        data[offset] ^= 0x01
        path.write_bytes(bytes(data))

    return damage


def _cut(offset: int) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        path.write_bytes(path.read_bytes()[:offset])

    return damage


def _extend(path: Path) -> None:
    with path.open("ab") as out:
        out.write(b"appended")


def _damages(settings: Settings) -> dict[str, Callable[[Path], None]]:
    return {
        "flip-chunk-0": _flip(_stored_offset(settings, 0, 5)),
        "flip-chunk-2": _flip(_stored_offset(settings, 2, 100)),
        "truncate-chunk-2": _cut(_stored_offset(settings, 2, 100)),
        "extend": _extend,
        "delete": lambda path: path.unlink(),
    }


# What each read gets: "ok" the right bytes, "cut" headers then a prefix, else a problem.
EXPECTED = {
    "flip-chunk-0": {"whole": "unreadable-data", "chunk-0": "unreadable-data", "chunk-2": "ok"},
    "flip-chunk-2": {"whole": "cut", "chunk-0": "ok", "chunk-2": "unreadable-data"},
    "truncate-chunk-2": {"whole": "cut", "chunk-0": "ok", "chunk-2": "unreadable-data"},
    "extend": {"whole": "ok", "chunk-0": "ok", "chunk-2": "ok"},
    "delete": {"whole": "blob-missing", "chunk-0": "blob-missing", "chunk-2": "blob-missing"},
}


def _audit_result(client: TestClient, account: Account, request_id: str) -> int:
    trail = client.get("/v1/users/me/audit?limit=50", headers=account.headers).json()
    (row,) = [item for item in trail["items"] if item["request_id"] == request_id]
    return int(row["result"])


def _failures(client: TestClient, when: str) -> float:
    labels = f'blob="original",problem="unreadable-data",when="{when}"'
    line = f"photostore_blob_read_failures_total{{{labels}}}"
    for text in client.get("/metrics").text.splitlines():
        if text.startswith(line):
            return float(text.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.parametrize("damage", sorted(EXPECTED))
def test_a_damaged_original_never_serves_a_wrong_byte(
    client: TestClient, alice: Account, settings: Settings, damage: str
) -> None:
    data = _photo(1)
    image = upload(client, alice, data, filename="noise.png").json()
    path = settings.resolved_blob_dir / original_key(str(alice.id), image["sha256"])
    _damages(settings)[damage](path)
    url = f"/v1/images/{image['id']}/content"
    reads = {"whole": None, "chunk-0": IN_CHUNK_0, "chunk-2": IN_CHUNK_2}
    for n, (read, span) in enumerate(reads.items()):
        headers = {**alice.headers, "X-Request-ID": f"read-{n}"}
        if span is not None:
            headers["Range"] = f"bytes={span[0]}-{span[1] - 1}"
        want = data if span is None else data[span[0] : span[1]]
        cut_before = _failures(client, "after-headers")
        response = client.get(url, headers=headers)
        expected = EXPECTED[damage][read]
        if expected == "ok":
            assert response.status_code == (200 if span is None else 206), read
            assert response.content == want, read
            assert _audit_result(client, alice, f"read-{n}") == response.status_code
        elif expected == "cut":
            # The headers had gone out; the body stops before the damaged chunk.
            assert response.status_code == 200
            assert response.headers["content-length"] == str(len(data))
            assert 0 < len(response.content) < 2 * CHUNK_SIZE + 1, read
            assert data.startswith(response.content), "a wrong byte reached the client"
            assert _failures(client, "after-headers") == cut_before + 1
            assert _audit_result(client, alice, f"read-{n}") == 500
        else:
            assert response.status_code == (404 if expected == "blob-missing" else 500), read
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["type"].endswith(f"/{expected}")
            assert _audit_result(client, alice, f"read-{n}") == response.status_code


def test_a_failure_before_the_headers_is_counted(
    client: TestClient, alice: Account, settings: Settings
) -> None:
    image = upload(client, alice, _photo(2), filename="noise.png").json()
    path = settings.resolved_blob_dir / original_key(str(alice.id), image["sha256"])
    _flip(_stored_offset(settings, 0, 0))(path)
    before = _failures(client, "before-headers")
    assert client.get(f"/v1/images/{image['id']}/content", headers=alice.headers).status_code == 500
    assert _failures(client, "before-headers") == before + 1


@pytest.mark.parametrize("damage", ["flip", "delete", "no-sums"])
def test_a_damaged_or_lost_thumbnail_is_made_again(
    client: TestClient, alice: Account, settings: Settings, damage: str
) -> None:
    if damage == "no-sums" and settings.encrypt_blobs:
        pytest.skip("encrypted blobs are authenticated by their envelope, not by chunk sums")
    image = upload(client, alice, _photo(3), filename="noise.png").json()
    key = derivative_key(str(alice.id), image["id"], "small")
    path = settings.resolved_blob_dir / key
    if damage == "flip":
        _flip(_stored_offset(settings, 0, 20))(path)
    elif damage == "delete":
        path.unlink()
    else:
        (settings.resolved_blob_dir / sums_key(key)).unlink()
    for _ in range(2):  # made again once; then read as any other
        response = client.get(f"/v1/images/{image['id']}/thumbnail", headers=alice.headers)
        assert response.status_code == 200
        assert max(Image.open(io.BytesIO(response.content)).size) == 256


def test_a_preview_damaged_after_its_first_chunk_is_made_again_not_cut(
    client: TestClient, alice: Account, settings: Settings
) -> None:
    noise = random.Random(4).randbytes(900 * 900 * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (900, 900), noise).save(out, "PNG", compress_level=1)
    image = upload(client, alice, out.getvalue(), filename="noise.png").json()
    path = settings.resolved_blob_dir / derivative_key(str(alice.id), image["id"], "preview")
    assert path.stat().st_size > 2 * CHUNK_SIZE, "the preview must span several chunks"
    _flip(_stored_offset(settings, 1, 100))(path)
    for _ in range(2):
        response = client.get(
            f"/v1/images/{image['id']}/thumbnail?size=preview", headers=alice.headers
        )
        assert response.status_code == 200
        assert len(response.content) == int(response.headers["content-length"])
        assert Image.open(io.BytesIO(response.content)).size == (900, 900)

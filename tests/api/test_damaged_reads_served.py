"""A damaged blob read from a real ``photostore serve``: the connection is cut after the
headers, before any byte of the damaged chunk; the audit row and the metrics say so, and
``photostore verify`` names the blob afterwards. A client that leaves a sound read early
is recorded with the status the read started with."""

from __future__ import annotations

import io
import random
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from PIL import Image

from photostore.storage.base import original_key
from photostore.storage.checksummed import CHUNK_SIZE
from tests.conftest import postgres_folder
from tests.processes import login, run_cli, serving

pytestmark = pytest.mark.slow  # a cluster and a server of their own

EMAIL, PASSWORD = "ada@example.org", "ada password"
PLAIN = {"PHOTOSTORE_ENCRYPT_BLOBS": "false"}


def test_damage_after_the_headers_cuts_the_connection_and_is_recorded() -> None:
    noise = random.Random(5).randbytes(400 * 400 * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (400, 400), noise).save(out, "PNG", compress_level=0)
    photo = out.getvalue()
    with postgres_folder() as folder:
        data_dir = folder / "data"
        made = run_cli(
            "user", "create", "--data-dir", str(data_dir), "--email", EMAIL, "--password", PASSWORD,
            env=PLAIN,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        with serving(data_dir, env=PLAIN) as base:
            headers = login(base, EMAIL, PASSWORD)
            files = {"file": ("n.png", photo)}
            sent = httpx.post(f"{base}/v1/images", headers=headers, files=files)
            assert sent.status_code == 201, sent.text
            image = sent.json()
            owner = httpx.get(f"{base}/v1/users/me", headers=headers).json()["id"]
            key = original_key(owner, image["sha256"])
            _flip(data_dir / "blobs" / key, 3 * CHUNK_SIZE + 9)

            received = bytearray()
            read = {**headers, "X-Request-ID": "cut-read"}
            with (
                pytest.raises(httpx.RemoteProtocolError),
                httpx.stream("GET", f"{base}/v1/images/{image['id']}/content", headers=read) as r,
            ):
                assert r.status_code == 200
                assert r.headers["content-length"] == str(len(photo))
                for chunk in r.iter_raw():
                    received += chunk
            assert 0 < len(received) < 3 * CHUNK_SIZE
            assert photo.startswith(bytes(received)), "a wrong byte reached the client"

            assert _audit_result(base, headers, "cut-read") == 500

            # A client that walks away from a sound read leaves the status it started with.
            read = {**headers, "X-Request-ID": "left-read", "Range": "bytes=0-100000"}
            with httpx.stream("GET", f"{base}/v1/images/{image['id']}/content", headers=read) as r:
                assert r.status_code == 206
                next(r.iter_raw(1024))
            assert _audit_result(base, headers, "left-read") == 206
            metrics = httpx.get(f"{base}/metrics").text
            counted = 'photostore_blob_read_failures_total{blob="original",'
            counted += 'problem="unreadable-data",when="after-headers"} 1.0'
            assert counted in metrics
        verified = run_cli("verify", "--data-dir", str(data_dir), env=PLAIN)
        assert verified.returncode == 1, verified.stdout + verified.stderr
        assert "1 damaged" in verified.stdout
        assert f"damaged: {key}: fails its check" in verified.stdout


def _audit_result(base: str, headers: dict[str, str], request_id: str) -> int:
    """The result the audit row of ``request_id`` records, once it is written."""
    deadline = time.monotonic() + 10
    while True:
        trail = httpx.get(f"{base}/v1/users/me/audit", headers=headers).json()["items"]
        rows = [item for item in trail if item["request_id"] == request_id]
        if rows or time.monotonic() > deadline:
            (row,) = rows
            return int(row["result"])
        time.sleep(0.1)


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))

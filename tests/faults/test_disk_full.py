"""The disk of the data folder filling up under ``serve``: uploads are refused with 507
before anything is staged, nothing half-written is left or visible, the database still
checkpoints and restarts, ``serve`` starts again on the nearly full disk, and uploads
succeed once space is freed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import psycopg
import pytest

from photostore.db.embedded import running_cluster_socket
from tests import imagegen
from tests.faults.disk import fill, free_bytes, small_file_system
from tests.processes import login, run_cli, serving

pytestmark = pytest.mark.slow  # two starts of serve and a cluster of their own

EMAIL, PASSWORD = "ada@example.org", "ada password"
MIB = 1024 * 1024
FLOOR = {"PHOTOSTORE_MIN_FREE_DISK_MB": "32"}


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 507, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/insufficient-storage")


def _streamed(photo: bytes) -> Iterator[bytes]:
    """A multipart body sent in chunks, with no Content-Length: the size is not known
    until the body ends."""
    boundary = b"photostore-boundary"
    yield b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; '
    yield b'filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    for start in range(0, len(photo), 256 * 1024):
        yield photo[start : start + 256 * 1024]
    yield b"\r\n--" + boundary + b"--\r\n"


def _upload_streamed(base: str, headers: dict[str, str], photo: bytes) -> httpx.Response:
    content_type = "multipart/form-data; boundary=photostore-boundary"
    return httpx.post(
        f"{base}/v1/images",
        content=_streamed(photo),
        headers={**headers, "Content-Type": content_type},
        timeout=60,
    )


def _checkpoint(pgdata: Path) -> None:
    where = running_cluster_socket(pgdata)
    assert where is not None
    url = f"postgresql://postgres@/postgres?host={where[0]}&port={where[1]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def _leftovers(data_dir: Path) -> list[Path]:
    """Staged files (a live process's folder holds its lock file only) and partial writes."""
    staged = [p for p in (data_dir / "tmp").rglob("*") if p.is_file() and p.name != ".lock"]
    return staged + list((data_dir / "blobs").rglob(".tmp-*"))


def test_a_full_disk_refuses_uploads_keeps_the_library_and_recovers() -> None:
    with small_file_system(160) as disk:
        data_dir = disk / "photostore-data"
        pgdata = data_dir / "pgdata"
        made = run_cli(
            "user", "create", "--data-dir", str(data_dir), "--email", EMAIL,
            "--password", PASSWORD, env=FLOOR,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        kept = imagegen.make_jpeg(None, 200, 150, seed=1)
        # Two copies of it (about 2.4 MiB) need more than the room above the floor.
        big = imagegen.make_jpeg(None, 2000, 1400, seed=2, quality=100)
        assert len(big) > 2 * MIB
        with serving(data_dir, FLOOR, quiet=False) as base:
            headers = login(base, EMAIL, PASSWORD)
            first = httpx.post(
                f"{base}/v1/images", files={"file": ("k.jpg", kept)}, headers=headers
            )
            assert first.status_code == 201, first.text
            blobs_before = sorted((data_dir / "blobs").rglob("*"))

            # 34 MiB free: above the floor of 32, but without room for two copies of it.
            filler = fill(disk, 34 * MIB)
            _refused(
                httpx.post(f"{base}/v1/images", files={"file": ("b.png", big)}, headers=headers)
            )
            _refused(_upload_streamed(base, headers, big))
            # Under the floor now: even the smallest upload is refused.
            second_filler = fill(disk, 20 * MIB)
            _refused(
                httpx.post(
                    f"{base}/v1/images", files={"file": ("s.jpg", kept[::-1])}, headers=headers
                )
            )
            assert _leftovers(data_dir) == []
            assert sorted((data_dir / "blobs").rglob("*")) == blobs_before
            listed = httpx.get(f"{base}/v1/images", headers=headers).json()["items"]
            assert [item["id"] for item in listed] == [first.json()["id"]]
            content = httpx.get(f"{base}/v1/images/{first.json()['id']}/content", headers=headers)
            assert content.content == kept
            _checkpoint(pgdata)  # the floor left the database room for its WAL

        # A clean stop (a shutdown checkpoint) and a start, both under the floor.
        assert free_bytes(disk) < 32 * MIB
        with serving(data_dir, FLOOR, quiet=False) as base:
            log = (data_dir.parent / f"serve-{base.rsplit(':', 1)[1]}.log").read_text()
            assert "uploads are refused with 507 until space is freed" in log
            headers = login(base, EMAIL, PASSWORD)
            _refused(
                httpx.post(f"{base}/v1/images", files={"file": ("b.png", big)}, headers=headers)
            )
            content = httpx.get(f"{base}/v1/images/{first.json()['id']}/content", headers=headers)
            assert content.content == kept

            filler.unlink()
            second_filler.unlink()
            stored = httpx.post(
                f"{base}/v1/images", files={"file": ("b.png", big)}, headers=headers
            )
            assert stored.status_code == 201, stored.text
            back = httpx.get(f"{base}/v1/images/{stored.json()['id']}/content", headers=headers)
            assert back.content == big
        assert _leftovers(data_dir) == []
        checked = run_cli("verify", "--data-dir", str(data_dir), env=FLOOR)
        assert checked.returncode == 0, checked.stdout + checked.stderr

"""The client against a real ``photostore serve``: uploads streamed from a file, reads,
pages, search, batch writes, problem documents as typed errors, a 429 tried again after
its ``Retry-After``, ranged downloads, and the asynchronous client doing the same.

One server for the module, on a database of the run's cluster: logins are limited to
two failures an email within two seconds, so the limit is met and outlived quickly.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.serving import photostore_serve

from photostore.auth.passwords import MIN_MEMORY_KIB
from photostore.client import (
    AsyncClient,
    Client,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
    Retries,
    UnauthenticatedError,
)
from photostore.db.embedded import EmbeddedCluster
from tests import imagegen
from tests.conftest import scratch_database

pytestmark = pytest.mark.slow  # starts `photostore serve`

PASSWORD = "a long enough passphrase"
PROBLEMS = "https://photostore.dev/problems/"
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def base(pg_cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with scratch_database(pg_cluster, f"client_{uuid.uuid4().hex[:8]}") as database:
        settings = {
            "environment": "test",
            "allow_signup": "true",
            "migration_database_url": database.owner_url,
            "password_hash_memory_kib": str(MIN_MEMORY_KIB),
            "password_hash_time_cost": "1",
            "login_max_failures": "2",
            "login_window_seconds": "2",
        }
        data = tmp_path_factory.mktemp("client") / "data"
        with photostore_serve(data, settings, database.app_url) as url:
            yield url


def _signed_in(base: str, name: str) -> Client:
    client = Client(base)
    email = f"{name}-{uuid.uuid4().hex[:6]}@example.org"
    client.create_user(email, PASSWORD)
    client.login(email, PASSWORD)
    return client


class CountingReads(io.FileIO):
    """A real file that notes the size of every read, to see an upload streamed."""

    largest = 0

    def read(self, size: int | None = -1) -> bytes:
        whole = size is None or size < 0
        self.largest = max(self.largest, 1 << 62 if whole else size or 0)
        return super().read(size)


def test_an_upload_streams_a_file_and_reads_come_back_typed(base: str, tmp_path: Path) -> None:
    photo = tmp_path / "harbour.jpg"
    data = imagegen.make_jpeg(photo, 640, 480, quality=100, seed=1)
    assert len(data) > 2 * CHUNK
    with _signed_in(base, "stream") as client, CountingReads(photo) as file:
        stored = client.upload_image(file, description="lighthouse at dusk", tags=["sea"])
        again = client.upload_image(photo)
        placed = client.upload_image(
            imagegen.make_jpeg(None, 16, 16, seed=2), title="Harbour", favorite=True,
            taken_at="2024-05-06T07:08:09+02:00", latitude=54.5, longitude=-3.25,
        )  # fmt: skip
        read = client.get_image(stored["id"])
    assert 0 < file.largest <= CHUNK, "the file was read whole"
    assert (stored["width"], stored["byte_size"], stored["original_filename"]) == (
        640, len(data), "harbour.jpg",
    )  # fmt: skip
    assert again["id"] == stored["id"]
    assert (placed["title"], placed["favorite"], placed["taken_at_offset_minutes"]) == (
        "Harbour", True, 120,
    )  # fmt: skip
    assert placed["gps"] is not None and placed["gps"]["latitude"] == 54.5
    assert (read["description"], read["tags"]) == ("lighthouse at dusk", ["sea"])


def test_iterators_walk_every_page(base: str) -> None:
    with _signed_in(base, "pages") as client:
        made = [client.upload_image(imagegen.make_jpeg(None, 16, 16, seed=n)) for n in range(5)]
        first = client.list_images(limit=2)
        walked = [image["id"] for image in client.iter_images(limit=2)]
        for name in ("a", "b", "c"):
            client.create_tag(name)
        tags = [tag["name"] for tag in client.iter_tags(limit=2)]
    assert len(first["items"]) == 2 and first["next_cursor"] is not None
    assert sorted(walked) == sorted(image["id"] for image in made)
    assert walked[:2] == [image["id"] for image in first["items"]]
    assert sorted(tags) == ["a", "b", "c"]


def test_the_change_feed_is_walked_then_followed(base: str) -> None:
    with _signed_in(base, "feed") as client:
        start = client.list_changes(latest=True)
        image = client.upload_image(imagegen.make_jpeg(None, 16, 16, seed=40))
        client.update_image(image["id"], favorite=True)
        walked = [change["kind"] for change in client.iter_changes(cursor=start["next_cursor"])]
        page = client.list_changes(cursor=start["next_cursor"])
        after = client.list_changes(cursor=page["next_cursor"])
    assert walked == ["image.created", "image.updated"]
    assert [change["kind"] for change in page["items"]] == walked
    assert after["items"] == [] and after["next_cursor"] == page["next_cursor"]


def test_search_and_batch_writes(base: str) -> None:
    with _signed_in(base, "batch") as client:
        one, two = (client.upload_image(imagegen.make_jpeg(None, 16, 16, seed=n)) for n in (7, 8))
        changed = client.update_images(
            [{"id": one["id"], "title": "lighthouse"}, {"id": two["id"], "favorite": True}]
        )
        hits = client.search(text="lighthouse")
        every = list(client.iter_search(filters={"favorite": True}, limit=1))
        analysed = client.write_analysis_batch(
            [{"image_id": one["id"], "analyzer": "scenes", "model_version": "v1",
              "payload": {"scenes": [{"label": "coast", "confidence": 0.9}]}}]
        )  # fmt: skip
        faces = client.add_faces_batch(
            [{"image_id": two["id"],
              "faces": [{"box": {"x": 0.1, "y": 0.1, "width": 0.2, "height": 0.2},
                         "score": 0.99, "model": "m1"}]}]
        )  # fmt: skip
        current = client.list_current_analysis(one["id"])
    assert [image["title"] for image in changed["items"]] == ["lighthouse", None]
    assert [hit["image"]["id"] for hit in hits["items"]] == [one["id"]]
    assert [hit["image"]["id"] for hit in every] == [two["id"]]
    assert analysed["items"][0]["payload"]["scenes"][0]["label"] == "coast"
    assert [face["model"] for face in faces["items"][0]["faces"]] == ["m1"]
    assert [result["analyzer"] for result in current["items"]] == ["scenes"]


def test_errors_are_raised_typed_with_their_problem_document(base: str) -> None:
    with _signed_in(base, "errors") as client:
        missing = uuid.uuid4()
        with pytest.raises(NotFoundError) as not_found:
            client.get_image(missing)
        with pytest.raises(InvalidInputError) as invalid:
            client.list_images(limit=0)
        client.token = None
        with pytest.raises(UnauthenticatedError):
            client.read_me()
    assert not_found.value.status == 404
    assert not_found.value.type == PROBLEMS + "not-found"
    assert not_found.value.problem["instance"] == f"/v1/images/{missing}"
    assert not_found.value.request_id
    assert invalid.value.type == PROBLEMS + "invalid-input"
    assert ["query", "limit"] in [problem["loc"] for problem in invalid.value.errors]


def test_a_429_is_tried_again_after_its_retry_after(base: str) -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    email = f"limited-{uuid.uuid4().hex[:6]}@example.org"
    with Client(base, sleep=sleep) as client, Client(base, retries=Retries(attempts=1)) as once:
        client.create_user(email, PASSWORD)
        for _ in range(2):
            with pytest.raises(UnauthenticatedError):
                client.login(email, "a wrong guess")
        with pytest.raises(RateLimitedError) as limited:
            once.login(email, PASSWORD)
        client.login(email, PASSWORD)
        me = client.read_me()
    assert limited.value.type == PROBLEMS + "rate-limited"
    assert limited.value.retry_after is not None and 1 <= limited.value.retry_after <= 2
    assert len(waits) == 1 and 1 <= waits[0] <= 2
    assert me["email"] == email


def test_files_download_whole_or_in_a_range(base: str, tmp_path: Path) -> None:
    data = imagegen.make_jpeg(None, 64, 48, seed=3)
    with _signed_in(base, "files") as client:
        image = client.upload_image(data, filename="small.jpg")
        whole = io.BytesIO()
        full = client.get_original(image["id"], whole)
        part = client.get_original(image["id"], tmp_path / "part", byte_range=(10, 19))
        tail = client.get_original(image["id"], byte_range=(len(data) - 5, None))
        thumbnail = client.get_thumbnail(image["id"], size="small")
    assert (full.status, full.byte_count, full.content) == (200, len(data), None)
    assert whole.getvalue() == data
    assert (part.status, part.content_range) == (206, f"bytes 10-19/{len(data)}")
    assert (tmp_path / "part").read_bytes() == data[10:20]
    assert tail.content == data[-5:]
    assert thumbnail.content is not None and thumbnail.content_type.startswith("image/")


def test_health_routes(base: str) -> None:
    with Client(base) as client:
        assert client.healthz() == {"status": "ok"}
        assert client.readyz()["status"] == "ready"
        assert "photostore" in client.metrics()


def test_the_async_client_does_the_same(base: str) -> None:
    data = imagegen.make_jpeg(None, 32, 32, seed=11)

    async def calls() -> tuple[list[str], str, bytes | None, int]:
        async with AsyncClient(base) as client:
            email = f"async-{uuid.uuid4().hex[:6]}@example.org"
            await client.create_user(email, PASSWORD)
            await client.login(email, PASSWORD)
            for n in range(3):
                await client.upload_image(imagegen.make_jpeg(None, 16, 16, seed=20 + n))
            stored = await client.upload_image(data, description="async")
            walked = [image["id"] async for image in client.iter_images(limit=2)]
            read = await client.get_image(stored["id"])
            ranged = await client.get_original(stored["id"], byte_range=(0, 3))
            try:
                await client.get_image(uuid.uuid4())
            except NotFoundError as error:
                status = error.status
            return walked, read["description"] or "", ranged.content, status

    walked, description, head, status = asyncio.run(calls())
    assert len(walked) == 4
    assert description == "async"
    assert head == data[:4]
    assert status == 404

"""Bounded work per upload, dates that always read back, and no text that breaks a library.

Hostile files cost a bounded amount: metadata over its parse budget is dropped and the
photo kept, a decode over its memory budget is refused from the header, and decodes
beyond the process's slots wait a bounded time, then get 503. A date or a text value
PostgreSQL could not store or read back is refused or dropped at the edge, so no stored
row can make the owner's library answer 500.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from photostore.app import create_app
from photostore.config import Settings
from tests import imagegen
from tests.conftest import Account, upload

PROBLEMS = "https://photostore.dev/problems/"


def library_answers(client: TestClient, account: Account, image_id: str) -> None:
    """The image, the timeline and search all answer 200 with the image in them."""
    assert client.get(f"/v1/images/{image_id}", headers=account.headers).status_code == 200
    timeline = client.get("/v1/images", headers=account.headers)
    assert timeline.status_code == 200, timeline.text
    assert image_id in [item["id"] for item in timeline.json()["items"]]
    search = client.post("/v1/search", json={}, headers=account.headers)
    assert search.status_code == 200, search.text


def test_a_maker_note_bomb_is_stored_with_its_standard_tags(
    client: TestClient, alice: Account
) -> None:
    # 765 bytes whose MakerNote declares 2**32-1 values: hours of CPU for exifread.
    exif = imagegen.exif_with_maker_note_count(2**32 - 1)
    response = upload(client, alice, imagegen.make_jpeg(None, 8, 8, exif=exif))
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["taken_at"] == "2021-07-04T18:30:15Z"
    assert record["taken_at_source"] == "exif_original"
    assert record["camera_make"] == "Canon"
    assert not any(key.startswith("MakerNote") for key in record["exif"])


def test_exif_over_its_parse_budget_is_dropped_and_the_photo_kept(
    client: TestClient, alice: Account
) -> None:
    app1 = imagegen.exif_with_repeated_entries(5000)  # 5 million reads in 60 KB
    response = upload(client, alice, imagegen.with_app1(imagegen.make_jpeg(None), app1))
    assert response.status_code == 201, response.text
    assert response.json()["exif"] == {}
    assert response.json()["taken_at_source"] == "upload"


@pytest.mark.parametrize(
    "make",
    [
        # 3 KB; pillow-heif would decode 10000x10000 at about 1.3 GB.
        lambda: imagegen.make_heic_bomb(10_000, 10_000),
        # 2 KB; libjpeg would hold every DCT coefficient of 100 MP, 0.6-1 GB.
        lambda: imagegen.with_frame_size(imagegen.make_progressive_jpeg(), 10_000, 10_000),
    ],
    ids=["heic", "progressive-jpeg"],
)
def test_a_decode_over_the_memory_budget_is_refused_from_the_header(
    client: TestClient, alice: Account, make: Callable[[], bytes]
) -> None:
    response = upload(client, alice, make())
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == PROBLEMS + "image-too-large"
    assert "10000x10000" in problem["detail"]
    assert "MiB" in problem["detail"]


def test_the_decode_memory_budget_is_a_setting(settings: Settings, alice: Account) -> None:
    small = settings.model_copy(update={"max_decode_mb": 1})
    heic = imagegen.make_heic(None, 400, 300)  # 120,000 px x 16 bytes > 1 MiB
    baseline = imagegen.make_jpeg(None, 400, 300)  # decoded while streaming
    with TestClient(create_app(small)) as client:
        assert upload(client, alice, heic).status_code == 422
        assert upload(client, alice, baseline).status_code == 201


def test_uploads_beyond_the_decode_slots_get_503_with_retry_after(
    settings: Settings, alice: Account
) -> None:
    one_slot = settings.model_copy(update={"max_concurrent_decodes": 1, "decode_wait_seconds": 0.0})
    with TestClient(create_app(one_slot)) as client:
        slots = client.app.state.ctx.decode_slots  # type: ignore[attr-defined]
        decoding = object()  # stands for an upload holding the one slot
        client.portal.call(slots.limiter.acquire_on_behalf_of_nowait, decoding)  # type: ignore[union-attr]
        busy = upload(client, alice, imagegen.make_png(None, 10, 10))
        assert busy.status_code == 503, busy.text
        assert busy.json()["type"] == PROBLEMS + "decoders-busy"
        assert busy.headers["retry-after"] == "2"
        client.portal.call(slots.limiter.release_on_behalf_of, decoding)  # type: ignore[union-attr]
        assert upload(client, alice, imagegen.make_png(None, 10, 10)).status_code == 201


@pytest.mark.parametrize(
    ("date", "offset"),
    [
        ("9999:12:31 23:59:59", "-14:00"),
        ("9999:12:31 23:59:59", None),
        ("0001:01:01 00:00:00", "+14:00"),
    ],
)
def test_an_exif_date_out_of_range_is_dropped_and_the_library_still_answers(
    client: TestClient, alice: Account, date: str, offset: str | None
) -> None:
    exif = imagegen.make_exif(datetime_original=date, offset_original=offset)
    response = upload(client, alice, imagegen.make_jpeg(None, exif=exif))
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["taken_at_source"] == "upload"
    assert record["taken_at"] == record["uploaded_at"]
    library_answers(client, alice, record["id"])


@pytest.mark.parametrize(
    "taken_at",
    [
        "9999-12-31T23:59:59-14:00",
        "2200-01-01T00:00:00Z",
        "1799-12-31T23:59:59Z",
        "0001-01-01T00:00:00+14:00",
    ],
)
def test_patching_a_date_out_of_range_is_422_and_changes_nothing(
    client: TestClient, alice: Account, taken_at: str
) -> None:
    record = upload(client, alice, imagegen.make_png(None, 10, 10)).json()
    response = client.patch(
        f"/v1/images/{record['id']}", json={"taken_at": taken_at}, headers=alice.headers
    )
    assert response.status_code == 422, response.text
    assert "taken_at" in response.json()["detail"]
    library_answers(client, alice, record["id"])
    after = client.get(f"/v1/images/{record['id']}", headers=alice.headers).json()
    assert after["taken_at"] == record["taken_at"]


def test_patching_a_date_at_the_edges_of_the_range_round_trips(
    client: TestClient, alice: Account
) -> None:
    record = upload(client, alice, imagegen.make_png(None, 10, 10)).json()
    for taken_at in ["1800-01-01T00:00:00Z", "2199-12-31T09:59:59-14:00"]:
        response = client.patch(
            f"/v1/images/{record['id']}", json={"taken_at": taken_at}, headers=alice.headers
        )
        assert response.status_code == 200, response.text
        library_answers(client, alice, record["id"])


NUL = "a\x00b"


def _nul_requests(image_id: str) -> dict[str, Callable[[TestClient, Account], httpx.Response]]:
    """One request per kind of text input, each carrying a NUL character."""

    def send(
        method: str, path: str, **kwargs: Any
    ) -> Callable[[TestClient, Account], httpx.Response]:
        def call(client: TestClient, account: Account) -> httpx.Response:
            return client.request(method, path, headers=account.headers, **kwargs)

        return call

    photo = imagegen.make_png(None, 12, 12, seed=7)
    return {
        "upload-description": lambda c, a: upload(c, a, photo, description=NUL),
        "upload-tags": lambda c, a: upload(c, a, photo, tags=NUL),
        "image-description": send("PATCH", f"/v1/images/{image_id}", json={"description": NUL}),
        "image-tags": send("PATCH", f"/v1/images/{image_id}", json={"tags": [NUL]}),
        "tag-name": send("POST", "/v1/tags", json={"name": NUL}),
        "album-name": send("POST", "/v1/albums", json={"name": NUL}),
        "album-description": send("POST", "/v1/albums", json={"name": "a", "description": NUL}),
        "person-name": send("POST", "/v1/people", json={"name": NUL}),
        "search-text": send("POST", "/v1/search", json={"text": NUL}),
        "timeline-tag": send("GET", "/v1/images", params={"tag": NUL}),
        "login-username": lambda c, a: c.post(
            "/v1/auth/token", data={"username": NUL, "password": "x"}
        ),
        "login-password": lambda c, a: c.post(
            "/v1/auth/token", data={"username": a.email, "password": NUL}
        ),
        "sign-up-email": lambda c, a: c.post(
            "/v1/users",
            json={"email": f"x\x00{uuid.uuid4().hex}@example.org", "password": "p" * 12},
        ),
    }


NUL_CASES = sorted(_nul_requests(""))


@pytest.mark.parametrize("case", NUL_CASES)
def test_a_nul_character_in_any_text_field_is_422(
    client: TestClient, alice: Account, case: str
) -> None:
    image_id = upload(client, alice, imagegen.make_png(None, 10, 10)).json()["id"]
    response = _nul_requests(image_id)[case](client, alice)
    assert response.status_code in {401, 422}, response.text
    if response.status_code == 422:
        assert response.json()["type"] == PROBLEMS + "invalid-input"
    library_answers(client, alice, image_id)

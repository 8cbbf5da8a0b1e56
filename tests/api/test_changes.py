"""Changing images: PATCH, trash, restore, purge."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from photostore.config import Settings
from tests import imagegen
from tests.conftest import Account, ScratchDatabase, upload


@pytest.fixture
def image_id(client: TestClient, alice: Account) -> str:
    data = imagegen.make_jpeg(
        None, 32, 32, exif=imagegen.make_exif(datetime_original="2010:01:01 00:00:00")
    )
    return str(upload(client, alice, data).json()["id"])


def test_patch_changes_only_the_named_fields(
    client: TestClient, alice: Account, image_id: str
) -> None:
    changed = client.patch(
        f"/v1/images/{image_id}",
        json={"description": "a cat", "favorite": True},
        headers=alice.headers,
    )
    assert changed.status_code == 200
    assert changed.json()["description"] == "a cat"
    assert changed.json()["favorite"] is True
    tagged = client.patch(
        f"/v1/images/{image_id}", json={"tags": ["pets"]}, headers=alice.headers
    ).json()
    assert tagged["description"] == "a cat"
    assert tagged["tags"] == ["pets"]
    cleared = client.patch(
        f"/v1/images/{image_id}", json={"description": None, "tags": []}, headers=alice.headers
    )
    assert cleared.json()["description"] is None
    assert cleared.json()["tags"] == []
    assert cleared.json()["favorite"] is True


def test_a_title_is_set_searched_by_and_cleared(
    client: TestClient, alice: Account, image_id: str
) -> None:
    assert client.get(f"/v1/images/{image_id}", headers=alice.headers).json()["title"] is None
    titled = client.patch(
        f"/v1/images/{image_id}", json={"title": "Lighthouse at dusk"}, headers=alice.headers
    )
    assert titled.status_code == 200
    assert titled.json()["title"] == "Lighthouse at dusk"
    found = client.post("/v1/search", json={"text": "lighthouse"}, headers=alice.headers)
    assert [hit["image"]["id"] for hit in found.json()["items"]] == [image_id]
    too_long = client.patch(
        f"/v1/images/{image_id}", json={"title": "x" * 1001}, headers=alice.headers
    )
    assert too_long.status_code == 422
    cleared = client.patch(f"/v1/images/{image_id}", json={"title": None}, headers=alice.headers)
    assert cleared.json()["title"] is None
    assert cleared.json()["damaged"] is False


def test_taken_at_override_is_recorded_as_the_users(
    client: TestClient, alice: Account, image_id: str
) -> None:
    body = client.patch(
        f"/v1/images/{image_id}",
        json={"taken_at": "1999-12-31T23:59:00-05:00"},
        headers=alice.headers,
    ).json()
    assert body["taken_at"] == "1999-12-31T23:59:00-05:00"
    assert body["taken_at_source"] == "user"
    assert body["taken_at_offset_minutes"] == -300
    again = client.get(f"/v1/images/{image_id}", headers=alice.headers).json()
    assert again["taken_at"] == "1999-12-31T23:59:00-05:00"


@pytest.mark.parametrize(
    "body",
    [
        {"owner_id": "00000000-0000-0000-0000-000000000000"},
        {"id": "00000000-0000-0000-0000-000000000000"},
        {"sha256": "0" * 64},
        {"byte_size": 1},
        {"favorite": "yes please"},
        {"taken_at": "2020-01-01T00:00:00"},
        {"taken_at": None},
        {"favorite": None},
        {"tags": "not-a-list"},
        {"tags": ["x" * 101]},
        {"description": "x" * 10_001},
    ],
)
def test_bad_patches_are_422_and_change_nothing(
    client: TestClient, alice: Account, image_id: str, body: dict[str, object]
) -> None:
    before = client.get(f"/v1/images/{image_id}", headers=alice.headers).json()
    response = client.patch(f"/v1/images/{image_id}", json=body, headers=alice.headers)
    assert response.status_code == 422, response.text
    assert client.get(f"/v1/images/{image_id}", headers=alice.headers).json() == before


def test_trash_and_restore(client: TestClient, alice: Account, image_id: str) -> None:
    trashed = client.delete(f"/v1/images/{image_id}", headers=alice.headers)
    assert trashed.status_code == 200
    assert trashed.json()["trashed"] is True
    # Still readable while in the trash.
    assert client.get(f"/v1/images/{image_id}/content", headers=alice.headers).status_code == 200
    restored = client.post(f"/v1/images/{image_id}/restore", headers=alice.headers)
    assert restored.json()["trashed"] is False
    assert restored.json()["trashed_at"] is None
    timeline = client.get("/v1/images", headers=alice.headers).json()["items"]
    assert [i["id"] for i in timeline] == [image_id]


def test_trashing_again_keeps_the_first_trashed_at(
    client: TestClient, alice: Account, image_id: str
) -> None:
    first = client.delete(f"/v1/images/{image_id}", headers=alice.headers).json()
    again = client.delete(f"/v1/images/{image_id}", headers=alice.headers).json()
    assert again["trashed_at"] == first["trashed_at"]
    assert again["updated_at"] > first["updated_at"]
    assert client.get(f"/v1/images/{image_id}", headers=alice.headers).json() == again


def test_purge_deletes_rows_and_files(
    client: TestClient, alice: Account, image_id: str, settings: Settings, database: ScratchDatabase
) -> None:
    blob_files = [p for p in settings.resolved_blob_dir.rglob("*") if p.is_file()]
    assert len(blob_files) == 3  # original + two thumbnails
    response = client.delete(f"/v1/images/{image_id}?purge=true", headers=alice.headers)
    assert response.status_code == 204
    assert client.get(f"/v1/images/{image_id}", headers=alice.headers).status_code == 404
    assert [p for p in settings.resolved_blob_dir.rglob("*") if p.is_file()] == []
    with database.superuser_connect() as conn:
        for table in ("images", "blobs", "derivatives", "image_tags"):
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert row is not None and row[0] == 0, table
    # The same bytes can come back afterwards, as a new image.
    data = imagegen.make_jpeg(
        None, 32, 32, exif=imagegen.make_exif(datetime_original="2010:01:01 00:00:00")
    )
    assert upload(client, alice, data).status_code == 201


def test_purge_leaves_other_users_copies_alone(
    client: TestClient, alice: Account, bob: Account, settings: Settings
) -> None:
    data = imagegen.make_png(None, 20, 20, seed=9)
    mine = upload(client, alice, data).json()["id"]
    theirs = upload(client, bob, data).json()["id"]
    client.delete(f"/v1/images/{mine}?purge=true", headers=alice.headers)
    assert client.get(f"/v1/images/{theirs}/content", headers=bob.headers).content == data


def test_changing_only_tags_moves_updated_at(
    client: TestClient, alice: Account, image_id: str
) -> None:
    before = client.get(f"/v1/images/{image_id}", headers=alice.headers).json()["updated_at"]
    after = client.patch(
        f"/v1/images/{image_id}", json={"tags": ["x"]}, headers=alice.headers
    ).json()
    assert after["updated_at"] > before


def test_a_tag_cannot_hold_a_comma(client: TestClient, alice: Account, image_id: str) -> None:
    response = client.patch(f"/v1/images/{image_id}", json={"tags": ["a,b"]}, headers=alice.headers)
    assert response.status_code == 422


def test_concurrent_uploads_of_the_same_bytes_store_one_image(
    client: TestClient, alice: Account, settings: Settings, database: ScratchDatabase
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = imagegen.make_jpeg(None, 500, 400, seed=21)
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: upload(client, alice, data), range(6)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 200, 200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    with database.superuser_connect() as conn:
        assert conn.execute("SELECT count(*) FROM images").fetchone() == (1,)
    originals = [p for p in (settings.resolved_blob_dir / "originals").rglob("*") if p.is_file()]
    assert len(originals) == 1
    staged = [p for p in settings.staging_dir.rglob("*") if p.is_file() and p.name != ".lock"]
    assert staged == []


def test_purge_racing_a_reupload_never_leaves_a_row_without_its_file(
    client: TestClient, alice: Account
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = imagegen.make_jpeg(None, 300, 300, seed=22)
    for _ in range(5):
        image_id = upload(client, alice, data).json()["id"]
        with ThreadPoolExecutor(max_workers=2) as pool:
            purge = pool.submit(
                client.delete, f"/v1/images/{image_id}?purge=true", headers=alice.headers
            )
            again = pool.submit(upload, client, alice, data)
            assert purge.result().status_code == 204
            assert again.result().status_code in {200, 201}
        for item in client.get("/v1/images", headers=alice.headers).json()["items"]:
            content = client.get(f"/v1/images/{item['id']}/content", headers=alice.headers)
            assert content.status_code == 200
            assert content.content == data
            client.delete(f"/v1/images/{item['id']}?purge=true", headers=alice.headers)

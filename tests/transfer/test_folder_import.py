"""Import of a folder tree: what is stored, what is passed over and why, and a second run."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from photostore.domain.sidecars import SidecarFields
from photostore.media import sidecars
from photostore.services.context import ServiceContext
from photostore.transfer import summary as reasons
from photostore.transfer.folder import import_folder
from photostore.transfer.summary import ImportSummary
from tests import imagegen
from tests.conftest import Account
from tests.media.sidecars import documents

SEA = SidecarFields(
    title="Sea",
    description="from the sidecar",
    taken_at=datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC),
    taken_at_offset_minutes=60,
    latitude=48.5,
    longitude=-2.25,
    altitude=10.0,
    favorite=True,
    tags=("Trip",),
)


def _tree(root: Path, outside: Path) -> None:
    (root / "2020").mkdir(parents=True)
    imagegen.make_jpeg(root / "2020" / "a.jpg", 32, 24, seed=1)
    (root / "2020" / "a.jpg.xmp").write_text("<x:xmpmeta/>")
    imagegen.make_png(root / "2020" / "b.png", 20, 20, seed=2)
    (root / "notes.txt").write_text("not a photo")
    (root / "huge.jpg").write_bytes(imagegen.make_jpeg_bomb(60_000, 60_000))
    for hidden in (".trash", "thumbs", "encoded-video", "storage/cache", "@eaDir"):
        (root / hidden).mkdir(parents=True)
        imagegen.make_jpeg(root / hidden / "skip.jpg", 8, 8, seed=3)
    imagegen.make_jpeg(outside / "elsewhere.jpg", 8, 8, seed=4)
    (root / "link.jpg").symlink_to(outside / "elsewhere.jpg")
    (root / "again").symlink_to(root / "2020")  # a folder met twice is walked once


def _import(client: TestClient, account: Account, root: Path) -> ImportSummary:
    def sidecar_for(photo: Path, top: Path) -> SidecarFields | None:
        assert top == root.resolve()
        return SEA if photo.name == "a.jpg" else None

    async def run(ctx: ServiceContext) -> ImportSummary:
        return await import_folder(
            ctx,
            account.id,
            root,
            sidecar_for=sidecar_for,
            is_sidecar=lambda path: path.suffix == ".xmp",
        )

    assert client.portal is not None
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    return client.portal.call(functools.partial(run, ctx))


def test_a_folder_is_imported_with_its_sidecars_and_each_skip_has_its_reason(
    client: TestClient, alice: Account, tmp_path: Path
) -> None:
    root, outside = tmp_path / "photos", tmp_path / "outside"
    outside.mkdir()
    _tree(root, outside)
    done = _import(client, alice, root)
    assert (done.stored, done.already_stored) == (2, 0)
    assert done.skipped == {
        reasons.NOT_AN_IMAGE: 1,
        reasons.TOO_MANY_PIXELS: 1,
        "a symbolic link to a place outside the folder": 1,
    }
    assert done.examples[reasons.NOT_AN_IMAGE] == ["notes.txt"]
    assert "2 stored, 0 already stored, 3 skipped" in done.lines()[0]

    items = client.get("/v1/images", headers=alice.headers).json()["items"]
    by_name = {item["original_filename"]: item for item in items}
    assert set(by_name) == {"a.jpg", "b.png"}
    sea = by_name["a.jpg"]
    assert (sea["title"], sea["description"], sea["favorite"]) == ("Sea", "from the sidecar", True)
    assert datetime.fromisoformat(sea["taken_at"]) == SEA.taken_at
    assert sea["gps"] == {"latitude": 48.5, "longitude": -2.25, "altitude": 10.0}
    assert sea["tags"] == ["Trip"]

    again = _import(client, alice, root)
    assert (again.stored, again.already_stored) == (0, 2)
    assert again.skipped == done.skipped
    assert len(client.get("/v1/images", headers=alice.headers).json()["items"]) == 2


def test_immich_and_photoprism_libraries_import_as_they_lie(
    client: TestClient, alice: Account, tmp_path: Path
) -> None:
    immich = tmp_path / "immich"
    photo = immich / "library" / "admin" / "2024" / "IMG_1.jpg"
    photo.parent.mkdir(parents=True)
    imagegen.make_jpeg(photo, 32, 24, seed=21)
    (photo.parent / "IMG_1.jpg.xmp").write_bytes(documents.IMMICH)
    for generated in ("thumbs/admin", "encoded-video/admin", "profile/admin"):
        (immich / generated).mkdir(parents=True)
        imagegen.make_jpeg(immich / generated / "t.jpg", 8, 8, seed=22)
    prism = tmp_path / "photoprism"
    original = prism / "originals" / "2020" / "08" / "IMG_1234.jpg"
    original.parent.mkdir(parents=True)
    imagegen.make_jpeg(original, 32, 24, seed=23)
    yaml_path = prism / "storage" / "sidecar" / "2020" / "08" / "IMG_1234.yml"
    yaml_path.parent.mkdir(parents=True)
    yaml_path.write_bytes(documents.PHOTOPRISM)
    (prism / "storage" / "cache" / "thumbnails").mkdir(parents=True)
    imagegen.make_jpeg(prism / "storage" / "cache" / "thumbnails" / "t.jpg", 8, 8, seed=24)

    async def run(ctx: ServiceContext, root: Path) -> ImportSummary:
        return await import_folder(
            ctx, alice.id, root, sidecar_for=sidecars.sidecar_for, is_sidecar=sidecars.is_sidecar
        )

    assert client.portal is not None
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    for root in (immich, prism):
        done = client.portal.call(functools.partial(run, ctx, root))
        assert (done.stored, done.skipped) == (1, {}), done.lines()
    items = client.get("/v1/images", headers=alice.headers).json()["items"]
    by_name = {item["original_filename"]: item for item in items}
    assert set(by_name) == {"IMG_1.jpg", "IMG_1234.jpg"}
    assert by_name["IMG_1234.jpg"]["title"] == "Sunset over the lake"
    assert by_name["IMG_1234.jpg"]["favorite"] is True
    assert by_name["IMG_1.jpg"]["description"] == "Birthday cake"
    assert by_name["IMG_1.jpg"]["taken_at_source"] == "sidecar"

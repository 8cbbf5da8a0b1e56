"""Finding a photo's sidecars in a library folder, as Takeout, Immich and PhotoPrism
lay them out; a broken or hostile one is left out with one warning."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from photostore.media.sidecars import MAX_SIDECAR_BYTES, is_sidecar, sidecar_for
from tests.media.sidecars import documents

_LOGGER = "photostore.media.sidecars.discovery"


def _photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8 stands in for a photo")
    return path


def _title_xmp(title: str) -> bytes:
    return documents.xmp(f"><dc:title>{title}</dc:title></rdf:Description>")


def test_a_photo_without_sidecars_has_none(tmp_path: Path) -> None:
    assert sidecar_for(_photo(tmp_path / "IMG_1.jpg"), tmp_path) is None


@pytest.mark.parametrize("name", ["IMG_1.jpg.xmp", "IMG_1.xmp", "IMG_1.jpg.XMP"])
def test_immich_and_lightroom_xmp_names(tmp_path: Path, name: str) -> None:
    photo = _photo(tmp_path / "library" / "admin" / "2024" / "IMG_1.jpg")
    (photo.parent / name).write_bytes(documents.IMMICH)
    fields = sidecar_for(photo, tmp_path)
    assert fields is not None
    assert fields.description == "Birthday cake"


def test_the_photo_s_full_name_xmp_wins_over_the_stem_s(tmp_path: Path) -> None:
    photo = _photo(tmp_path / "IMG_1.jpg")
    (tmp_path / "IMG_1.xmp").write_bytes(_title_xmp("of the raw"))
    (tmp_path / "IMG_1.jpg.xmp").write_bytes(_title_xmp("of the jpeg"))
    fields = sidecar_for(photo, tmp_path)
    assert fields is not None and fields.title == "of the jpeg"


@pytest.mark.parametrize(
    ("photo_name", "document_name"),
    [
        ("IMG_1.jpg", "IMG_1.jpg.json"),
        ("IMG_1(1).jpg", "IMG_1.jpg(1).json"),
        ("IMG_1.jpg", "IMG_1.jpg.supplemental-metadata.json"),
        ("IMG_1-edited.jpg", "IMG_1.jpg.json"),
    ],
)
def test_takeout_documents_beside_the_photo(
    tmp_path: Path, photo_name: str, document_name: str
) -> None:
    folder = tmp_path / "Takeout" / "Google Photos" / "Photos from 2023"
    photo = _photo(folder / photo_name)
    (folder / document_name).write_bytes(documents.takeout(favorited=True))
    fields = sidecar_for(photo, tmp_path)
    assert fields is not None
    assert fields.favorite is True
    assert fields.taken_at == datetime.fromtimestamp(1695394176, UTC)


def test_another_photo_s_takeout_document_is_not_taken(tmp_path: Path) -> None:
    photo = _photo(tmp_path / "DSC_0104(1).JPG")
    (tmp_path / "DSC_0104.JPG.json").write_bytes(documents.takeout(favorited=True))
    assert sidecar_for(photo, tmp_path) is None


@pytest.mark.parametrize("root_is_originals", [False, True])
def test_photoprism_yaml_under_storage(tmp_path: Path, *, root_is_originals: bool) -> None:
    photo = _photo(tmp_path / "originals" / "2020" / "08" / "IMG_1234.jpg")
    yaml_path = tmp_path / "storage" / "sidecar" / "2020" / "08" / "IMG_1234.yml"
    yaml_path.parent.mkdir(parents=True)
    yaml_path.write_bytes(documents.PHOTOPRISM)
    root = tmp_path / "originals" if root_is_originals else tmp_path
    fields = sidecar_for(photo, root)
    assert fields is not None
    assert fields.title == "Sunset over the lake"


def test_kinds_merge_field_by_field_the_later_word_winning(tmp_path: Path) -> None:
    photo = _photo(tmp_path / "originals" / "IMG_1234.jpg")
    (photo.parent / "IMG_1234.jpg.json").write_bytes(
        documents.takeout(description="from Google", favorited=True)
    )
    (photo.parent / "IMG_1234.jpg.xmp").write_bytes(documents.DARKTABLE)
    sidecar_folder = tmp_path / "storage" / "sidecar"
    sidecar_folder.mkdir(parents=True)
    (sidecar_folder / "IMG_1234.yml").write_bytes(
        b"Title: from PhotoPrism\nTitleSrc: manual\n"
        b"Details:\n  Keywords: lake\n  KeywordsSrc: manual\n"
    )
    fields = sidecar_for(photo, tmp_path)
    assert fields is not None
    assert fields.title == "from PhotoPrism"  # YAML
    assert fields.taken_at == datetime(2021, 7, 14, 18, 2, 33, tzinfo=UTC)  # XMP over Takeout
    assert fields.latitude == pytest.approx(48 + 51.4512 / 60)  # XMP over Takeout
    assert fields.description == "from Google"  # only Takeout says it
    assert fields.favorite is True
    assert fields.tags == ("Places/France/Paris", "lake")


@pytest.mark.parametrize(
    "content",
    [
        b"<x>&undeclared;</x>",
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/hostname">]><x>&e;</x>',
        documents.xmp(f"><dc:title>{'t' * 1001}</dc:title></rdf:Description>"),
        b" " * (MAX_SIDECAR_BYTES + 1),
    ],
    ids=["broken", "external-entity", "title-too-long", "too-large"],
)
def test_a_bad_sidecar_is_left_out_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes
) -> None:
    photo = _photo(tmp_path / "IMG_1.jpg")
    (tmp_path / "IMG_1.jpg.xmp").write_bytes(content)
    (tmp_path / "IMG_1.jpg.json").write_bytes(documents.takeout(favorited=True))
    with caplog.at_level(logging.WARNING, logger=_LOGGER):
        fields = sidecar_for(photo, tmp_path)
    assert fields is not None and fields.favorite is True  # the Takeout document counts
    warnings = [r for r in caplog.records if r.name == _LOGGER]
    assert len(warnings) == 1
    assert "IMG_1.jpg.xmp" in warnings[0].getMessage()


def test_a_link_to_a_file_outside_the_library_is_not_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outside = tmp_path / "elsewhere.xmp"
    outside.write_bytes(_title_xmp("a file from outside"))
    library = tmp_path / "library"
    photo = _photo(library / "IMG_1.jpg")
    (library / "IMG_1.jpg.xmp").symlink_to(outside)
    with caplog.at_level(logging.WARNING, logger=_LOGGER):
        assert sidecar_for(photo, library) is None
    assert "outside the library" in caplog.text


def test_a_link_inside_the_library_is_read(tmp_path: Path) -> None:
    photo = _photo(tmp_path / "IMG_1.jpg")
    (tmp_path / "shared.xmp").write_bytes(_title_xmp("linked"))
    (tmp_path / "IMG_1.jpg.xmp").symlink_to(tmp_path / "shared.xmp")
    fields = sidecar_for(photo, tmp_path)
    assert fields is not None and fields.title == "linked"


def test_a_folder_named_as_a_sidecar_is_passed_over(tmp_path: Path) -> None:
    photo = _photo(tmp_path / "IMG_1.jpg")
    (tmp_path / "IMG_1.jpg.xmp").mkdir()
    (tmp_path / "IMG_1.xmp").write_bytes(_title_xmp("the file"))
    fields = sidecar_for(photo, tmp_path)
    assert fields is not None and fields.title == "the file"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IMG_1.jpg.xmp", True),
        ("IMG_1.XMP", True),
        ("IMG_1.jpg.json", True),
        ("metadata.json", True),
        ("IMG_1.yml", True),
        ("IMG_1.jpg", False),
        ("IMG_1.heic", False),
        ("xmp", False),
    ],
)
def test_is_sidecar(name: str, *, expected: bool) -> None:
    assert is_sidecar(Path(name)) is expected

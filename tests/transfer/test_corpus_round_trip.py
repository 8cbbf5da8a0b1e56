"""The shared camera corpus with sidecars: imported, exported, imported into another
account, and every byte and field is the same."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from photostore.domain.sidecars import SidecarFields
from photostore.services.context import ServiceContext
from photostore.transfer.export import ExportDone, export_to_folder
from photostore.transfer.folder import import_folder
from photostore.transfer.restore import import_export
from photostore.transfer.summary import ImportSummary
from tests.conftest import Account, create_account
from tests.media import corpus
from tests.transfer.library import call, library_rows, originals

pytestmark = pytest.mark.slow  # the whole camera corpus, three times

# Fields the sidecars the test writes say, by the photo they stand beside. The lookup
# below stands in for the sidecar parsers' (the XMP and Takeout documents are there
# for them); the import takes any lookup of that shape.
SAID = {
    0: SidecarFields(title="Harbour", description="XMP words", favorite=True, tags=("Sea",)),
    1: SidecarFields(
        title="Takeout title",
        taken_at=datetime(2015, 6, 7, 8, 9, 10, tzinfo=UTC),
        latitude=51.5,
        longitude=-0.125,
        altitude=12.0,
    ),
}


def _sidecars(root: Path) -> dict[Path, SidecarFields]:
    photos = [root / relative for relative in corpus.corpus_images()]
    (photos[0].parent / (photos[0].name + ".xmp")).write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:title>Harbour</dc:title></x:xmpmeta>'
    )
    (photos[1].parent / (photos[1].name + ".json")).write_text(
        '{"title": "Takeout title", "photoTakenTime": {"timestamp": "1433664550"}}'
    )
    return {photos[0].resolve(): SAID[0], photos[1].resolve(): SAID[1]}


def test_the_corpus_survives_import_export_and_import(
    client: TestClient, alice: Account, exif_corpus: Path, tmp_path: Path
) -> None:
    root = Path(shutil.copytree(exif_corpus, tmp_path / "corpus"))
    said = _sidecars(root)

    async def run(ctx: ServiceContext) -> tuple[ImportSummary, ExportDone, ImportSummary]:
        first = await import_folder(
            ctx,
            alice.id,
            root,
            sidecar_for=lambda photo, top: said.get(photo),
            is_sidecar=lambda path: path.suffix in {".xmp", ".json"},
        )
        exported = await export_to_folder(ctx, alice.id, tmp_path / "export")
        second = await import_export(ctx, carol.id, tmp_path / "export")
        return first, exported, second

    carol = create_account(client, "carol@example.org")
    first, exported, second = call(client, run)
    # The corpus's text files are all it passes over.
    assert set(first.skipped) <= {"not an image photostore accepts"}
    assert first.stored == len(corpus.corpus_images()) == exported.images == second.stored

    stored = originals(client, alice.id)
    for relative in corpus.corpus_images():
        data = (exif_corpus / relative).read_bytes()
        assert stored[hashlib.sha256(data).hexdigest()] == data, relative
    assert originals(client, carol.id) == stored
    rows = library_rows(client, alice.id)
    assert library_rows(client, carol.id) == rows
    by_title = {row["title"]: row for row in rows["images"] if row["title"]}
    assert by_title["Harbour"]["favorite"] and by_title["Harbour"]["tags"] == ["Sea"]
    assert by_title["Takeout title"]["taken_at"] == SAID[1].taken_at
    assert by_title["Takeout title"]["latitude"] == 51.5

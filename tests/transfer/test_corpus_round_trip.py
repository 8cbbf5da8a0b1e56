"""The shared camera corpus with XMP and Takeout sidecars, through real ``photostore``
processes: imported, exported, imported into another account, and every byte and every
field is the same."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from photostore.config import Settings
from tests.conftest import Account, ScratchDatabase, create_account
from tests.media import corpus
from tests.media.sidecars.documents import takeout, xmp
from tests.processes import run_cli
from tests.transfer.library import cli_env, library_rows, originals

pytestmark = pytest.mark.slow  # the whole camera corpus, three times

XMP = xmp(
    """><dc:title><rdf:Alt><rdf:li xml:lang="x-default">Harbour</rdf:li></rdf:Alt></dc:title>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">XMP words</rdf:li></rdf:Alt>
   </dc:description>
   <dc:subject><rdf:Bag><rdf:li>Sea</rdf:li></rdf:Bag></dc:subject>
   <xmp:Rating>5</xmp:Rating></rdf:Description>"""
)
TAKEN = datetime(2015, 6, 7, 8, 9, 10, tzinfo=UTC)
TAKEOUT = takeout(
    description="Takeout words",
    favorited=True,
    photoTakenTime={"timestamp": str(int(TAKEN.timestamp()))},
    geoData={"latitude": 51.5, "longitude": -0.125, "altitude": 12.0},
)


def test_the_corpus_survives_import_export_and_import(
    client: TestClient,
    settings: Settings,
    database: ScratchDatabase,
    alice: Account,
    exif_corpus: Path,
    tmp_path: Path,
) -> None:
    root = Path(shutil.copytree(exif_corpus, tmp_path / "corpus"))
    images = corpus.corpus_images()
    (root / (images[0] + ".xmp")).write_bytes(XMP)
    (root / (images[1] + ".json")).write_bytes(TAKEOUT)
    env = cli_env(settings, database.owner_url)

    first = run_cli("import", str(root), "--user", alice.email, env=env)
    assert first.returncode == 0, first.stderr
    # The corpus's READMEs and expected values are all it passes over.
    others = [
        p
        for p in exif_corpus.rglob("*")
        if p.is_file() and p.suffix.lower() not in corpus.IMAGE_SUFFIXES
    ]
    assert f"{len(images)} stored, 0 already stored, {len(others)} skipped" in first.stdout
    assert f"skipped {len(others)}: not an image photostore accepts" in first.stdout

    exported = run_cli("export", "--user", alice.email, "--to", str(tmp_path / "out"), env=env)
    assert exported.returncode == 0, exported.stderr
    carol = create_account(client, "carol@example.org")
    second = run_cli("import", str(tmp_path / "out"), "--user", carol.email, env=env)
    assert second.returncode == 0, second.stderr
    assert f"{len(images)} stored, 0 already stored, 0 skipped" in second.stdout

    stored = originals(client, alice.id)
    for relative in images:
        data = (exif_corpus / relative).read_bytes()
        assert stored[hashlib.sha256(data).hexdigest()] == data, relative
    assert originals(client, carol.id) == stored
    rows = library_rows(client, alice.id)
    assert library_rows(client, carol.id) == rows
    by_name = {row["original_filename"]: row for row in rows["images"]}
    harbour = by_name[Path(images[0]).name]
    assert (harbour["title"], harbour["description"]) == ("Harbour", "XMP words")
    assert harbour["favorite"] and harbour["tags"] == ["Sea"]
    placed = by_name[Path(images[1]).name]
    assert (placed["description"], placed["favorite"]) == ("Takeout words", True)
    assert (placed["taken_at"], placed["taken_at_source"]) == (TAKEN, "sidecar")
    assert (placed["latitude"], placed["longitude"], placed["altitude"]) == (51.5, -0.125, 12.0)
    assert json.loads((tmp_path / "out" / "library.json").read_text())["owner"] == {
        "id": str(alice.id)
    }

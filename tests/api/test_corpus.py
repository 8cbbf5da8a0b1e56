"""The real camera files of the shared corpus, uploaded through the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from photostore.media.exif import read_metadata
from tests.conftest import Account, upload
from tests.media import corpus

pytestmark = pytest.mark.slow  # walks the whole camera corpus


def test_every_corpus_file_is_stored_with_its_metadata(
    client: TestClient, alice: Account, exif_corpus: Path
) -> None:
    images = corpus.corpus_images()
    assert len(images) >= 70
    expected = corpus.expected_exif()
    for relative in images:
        path = exif_corpus / relative
        data = path.read_bytes()
        response = upload(client, alice, data, filename=Path(relative).name)
        assert response.status_code == 201, (relative, response.text)
        record = response.json()
        assert record["width"] > 0 and record["height"] > 0
        assert record["content_type"] in {"image/jpeg", "image/tiff"}
        # What the API stored and returns is what the extractor read, through jsonb intact.
        assert record["exif"] == read_metadata(path).exif, relative
        stored = client.get(f"/v1/images/{record['id']}/content", headers=alice.headers)
        assert stored.content == data
        if relative not in expected:
            continue  # no expected values printed for this file; its exif is checked above
        tags = expected[relative]
        assert record["camera_make"] == (tags.get("Image Make") or None), relative
        assert record["camera_model"] == (tags.get("Image Model") or None), relative
        if "EXIF DateTimeOriginal" in tags and tags["EXIF DateTimeOriginal"][:4] not in {
            "0000",
            "",
        }:
            assert record["taken_at_source"] == "exif_original", relative
    listed = client.get("/v1/images?limit=500", headers=alice.headers).json()["items"]
    assert len(listed) == len(images)

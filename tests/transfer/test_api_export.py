"""``GET /v1/export``: the caller's library as a tar, and nothing of anybody else's."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from fastapi.testclient import TestClient

from photostore.services.context import ServiceContext
from photostore.transfer.restore import import_export
from photostore.transfer.summary import ImportSummary
from tests import imagegen
from tests.conftest import Account, create_account, upload
from tests.library import factories
from tests.transfer.library import build_library, call, library_rows, originals


def test_the_archive_holds_the_callers_library_and_imports_back(
    client: TestClient, alice: Account, bob: Account, tmp_path: Path
) -> None:
    build_library(client, alice)
    bobs = imagegen.make_jpeg(None, 24, 24, seed=999)
    assert upload(client, bob, bobs, "bob-private.jpg", tags="bob-secret").status_code == 201
    factories.make_album(client, bob, "bob-album")

    answer = client.get("/v1/export", headers=alice.headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/x-tar"
    archive = answer.content
    for secret in (b"bob-secret", b"bob-album", b"bob-private", str(bob.id).encode()):
        assert secret not in archive
    assert hashlib.sha256(bobs).hexdigest().encode() not in archive

    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        names = tar.getnames()
        assert names[0] == "library.json"
        tar.extractall(tmp_path / "export", filter="data")
    document = json.loads((tmp_path / "export" / "library.json").read_text())
    assert document["owner"] == {"id": str(alice.id)}
    assert sorted(names[1:]) == sorted(image["path"] for image in document["images"])

    carol = create_account(client, "carol@example.org")

    async def restore(ctx: ServiceContext) -> ImportSummary:
        return await import_export(ctx, carol.id, tmp_path / "export")

    done = call(client, restore)
    assert (done.stored, done.already_stored, sum(done.skipped.values())) == (3, 0, 0)
    assert library_rows(client, carol.id) == library_rows(client, alice.id)
    assert originals(client, carol.id) == originals(client, alice.id)


def test_an_empty_library_is_an_archive_of_its_document(client: TestClient, alice: Account) -> None:
    answer = client.get("/v1/export", headers=alice.headers)
    with tarfile.open(fileobj=io.BytesIO(answer.content)) as tar:
        assert tar.getnames() == ["library.json"]
        member = tar.extractfile("library.json")
        assert member is not None
        assert json.loads(member.read())["images"] == []

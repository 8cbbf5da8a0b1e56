"""An export that is not what photostore writes is refused, naming what is wrong, before
anything of it is stored; an original that is not the bytes listed is passed over."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from photostore.app import create_app
from photostore.db.embedded import EmbeddedCluster
from photostore.errors import InvalidInput
from photostore.services.context import ServiceContext
from photostore.transfer import summary as reasons
from photostore.transfer.checks import check_export
from photostore.transfer.document import DocumentWriter
from photostore.transfer.export import export_to_folder
from photostore.transfer.restore import import_export
from photostore.transfer.summary import ImportSummary
from tests.conftest import Account, create_account, scratch_database, service_settings
from tests.transfer.library import build_library

Document = dict[str, Any]


@pytest.fixture(scope="module")
def exported(pg_cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export of a small library, made once for the module."""
    folder = tmp_path_factory.mktemp("exported")
    with (
        scratch_database(pg_cluster, f"hostile_{os.getpid()}") as database,
        TestClient(create_app(service_settings(folder / "data", database.app_url))) as client,
    ):
        alice = create_account(client, "alice@example.org")
        build_library(client, alice)
        _run(client, functools.partial(_export, owner=alice, target=folder / "export"))
    return folder / "export"


@pytest.fixture
def export(exported: Path, tmp_path: Path) -> Path:
    """A copy of the module's export, for a test to spoil."""
    return Path(shutil.copytree(exported, tmp_path / "export", symlinks=True))


async def _export(ctx: ServiceContext, owner: Account, target: Path) -> None:
    await export_to_folder(ctx, owner.id, target)


def _run(client: TestClient, work: Callable[[ServiceContext], Any]) -> Any:
    assert client.portal is not None
    return client.portal.call(work, client.app.state.ctx)  # type: ignore[attr-defined]


def _import(client: TestClient, account: Account, root: Path) -> ImportSummary:
    async def run(ctx: ServiceContext) -> ImportSummary:
        return await import_export(ctx, account.id, root)

    summary: ImportSummary = _run(client, run)
    return summary


def _rewrite(root: Path, change: Callable[[Document], None]) -> None:
    """Change the document as JSON and write it back in its framing."""
    document = json.loads((root / "library.json").read_text())
    change(document)
    parts = [key for key, value in document.items() if isinstance(value, list)]
    header = {k: v for k, v in document.items() if k not in parts}
    with (root / "library.json").open("w") as out:
        writer = DocumentWriter(out, header)
        for part in parts:
            writer.begin(part)
            for row in document[part]:
                writer.row(row)
            writer.end()
        writer.close()


def _set(part: str, field: str, value: object) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        document[part][0][field] = value

    return change


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (_set("images", "path", "../outside.jpg"), "images[0]: path: '../outside.jpg' is not"),
        (_set("images", "path", "/etc/passwd"), "is not a plain path inside the export"),
        (_set("images", "favorite", "yes"), "images[0].favorite: not a bool"),
        (_set("images", "id", "not-a-uuid"), "images[0].id: not a UUID"),
        (_set("images", "taken_at", "2020-01-01T00:00:00"), "images[0].taken_at: not a datetime"),
        (_set("images", "tags", "Beach"), "images[0]: tags: not a list of names"),
        (_set("albums", "name", ""), "albums[0]: "),
        (_set("faces", "person_id", "01a23cf2-6e4c-7842-b7ce-aa619e3711c3"), "not one of the"),
        (_set("analysis_results", "payload", {"objects": "dog"}), "payload.objects"),
        (lambda d: d.update(format="somebody-else"), "not a photostore-library document"),
        (lambda d: d.update(version=2), "version 2; this photostore reads version 1"),
        (lambda d: d["images"].__setitem__(0, []), "images[0]: not an object"),
    ],
)
def test_a_hostile_document_is_refused(
    export: Path, change: Callable[[Document], None], refusal: str
) -> None:
    """The check an import makes before it stores anything (the tests below show that
    it does) refuses each, naming the row and field."""
    check_export(export)
    _rewrite(export, change)
    with pytest.raises(InvalidInput, match=re.escape(refusal)):
        check_export(export)


def test_a_link_out_of_the_export_and_a_cut_document_are_refused_before_anything_is_stored(
    client: TestClient, export: Path, tmp_path: Path
) -> None:
    carol = create_account(client, "carol@example.org")
    document = json.loads((export / "library.json").read_text())
    first = export / document["images"][0]["path"]
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(first.read_bytes())
    first.unlink()
    first.symlink_to(secret)
    with pytest.raises(InvalidInput, match="leads outside the export"):
        _import(client, carol, export)

    first.unlink()
    secret.replace(first)
    whole = (export / "library.json").read_bytes()
    (export / "library.json").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InvalidInput, match="cut short"):
        _import(client, carol, export)
    assert client.get("/v1/images", headers=carol.headers).json()["items"] == []


def test_an_original_that_is_not_the_bytes_listed_is_passed_over_with_its_rows(
    client: TestClient, export: Path
) -> None:
    document = json.loads((export / "library.json").read_text())
    listed = export / document["images"][0]["path"]
    listed.write_bytes(listed.read_bytes() + b"\0")
    carol = create_account(client, "carol@example.org")
    done = _import(client, carol, export)
    assert (done.stored, done.skipped) == (2, {reasons.NOT_AS_LISTED: 1})
    images = client.get("/v1/images", params={"trashed": "true"}, headers=carol.headers)
    assert document["images"][0]["id"] not in {i["id"] for i in images.json()["items"]}

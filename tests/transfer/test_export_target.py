"""Where an export may be written: a new or empty folder, or an earlier export of the
same account, which it refreshes."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from photostore.errors import Conflict
from photostore.services.context import ServiceContext
from photostore.transfer.export import ExportDone, export_to_folder
from tests.conftest import Account
from tests.library import factories
from tests.transfer.library import call, files_below


async def _export(ctx: ServiceContext, account: Account, target: Path) -> ExportDone:
    return await export_to_folder(ctx, account.id, target)


def test_a_second_export_refreshes_the_first_and_other_folders_are_refused(
    client: TestClient, alice: Account, bob: Account, tmp_path: Path
) -> None:
    target = tmp_path / "export"
    factories.make_image(client, alice)
    first = call(client, functools.partial(_export, account=alice, target=target))
    assert (first.images, first.written, first.kept) == (1, 1, 0)
    before = files_below(target)
    assert not [name for name in before if name.endswith(".partial")]

    factories.make_image(client, alice)
    second = call(client, functools.partial(_export, account=alice, target=target))
    assert (second.images, second.written, second.kept) == (2, 1, 1)
    after = files_below(target)
    assert {k: v for k, v in after.items() if k in before and k != "library.json"} == {
        k: v for k, v in before.items() if k != "library.json"
    }

    with pytest.raises(Conflict, match="holds the export of another account"):
        call(client, functools.partial(_export, account=bob, target=target))
    elsewhere = tmp_path / "photos"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine")
    with pytest.raises(Conflict, match="is not empty and holds no photostore export"):
        call(client, functools.partial(_export, account=alice, target=elsewhere))
    assert files_below(elsewhere) == {"keep.txt": b"mine"}

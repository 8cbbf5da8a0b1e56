"""Export, then import into another account: every byte and every field comes back."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from photostore.config import Settings
from tests.conftest import Account, ScratchDatabase, create_account
from tests.processes import run_cli
from tests.transfer.library import build_library, cli_env, library_rows, originals


def test_an_export_imported_into_a_new_account_is_the_same_library(
    client: TestClient,
    settings: Settings,
    database: ScratchDatabase,
    alice: Account,
    tmp_path: Path,
) -> None:
    build_library(client, alice)
    env = cli_env(settings, database.owner_url)
    target = tmp_path / "export"
    exported = run_cli("export", "--user", alice.email, "--to", str(target), env=env)
    assert exported.returncode == 0, exported.stderr
    assert "exported 3 images" in exported.stdout
    document = json.loads((target / "library.json").read_text())
    assert document["format"] == "photostore-library" and document["version"] == 1
    assert len(document["images"]) == 3
    for image in document["images"]:
        assert (target / image["path"]).read_bytes() == originals(client, alice.id)[image["sha256"]]

    carol = create_account(client, "carol@example.org")
    imported = run_cli("import", str(target), "--user", carol.email, env=env)
    assert imported.returncode == 0, imported.stderr
    assert "3 stored, 0 already stored, 0 skipped" in imported.stdout

    assert library_rows(client, carol.id) == library_rows(client, alice.id)
    assert originals(client, carol.id) == originals(client, alice.id)
    # What a write derives from the rows came back too: labels, texts, search words.
    for words, filters in (("hello", {}), ("ada", {}), ("sand", {}), (None, {"labels": ["dog"]})):
        body = {"filters": filters, **({"text": words} if words else {})}
        found = [
            client.post("/v1/search", json=body, headers=account.headers).json()["items"]
            for account in (alice, carol)
        ]
        assert len(found[0]) == 1 and found[0] == found[1], words

    again = run_cli("import", str(target), "--user", carol.email, env=env)
    assert again.returncode == 0, again.stderr
    assert "0 stored, 3 already stored, 0 skipped" in again.stdout
    assert library_rows(client, carol.id) == library_rows(client, alice.id)


def test_the_commands_fail_with_the_reason_and_exit_1(
    client: TestClient,
    settings: Settings,
    database: ScratchDatabase,
    alice: Account,
    tmp_path: Path,
) -> None:
    env = cli_env(settings, database.owner_url)
    unknown = run_cli("import", str(tmp_path), "--user", "nobody@example.org", env=env)
    assert (unknown.returncode, unknown.stderr.strip()) == (
        1,
        "error: no account has the email 'nobody@example.org'",
    )
    taken = tmp_path / "a-file"
    taken.write_text("not a folder")
    refused = run_cli("export", "--user", alice.email, "--to", str(taken), env=env)
    assert (refused.returncode, refused.stderr.strip()) == (1, f"error: {taken} is not a folder")
    assert taken.read_text() == "not a folder"

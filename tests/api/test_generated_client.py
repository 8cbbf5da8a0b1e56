"""The OpenAPI document generates a client that works: ``openapi-python-client`` makes
one from a running server's document, and calls through it, a 404 and a 422 among them,
come back as the models the document promises.

The generator pins typer and httpx below the versions photostore uses, so it and the
client it makes run in a virtualenv of their own (``.venv-openapi``, made by
``scripts/install --dev``).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx2 as httpx
import pytest

from tests import imagegen
from tests.conftest import postgres_folder
from tests.processes import run_cli, serving

TOOLS = Path(__file__).resolve().parents[2] / ".venv-openapi" / "bin"
EMAIL = "client@example.org"
PASSWORD = "a long enough passphrase"

# Run by the tools' Python: calls through the generated package, results as JSON.
CALLS = """
import io, json, sys, uuid
from photostore_client import AuthenticatedClient
from photostore_client.api.images import get_image, list_images, upload_image
from photostore_client.api.search import search
from photostore_client.models import Problem, SearchIn, UploadImageBody
from photostore_client.types import File

base, token, photo = sys.argv[1], sys.argv[2], sys.argv[3]
client = AuthenticatedClient(base_url=base, token=token)
body = UploadImageBody(
    file=File(payload=open(photo, "rb"), file_name="harbour.jpg", mime_type="image/jpeg"),
    description="lighthouse at dusk",
)
stored = upload_image.sync(client=client, body=body)
read = get_image.sync(client=client, image_id=stored.id)
missing = get_image.sync(client=client, image_id=uuid.uuid4())
wrong = list_images.sync(client=client, limit=0)
found = search.sync(client=client, body=SearchIn(text="lighthouse"))
print(json.dumps({
    "stored": [type(stored).__name__, str(stored.id), stored.sha256, stored.width],
    "read": [type(read).__name__, str(read.id), read.description],
    "missing": [type(missing).__name__, missing.status, missing.type_],
    "wrong": [type(wrong).__name__, wrong.status, [e.loc for e in wrong.errors]],
    "found": [type(found).__name__, [str(hit.image.id) for hit in found.items]],
}))
"""


@pytest.mark.slow
def test_a_generated_client_calls_the_server_and_parses_every_answer(tmp_path: Path) -> None:
    generator = TOOLS / "openapi-python-client"
    if not generator.exists():
        pytest.fail("no .venv-openapi: run scripts/install --dev")
    photo = tmp_path / "harbour.jpg"
    photo.write_bytes(imagegen.make_jpeg(None, 40, 30))
    with postgres_folder() as folder:
        data_dir = folder / "data"
        made = run_cli(
            "user", "create", "--data-dir", str(data_dir), "--email", EMAIL, "--password", PASSWORD
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        with serving(data_dir) as base:
            document = tmp_path / "openapi.json"
            document.write_text(httpx.get(f"{base}/openapi.json").text)
            generated = subprocess.run(
                [str(generator), "generate", "--path", str(document), "--meta", "none",
                 "--output-path", str(tmp_path / "photostore_client")],
                capture_output=True, text=True, timeout=120, check=False,
                env={"PATH": f"{TOOLS}:/usr/bin:/bin"},
            )  # fmt: skip
            assert generated.returncode == 0, generated.stdout + generated.stderr
            assert "Warning" not in generated.stdout, generated.stdout
            token = httpx.post(
                f"{base}/v1/auth/token", data={"username": EMAIL, "password": PASSWORD}
            ).json()["access_token"]
            ran = subprocess.run(
                [str(TOOLS / "python"), "-c", CALLS, base, token, str(photo)],
                capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
            )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    got = json.loads(ran.stdout)
    kind, image_id, sha256, width = got["stored"]
    assert kind == "ImageOut" and width == 40 and len(sha256) == 64
    assert got["read"] == ["ImageOut", image_id, "lighthouse at dusk"]
    assert got["missing"] == ["Problem", 404, "https://photostore.dev/problems/not-found"]
    assert got["wrong"][:2] == ["Problem", 422]
    assert ["query", "limit"] in got["wrong"][2]
    assert got["found"] == ["SearchOut", [image_id]]

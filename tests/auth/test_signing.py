"""The token signing key: never the published secret, generated once per data folder."""

from __future__ import annotations

import hashlib
import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from photostore.auth.signing import (
    UnreadableSecretFile,
    derived_key_id,
    load_or_create_secret_file,
    signing_key_for,
)
from photostore.config import _DEV_SECRET, Settings
from tests.conftest import create_account

PUBLISHED_KID = hashlib.sha256(_DEV_SECRET.encode()).hexdigest()[:16]


@pytest.mark.parametrize("environment", ["development", "test", "production"])
def test_the_published_development_secret_is_refused_in_every_environment(
    environment: str,
) -> None:
    with pytest.raises(ValueError, match="development secret published"):
        Settings(environment=environment, secret_key=SecretStr(_DEV_SECRET))


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 characters"):
        Settings(secret_key=SecretStr("short"))


def test_a_server_started_with_no_settings_signs_with_a_secret_nobody_knows(
    client: TestClient, settings: Settings
) -> None:
    token = client.post(
        "/v1/auth/token",
        data={
            "username": create_account(client, "a@example.org").email,
            "password": "correct horse",
        },
    ).json()["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    assert kid != PUBLISHED_KID
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, _DEV_SECRET, algorithms=["HS256"], options={"verify_aud": False})
    made = signing_key_for(settings)
    assert kid == made.key_id
    jwt.decode(token, made.secret, algorithms=["HS256"], audience=settings.token_audience)


def test_the_generated_secret_is_kept_private_and_reused(settings: Settings) -> None:
    first = signing_key_for(settings)
    mode = stat.S_IMODE(settings.token_secret_file.stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(settings.token_secret_file.parent.stat().st_mode) == 0o700
    assert signing_key_for(settings) == first
    assert len(first.secret) >= 64


def test_a_generated_key_id_is_random_not_derived_from_the_secret(tmp_path: Path) -> None:
    key = load_or_create_secret_file(tmp_path / "token-secret.json")
    assert key.key_id not in (
        hashlib.sha256(key.secret.encode()).hexdigest()[:16],
        derived_key_id(key.secret),
    )
    other = load_or_create_secret_file(tmp_path / "other.json")
    assert other.key_id != key.key_id
    assert other.secret != key.secret


def test_a_configured_secret_is_named_by_an_hmac_not_its_hash() -> None:
    secret = "s" * 48
    key = signing_key_for(Settings(secret_key=SecretStr(secret)))
    assert key.secret == secret
    assert key.key_id == derived_key_id(secret)
    assert key.key_id != hashlib.sha256(secret.encode()).hexdigest()[:16]


def _secret_of(path: str) -> tuple[str, str]:
    key = load_or_create_secret_file(Path(path))
    return key.secret, key.key_id


def test_processes_starting_at_once_on_one_folder_agree_on_one_secret(tmp_path: Path) -> None:
    path = str(tmp_path / "data" / "token-secret.json")
    with ProcessPoolExecutor(max_workers=8) as pool:
        made = set(pool.map(_secret_of, [path] * 32))
    assert len(made) == 1
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["token-secret.json"]


def test_a_damaged_secret_file_stops_the_start_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "token-secret.json"
    path.write_text("{not json")
    with pytest.raises(UnreadableSecretFile, match="restore it from a backup, or delete it"):
        load_or_create_secret_file(path)

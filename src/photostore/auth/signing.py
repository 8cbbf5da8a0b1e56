"""The key that signs tokens: the configured secret, or one made once per data folder.

With ``PHOTOSTORE_SECRET_KEY`` set, that secret signs tokens (``Settings`` refuses it
shorter than 32 characters or equal to the development secret photostore once
published). Unset, the first process to start on a data folder makes a random secret
and a random key id, and keeps them in ``<data dir>/token-secret.json`` (mode 0600);
every later start, and every other process on the folder, reads the same file. It is
created whole and linked into place, so processes starting at once agree on one.

The key id (``kid`` in each token's header) names the key without revealing it:

* a generated key's id is random, stored beside the secret: nothing about the secret
  can be learnt from it;
* a configured secret's id is an HMAC of a fixed label keyed by the secret, so that
  every process given the same secret (several API processes) names it alike. Testing
  a guess of the secret against it costs what testing the guess against the token's
  signature costs, and the signature sits beside it in every token: the id gives a
  token holder nothing more. Unlike the plain SHA-256 used before, it is not the
  fingerprint of the secret that other software would print.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from photostore.config import Settings
from photostore.private_files import create_private_file_once

log = logging.getLogger(__name__)

_KEY_ID_LABEL = b"photostore-token-key-id-v1"
_SECRET_BYTES = 48  # 384 bits, as token_urlsafe(48) in the docs' example
_KEY_ID_BYTES = 8


class UnreadableSecretFile(RuntimeError):
    """The token secret file exists but cannot be used (damaged or edited by hand); the
    service refuses to start rather than make a new secret over it."""


@dataclass(frozen=True)
class SigningKey:
    """A secret that signs tokens and the public id tokens name it by."""

    secret: str = field(repr=False)
    key_id: str


def derived_key_id(secret: str) -> str:
    """The key id of a configured secret (see the module's notes for why an HMAC)."""
    return hmac.new(secret.encode(), _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def signing_key_for(settings: Settings) -> SigningKey:
    """The configured secret, else the data folder's generated one (made if missing)."""
    if settings.secret_key is not None:
        secret = settings.secret_key.get_secret_value()
        return SigningKey(secret=secret, key_id=derived_key_id(secret))
    return load_or_create_secret_file(settings.token_secret_file)


def load_or_create_secret_file(path: Path) -> SigningKey:
    """The key kept in ``path``, made (random secret, random id, mode 0600) if missing."""
    if not path.exists():
        made = SigningKey(
            secret=secrets.token_urlsafe(_SECRET_BYTES),
            key_id=secrets.token_hex(_KEY_ID_BYTES),
        )
        body = json.dumps({"key_id": made.key_id, "secret": made.secret}).encode()
        if create_private_file_once(path, body):
            log.info("made a random token secret in %s (PHOTOSTORE_SECRET_KEY is unset)", path)
            return made
    return _read_secret_file(path)


def _read_secret_file(path: Path) -> SigningKey:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        key = SigningKey(secret=str(body["secret"]), key_id=str(body["key_id"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableSecretFile(
            f"the token secret file {path} cannot be read ({type(exc).__name__}); restore it "
            "from a backup, or delete it to make a new secret (every user is logged out)"
        ) from exc
    if len(key.secret) < 32 or not key.key_id:
        raise UnreadableSecretFile(
            f"the token secret file {path} holds no usable secret; restore it from a backup, "
            "or delete it to make a new secret (every user is logged out)"
        )
    return key

"""The key export file: master keys and the deletion log, sealed under a passphrase.

A backup never holds the master keys that open it (docs/decisions.md, "Keys and
backups"): they travel apart, in this file, which ``photostore keys export`` writes and
``photostore keys import`` and ``photostore restore --keys`` read. The file is JSON:

- a clear header: the format, the key derivation (scrypt and its parameters and salt)
  and the ids of the keys it holds, so that an operator (and a restore) can tell which
  backups a file opens without the passphrase;
- the sealed body: AES-256-GCM under the key scrypt derives from the passphrase, with
  the header as associated data, so an edited header (another key id, weaker kdf
  parameters) makes the file refuse to open rather than mislead.

The kdf parameters read from a file are bounded before use: a hostile file must not make
an import spend gigabytes of memory or hours.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

FORMAT = "photostore-keys"
VERSION = 1
MIN_PASSPHRASE_LENGTH = 12

# scrypt at 2^17 x 8 takes 128 MiB and about a third of a second: OWASP's floor is 2^17.
_SCRYPT_N = 2**17
_SCRYPT_R = 8
_SCRYPT_P = 1
# What a file may ask for: at most 1 GiB of memory (128 * n * r bytes) and p <= 4.
_MAX_SCRYPT_MEMORY = 1 << 30
_MAX_SCRYPT_P = 4
_SALT_BYTES = 16
_NONCE_BYTES = 12


class KeyFileRefused(ValueError):
    """A key export file that is not one, is damaged, or does not open with the passphrase."""


@dataclass(frozen=True)
class ExportedKeys:
    """What an export file holds: the current master key's id, every master key by id,
    and the deletion log's lines (kept with the keys, out of every backup)."""

    current_id: str
    keys: dict[str, str]
    deletions: list[dict[str, str]]


def check_passphrase(passphrase: str) -> None:
    """Refuse a passphrase too short to stand against a guessing attack on a stolen file."""
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise KeyFileRefused(
            f"the passphrase must be at least {MIN_PASSPHRASE_LENGTH} characters long"
        )


def seal_keys(exported: ExportedKeys, passphrase: str) -> bytes:
    """The export file's bytes for ``exported``, sealed under ``passphrase``."""
    check_passphrase(passphrase)
    salt = secrets.token_bytes(_SALT_BYTES)
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "kdf": {
            "name": "scrypt",
            "n": _SCRYPT_N,
            "r": _SCRYPT_R,
            "p": _SCRYPT_P,
            "salt": _b64(salt),
        },
        "key_ids": sorted(exported.keys),
        "current_key_id": exported.current_id,
    }
    body = json.dumps(
        {"current": exported.current_id, "keys": exported.keys, "deletions": exported.deletions}
    ).encode()
    key = _derive(passphrase, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, body, _aad(header))
    document = {**header, "nonce": _b64(nonce), "sealed": _b64(sealed)}
    return (json.dumps(document, indent=2) + "\n").encode()


def key_ids_of(data: bytes) -> list[str]:
    """The ids of the master keys an export file holds, read from its clear header."""
    return list(_header(_document(data))["key_ids"])


def open_keys(data: bytes, passphrase: str) -> ExportedKeys:
    """The keys sealed in an export file; :class:`KeyFileRefused` if it does not open."""
    document = _document(data)
    header = _header(document)
    kdf = header["kdf"]
    try:
        salt = _unb64(kdf["salt"])
        nonce = _unb64(document["nonce"])
        sealed = _unb64(document["sealed"])
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyFileRefused(f"the key file is damaged ({exc})") from exc
    _check_kdf(n, r, p)
    try:
        body = AESGCM(_derive(passphrase, salt, n, r, p)).decrypt(nonce, sealed, _aad(header))
    except (InvalidTag, ValueError) as exc:
        raise KeyFileRefused(
            "the key file does not open: the passphrase is wrong or the file was changed"
        ) from exc
    content = json.loads(body)
    exported = ExportedKeys(
        current_id=content["current"],
        keys=dict(content["keys"]),
        deletions=list(content["deletions"]),
    )
    if sorted(exported.keys) != header["key_ids"]:
        raise KeyFileRefused("the key file's header and body name different keys")
    return exported


def _document(data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeyFileRefused("this is not a photostore key file (not JSON)") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise KeyFileRefused("this is not a photostore key file")
    if document.get("version") != VERSION:
        raise KeyFileRefused(
            f"this key file has version {document.get('version')!r}; this photostore reads "
            f"version {VERSION}"
        )
    return document


def _header(document: dict[str, Any]) -> dict[str, Any]:
    header = {
        name: document.get(name)
        for name in ("format", "version", "kdf", "key_ids", "current_key_id")
    }
    kdf, key_ids = header["kdf"], header["key_ids"]
    if (
        not isinstance(kdf, dict)
        or kdf.get("name") != "scrypt"
        or not isinstance(key_ids, list)
        or not all(isinstance(k, str) for k in key_ids)
    ):
        raise KeyFileRefused("the key file's header is damaged")
    return header


def _check_kdf(n: int, r: int, p: int) -> None:
    power_of_two = n >= 2 and not n & (n - 1)
    if not power_of_two or r < 1 or not 1 <= p <= _MAX_SCRYPT_P or 128 * n * r > _MAX_SCRYPT_MEMORY:
        raise KeyFileRefused(
            f"the key file asks for scrypt parameters out of bounds (n={n}, r={r}, p={p})"
        )


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())


def _aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError) as exc:
        raise ValueError("not base64") from exc

"""Master keys: where they come from and how they wrap per-user data keys.

A master key is 32 random bytes. It comes from ``PHOTOSTORE_MASTER_KEY`` (base64) or,
when that is unset, from a key file created on first start with mode 0600, by default
in the folder ``<data dir>-keys`` beside the data folder: never inside it, so a copy of
the data folder (or of the blobs and a database dump) does not carry the key that opens
it. A key file an older photostore left at ``<data dir>/keys/master.json`` is moved
there on start. The file is a small keyring: one *current* key (wraps new data keys) and any
*retired* keys (still unwrap data keys that ``photostore keys rotate`` has not re-wrapped
yet), so a rotation interrupted half-way loses nothing.

Data keys are wrapped with AES-256-GCM rather than AES-KW: GCM takes associated data, so
a wrapped key is bound to its owner and key id, and a wrapped key copied onto another
user's row does not unwrap.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from photostore.config import Settings
from photostore.errors import Unreadable
from photostore.private_files import create_private_file_once, write_private_file

log = logging.getLogger(__name__)

KEY_BYTES = 32
_NONCE_BYTES = 12
_WRAP_CONTEXT = b"photostore-data-key-v1"


def master_key_id(key: bytes) -> str:
    """A public name for a master key: it identifies the key without revealing it."""
    return hashlib.sha256(b"photostore-master-key-id:" + key).hexdigest()[:16]


def decode_key(text: str) -> bytes:
    """32 bytes from their base64 (standard or URL-safe) text; anything else is refused."""
    try:
        key = base64.b64decode(text.strip().replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a master key must be 32 bytes in base64") from exc
    if len(key) != KEY_BYTES:
        raise ValueError("a master key must be 32 bytes in base64")
    return key


def encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode()


@dataclass(frozen=True)
class MasterKeyring:
    """The current master key and the retired ones still accepted for unwrapping."""

    current: bytes
    retired: tuple[bytes, ...] = ()

    @property
    def current_id(self) -> str:
        return master_key_id(self.current)

    @property
    def key_ids(self) -> frozenset[str]:
        """The ids of every key held, current and retired."""
        return frozenset(master_key_id(k) for k in (self.current, *self.retired))

    def _by_id(self, key_id: str) -> bytes:
        for key in (self.current, *self.retired):
            if master_key_id(key) == key_id:
                return key
        raise Unreadable(f"the master key {key_id} is not configured; data keys under it are lost")

    def wrap(self, owner_id: uuid.UUID, data_key_id: uuid.UUID, data_key: bytes) -> bytes:
        """``data_key`` sealed under the current master key, bound to owner and key id."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = AESGCM(self.current).encrypt(nonce, data_key, _wrap_aad(owner_id, data_key_id))
        return nonce + sealed

    def unwrap(
        self, owner_id: uuid.UUID, data_key_id: uuid.UUID, wrapped: bytes, master_id: str
    ) -> bytes:
        """The data key sealed in ``wrapped``; :class:`Unreadable` if it does not open."""
        key = self._by_id(master_id)
        try:
            return AESGCM(key).decrypt(
                wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _wrap_aad(owner_id, data_key_id)
            )
        except InvalidTag as exc:
            raise Unreadable("a data key does not unwrap under its master key") from exc


def _wrap_aad(owner_id: uuid.UUID, data_key_id: uuid.UUID) -> bytes:
    return _WRAP_CONTEXT + owner_id.bytes + data_key_id.bytes


# -- the key file ----------------------------------------------------------------------


def read_key_file(path: Path) -> MasterKeyring:
    data = json.loads(path.read_text(encoding="utf-8"))
    keys = {name: decode_key(value) for name, value in data["keys"].items()}
    current = keys.pop(data["current"])
    return MasterKeyring(current=current, retired=tuple(keys.values()))


def _key_file_body(ring: MasterKeyring) -> bytes:
    body = {
        "current": ring.current_id,
        "keys": {master_key_id(k): encode_key(k) for k in (ring.current, *ring.retired)},
    }
    return json.dumps(body).encode()


def write_key_file(path: Path, ring: MasterKeyring) -> None:
    """Replace the key file atomically, readable by its owner only (0600, folder 0700)."""
    write_private_file(path, _key_file_body(ring))


def load_or_create_key_file(path: Path) -> MasterKeyring:
    """The keyring in ``path``, created with a fresh random key (mode 0600) if missing.

    The new file is written whole beside its final name and hard-linked into place, which
    fails if the name exists: two processes starting on one data folder agree on one key,
    and neither can read a half-written file.
    """
    if path.exists():
        return read_key_file(path)
    ring = MasterKeyring(current=secrets.token_bytes(KEY_BYTES))
    if create_private_file_once(path, _key_file_body(ring)):
        return ring
    return read_key_file(path)


def merge_into_key_file(path: Path, current: bytes, others: tuple[bytes, ...]) -> MasterKeyring:
    """Add keys to the key file at ``path`` without ever dropping one it holds.

    With no file yet, ``current`` becomes its current key (a restored folder then wraps
    new data keys under the key its backup's keys were under); otherwise the file's
    current key stays current and the new keys are kept as retired ones, which unwrap.
    """
    if path.exists():
        held = read_key_file(path)
        base_current, base_retired = held.current, held.retired
    else:
        base_current, base_retired = current, ()
    retired = tuple(
        dict.fromkeys(k for k in (*base_retired, current, *others) if k != base_current)
    )
    ring = MasterKeyring(current=base_current, retired=retired)
    write_key_file(path, ring)
    return ring


class KeyFilesDisagree(RuntimeError):
    """The old and the new place of the key file both hold a keyring, and they differ."""


def move_legacy_key_file(legacy: Path, path: Path) -> None:
    """Move a key file an older photostore kept in the data folder to ``path``.

    The keyring is created at ``path`` (or found there, made by a process moving it at the
    same time) before the old file is removed, so a crash in between loses nothing: the
    next start finds both, equal, and removes the old one.
    """
    try:
        ring = read_key_file(legacy)
    except FileNotFoundError:  # none there, or another process moved it just now
        return
    if not create_private_file_once(path, _key_file_body(ring)) and read_key_file(path) != ring:
        raise KeyFilesDisagree(
            f"{legacy} (the key file's place before photostore 0.1) and {path} hold different "
            "master keys. Keep the one the data keys were wrapped with (start with "
            "PHOTOSTORE_MASTER_KEY_FILE naming each in turn and read an image) and move the "
            "other away."
        )
    legacy.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty (something else kept there), or gone
        legacy.parent.rmdir()
    log.warning(
        "moved the master key file from %s to %s: out of the data folder, so that a copy of "
        "the folder no longer holds it. Back it up apart from the data (docs/operations.md, "
        "'Encryption keys'); backups taken before this still hold the key.",
        legacy,
        path,
    )


class NoMasterKey(RuntimeError):
    """No master key is configured and none may be made (the database holds data keys)."""


def keyring_for(settings: Settings, *, create: bool = True) -> MasterKeyring:
    """The keyring the settings name: ``master_key`` if set, else the key file (made on
    first start, unless ``create`` is false: then :class:`NoMasterKey`). Retired keys
    from the settings, and the key file's keys when the current key comes from the
    settings, are kept for unwrapping."""
    listed = settings.retired_master_keys
    parts = listed.get_secret_value().split(",") if listed is not None else []
    retired = [decode_key(part) for part in parts if part.strip()]
    path = settings.resolved_master_key_file
    if settings.master_key_file is None:
        move_legacy_key_file(settings.legacy_master_key_file, path)
    if settings.master_key is not None:
        current = decode_key(settings.master_key.get_secret_value())
        if path.exists():
            from_file = read_key_file(path)
            retired.extend((from_file.current, *from_file.retired))
    else:
        if not create and not path.exists():
            raise NoMasterKey(f"no master key is configured and {path} does not exist")
        from_file = load_or_create_key_file(path)
        current = from_file.current
        retired.extend(from_file.retired)
    unique = tuple(dict.fromkeys(k for k in retired if k != current))
    return MasterKeyring(current=current, retired=unique)

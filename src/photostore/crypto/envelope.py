"""The encrypted blob format: AES-256-GCM in independently sealed chunks.

Layout of a stored blob::

    header   32 bytes   magic "PSE1" | chunk size (u32) | plaintext size (u64) | data key id
    chunk 0  nonce (12) | ciphertext | tag (16)
    chunk 1  ...

Every chunk holds ``chunk size`` bytes of plaintext (the last one fewer; an empty blob
still has one empty chunk, so emptiness is authenticated too). Each chunk has its own
random nonce and tag; its associated data is the header, the owner's id, the blob key
and the chunk's index. So:

* a Range request decrypts only the chunks it touches;
* a blob moved to another owner's or another key's path, chunks reordered, a header
  edited (size, key id) or a file truncated at a chunk boundary all fail authentication.

Random 96-bit nonces are safe for up to 2**32 chunks per key (NIST SP 800-38D); with
64 KiB chunks that is 256 TiB per user.
"""

from __future__ import annotations

import secrets
import struct
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from photostore.errors import Unreadable

MAGIC = b"PSE1"
CHUNK_SIZE = 64 * 1024
NONCE_BYTES = 12
TAG_BYTES = 16
OVERHEAD = NONCE_BYTES + TAG_BYTES
_HEADER = struct.Struct(">4sIQ16s")
HEADER_BYTES = _HEADER.size


@dataclass(frozen=True)
class Header:
    chunk_size: int
    plaintext_size: int
    key_id: uuid.UUID

    def pack(self) -> bytes:
        return _HEADER.pack(MAGIC, self.chunk_size, self.plaintext_size, self.key_id.bytes)

    @classmethod
    def unpack(cls, raw: bytes) -> Header:
        if len(raw) != HEADER_BYTES:
            raise Unreadable("a stored blob is too short to be encrypted data")
        magic, chunk_size, size, key_id = _HEADER.unpack(raw)
        if magic != MAGIC or chunk_size == 0:
            raise Unreadable("a stored blob is not in photostore's encrypted format")
        return cls(chunk_size=chunk_size, plaintext_size=size, key_id=uuid.UUID(bytes=key_id))

    @property
    def chunk_count(self) -> int:
        return max(1, -(-self.plaintext_size // self.chunk_size))

    def chunk_offset(self, index: int) -> int:
        """Where chunk ``index`` starts in the stored blob."""
        return HEADER_BYTES + index * (self.chunk_size + OVERHEAD)

    def chunk_plaintext_size(self, index: int) -> int:
        if index < self.chunk_count - 1:
            return self.chunk_size
        return self.plaintext_size - index * self.chunk_size


@dataclass(frozen=True)
class Binding:
    """What a ciphertext is bound to: its owner and its blob key."""

    owner_id: uuid.UUID
    blob_key: str

    def aad(self, header: bytes, index: int) -> bytes:
        key = self.blob_key.encode()
        return header + self.owner_id.bytes + struct.pack(">H", len(key)) + key + index.to_bytes(8)


def encrypt_chunks(
    data_key: bytes,
    key_id: uuid.UUID,
    binding: Binding,
    plaintext: Iterable[bytes],
    plaintext_size: int,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[bytes]:
    """The stored form of ``plaintext`` (``plaintext_size`` bytes in any pieces)."""
    header = Header(chunk_size, plaintext_size, key_id)
    raw_header = header.pack()
    yield raw_header
    aead = AESGCM(data_key)
    index = 0
    for chunk in _rechunk(plaintext, chunk_size, plaintext_size):
        nonce = secrets.token_bytes(NONCE_BYTES)
        yield nonce + aead.encrypt(nonce, chunk, binding.aad(raw_header, index))
        index += 1
    if index != header.chunk_count:
        raise ValueError("the plaintext was not as long as announced")


def decrypt_chunk(
    aead: AESGCM, header: Header, binding: Binding, index: int, sealed: bytes
) -> bytes:
    """The plaintext of chunk ``index``; :class:`Unreadable` if it fails authentication."""
    if len(sealed) != header.chunk_plaintext_size(index) + OVERHEAD:
        raise Unreadable("a stored blob is truncated")
    try:
        return aead.decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], binding.aad(header.pack(), index)
        )
    except InvalidTag as exc:
        raise Unreadable(
            "a stored blob failed its integrity check (it was changed, moved or truncated)"
        ) from exc


def _rechunk(pieces: Iterable[bytes], size: int, total: int) -> Iterator[bytes]:
    """``pieces`` regrouped into chunks of ``size`` bytes; at least one (maybe empty)."""
    buffer = bytearray()
    seen = 0
    for piece in pieces:
        seen += len(piece)
        if seen > total:
            raise ValueError("the plaintext is longer than announced")
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if seen != total:
        raise ValueError("the plaintext is shorter than announced")
    if buffer or total == 0:
        yield bytes(buffer)

"""A blob store that encrypts: AES-256-GCM under each owner's data key, around any store.

Keys name their owner (``originals/<owner>/...``, ``derivatives/<owner>/...``); the
owner picks the data key, and the owner and key are bound into every chunk (see
``photostore.crypto.envelope``). Sizes and ranges are in plaintext bytes; only the chunks
a range touches are read and decrypted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from photostore.crypto.datakeys import DataKeys
from photostore.crypto.envelope import (
    HEADER_BYTES,
    OVERHEAD,
    Binding,
    Header,
    decrypt_chunk,
    encrypt_chunks,
)
from photostore.errors import Unreadable
from photostore.private_files import open_private
from photostore.storage.base import BlobStore, UnsafeKey, check_key
from photostore.storage.space import space_checked

_READ_SIZE = 1 << 20


def owner_of_key(key: str) -> uuid.UUID:
    """The owner a blob key names (its second segment); keys without one are refused."""
    parts = check_key(key).split("/")
    try:
        return uuid.UUID(parts[1])
    except (IndexError, ValueError) as exc:
        raise UnsafeKey(f"blob key without an owner: {key!r}") from exc


class EncryptedBlobStore:
    """Wraps ``inner``: everything it stores is ciphertext, everything it returns plaintext."""

    def __init__(self, inner: BlobStore, keys: DataKeys) -> None:
        self.inner = inner
        self.data_keys = keys

    # -- writing --------------------------------------------------------------------

    def put_file(self, key: str, source: Path) -> None:
        size = source.stat().st_size
        sealed = source.with_name(f"{source.name}.sealed")
        try:
            with space_checked(), source.open("rb") as src, open_private(sealed) as out:
                for piece in self._seal(key, _read_file(src), size):
                    out.write(piece)
            self.inner.put_file(key, sealed)
        finally:
            sealed.unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.inner.put_bytes(key, b"".join(self._seal(key, [data], len(data))))

    def _seal(self, key: str, plaintext: Iterable[bytes], size: int) -> Iterator[bytes]:
        owner = owner_of_key(key)
        data_key = self.data_keys.for_writing(owner)
        return encrypt_chunks(data_key.key, data_key.id, Binding(owner, key), plaintext, size)

    # -- reading --------------------------------------------------------------------

    def size(self, key: str) -> int:
        """The plaintext size; :class:`Unreadable` when the stored blob is not as long as
        its header says (truncated, or bytes appended that a read would not serve)."""
        header = self._header(key)
        last = header.chunk_count - 1
        expected = header.chunk_offset(last) + header.chunk_plaintext_size(last) + OVERHEAD
        stored = self.inner.size(key)
        if stored != expected:
            raise Unreadable(f"the stored blob holds {stored} bytes, its header says {expected}")
        return header.plaintext_size

    def _header(self, key: str) -> Header:
        return Header.unpack(b"".join(self.inner.read_range(key, 0, HEADER_BYTES)))

    def read_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 16
    ) -> Iterator[bytes]:
        """Plaintext bytes ``start`` to ``end``.

        The first chunk is decrypted before this returns, so a blob that fails its check
        (moved, changed, its key destroyed) raises here, while an HTTP response can still
        become a problem document, not in the middle of a stream.
        """
        header = self._header(key)
        owner = owner_of_key(key)
        stop = header.plaintext_size if end is None else min(end, header.plaintext_size)
        start = max(0, start)
        aead = AESGCM(self.data_keys.for_reading(owner, header.key_id).key)
        binding = Binding(owner, key)
        if start >= stop:
            # Still authenticate one chunk: an empty read of a foreign blob must fail too.
            first = self._chunks(key, header, 0, 0)
            decrypt_chunk(aead, header, binding, 0, next(first))
            return iter(())
        first_index = start // header.chunk_size
        last_index = (stop - 1) // header.chunk_size
        sealed = self._chunks(key, header, first_index, last_index)
        head = decrypt_chunk(aead, header, binding, first_index, next(sealed))
        return self._plaintext(
            head, sealed, aead, header, binding, first_index, start, stop, chunk_size
        )

    def _chunks(self, key: str, header: Header, first: int, last: int) -> Iterator[bytes]:
        """The sealed chunks ``first``..``last`` of a blob, read as one span."""
        span_start = header.chunk_offset(first)
        span_end = header.chunk_offset(last) + header.chunk_plaintext_size(last) + OVERHEAD
        buffer = bytearray()
        index = first
        for piece in self.inner.read_range(key, span_start, span_end, _READ_SIZE):
            buffer += piece
            while index <= last:
                need = header.chunk_plaintext_size(index) + OVERHEAD
                if len(buffer) < need:
                    break
                yield bytes(buffer[:need])
                del buffer[:need]
                index += 1
        if index <= last:
            yield bytes(buffer)  # short: decrypt_chunk reports the truncation

    def _plaintext(
        self,
        head: bytes,
        sealed: Iterator[bytes],
        aead: AESGCM,
        header: Header,
        binding: Binding,
        index: int,
        start: int,
        stop: int,
        chunk_size: int,
    ) -> Iterator[bytes]:
        plain = head
        while True:
            base = index * header.chunk_size
            piece = plain[max(0, start - base) : max(0, stop - base)]
            for at in range(0, len(piece), chunk_size):
                yield piece[at : at + chunk_size]
            index += 1
            if index * header.chunk_size >= stop:
                return
            plain = decrypt_chunk(aead, header, binding, index, next(sealed))

    # -- the rest passes through ----------------------------------------------------

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def keys(self, prefix: str = "") -> Iterator[str]:
        return self.inner.keys(prefix)


def _read_file(handle: BinaryIO) -> Iterator[bytes]:
    while chunk := handle.read(_READ_SIZE):
        yield chunk

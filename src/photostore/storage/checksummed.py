"""A blob store that checks plain blobs: a checksum per 64 KiB chunk, recorded at write.

Used when blobs are not encrypted (the envelope of ``storage.encrypted`` authenticates
each chunk already). Writing a blob records its chunk sums first, as a small blob of
their own under ``chunk-sums/<key>``; reading one checks every chunk against its sum
before handing it out, and the first chunk of a read before the read is returned, so a
damaged start becomes an error while an HTTP answer can still be a problem document.
A range that starts mid-chunk reads and checks its whole first chunk.

A blob written before sums were recorded has none: an original (its key names the
sha256 of its bytes) is read whole once and checked against that sha256, then its sums
are recorded; any other blob raises :class:`~photostore.storage.base.UncheckedBlob`, for
its owner to make it again (thumbnails are made from their original).

The checksum of a chunk is its GMAC under a fixed, public key: the AES-GCM tag of no
plaintext with the chunk as associated data. That is a checksum, not a MAC: the sums lie
in the same store as the bytes, so whoever can change a blob can rewrite its sums, and
no secret could stop them. Against damage it is as good as any: a polynomial hash with
a 128-bit result, sure to notice any damage within one 16-byte block and missing random
damage once in 2**116. It is chosen for its speed, AES-NI and carry-less multiplication:
about 13 GB/s on one core here where ``zlib.crc32`` runs at 3 and ``hashlib.sha256`` at
0.8 to 1.8 (docs/decisions.md). Originals keep their end-to-end sha256, which
``photostore verify`` computes whole.

Reads serve the recorded bytes only: bytes appended after them are not served, and
:meth:`ChecksummedBlobStore.size` reports a stored length other than the recorded one
as damage (``photostore verify`` asks it).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from photostore.errors import BlobDamaged
from photostore.storage.base import (
    BlobNotFound,
    BlobStore,
    UncheckedBlob,
    check_key,
    content_sha256_of,
)

CHUNK_SIZE = 64 * 1024
SUMS_PREFIX = "chunk-sums/"
_MAGIC = b"PSG1"
_HEADER = struct.Struct(">4sIQ")
_SUM = 16
_CHECK = 32  # the sha256 of the sums themselves
_READ_SIZE = 1 << 20
# Public on purpose (see the module's notes): one key and nonce for every chunk, since
# nothing here is secret, and a nonce reused is a weakness of a MAC only.
_GMAC = AESGCM(bytes(32))
_NONCE = bytes(12)


def chunk_sum(chunk: bytes | bytearray | memoryview) -> bytes:
    """The checksum of one chunk (16 bytes)."""
    return _GMAC.encrypt(_NONCE, b"", chunk)


@dataclass(frozen=True)
class ChunkSums:
    """The recorded size of a blob and the checksum of each of its chunks."""

    chunk_size: int
    size: int
    sums: bytes
    """16 bytes per chunk, in order: a read slices out the few it needs."""

    def pack(self) -> bytes:
        body = _HEADER.pack(_MAGIC, self.chunk_size, self.size) + self.sums
        # The sums check themselves: a damaged sums blob is treated as none at all.
        return body + hashlib.sha256(body).digest()

    @classmethod
    def unpack(cls, raw: bytes) -> ChunkSums | None:
        """The sums in ``raw``; None when it is not a sound sums blob."""
        body, check = raw[:-_CHECK], raw[-_CHECK:]
        if len(body) < _HEADER.size or hashlib.sha256(body).digest() != check:
            return None
        magic, chunk_size, size = _HEADER.unpack_from(body)
        listed = body[_HEADER.size :]
        count = max(1, -(-size // chunk_size)) if chunk_size else 0
        if magic != _MAGIC or chunk_size == 0 or len(listed) != count * _SUM:
            return None
        return cls(chunk_size=chunk_size, size=size, sums=listed)

    def sum_of(self, index: int) -> bytes:
        return self.sums[index * _SUM : (index + 1) * _SUM]

    def chunk_length(self, index: int) -> int:
        return min(self.chunk_size, self.size - index * self.chunk_size)


class _Summer:
    """Sums of the chunks of bytes given in pieces of any size."""

    def __init__(self, chunk_size: int = CHUNK_SIZE) -> None:
        self.chunk_size = chunk_size
        self.size = 0
        self.sums = bytearray()
        self._open = bytearray()  # the start of a chunk not yet whole

    def update(self, data: bytes) -> None:
        view = memoryview(data)
        self.size += len(view)
        if self._open:
            take = min(len(view), self.chunk_size - len(self._open))
            self._open += view[:take]
            view = view[take:]
            if len(self._open) < self.chunk_size:
                return
            self.sums += chunk_sum(self._open)
            self._open.clear()
        whole = len(view) - len(view) % self.chunk_size
        for at in range(0, whole, self.chunk_size):
            self.sums += chunk_sum(view[at : at + self.chunk_size])
        self._open += view[whole:]

    def sums_of_all(self) -> ChunkSums:
        sums = bytes(self.sums)
        if self._open or not sums:
            sums += chunk_sum(self._open)  # the short last chunk, or the empty blob's
        return ChunkSums(self.chunk_size, self.size, sums)


def sums_key(key: str) -> str:
    """Where the chunk sums of the blob ``key`` are kept."""
    return check_key(SUMS_PREFIX + key)


class ChecksummedBlobStore:
    """Wraps ``inner``: records chunk sums as blobs are written, checks them as they are read."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner

    # -- writing --------------------------------------------------------------------

    def put_file(self, key: str, source: Path) -> None:
        summer = _Summer()
        with source.open("rb") as handle:
            while piece := handle.read(_READ_SIZE):
                summer.update(piece)
        # Sums first: a crash between the two leaves sums without a blob (nothing reads
        # them), never a blob without sums.
        self.inner.put_bytes(sums_key(key), summer.sums_of_all().pack())
        self.inner.put_file(key, source)

    def put_bytes(self, key: str, data: bytes) -> None:
        summer = _Summer()
        summer.update(data)
        self.inner.put_bytes(sums_key(key), summer.sums_of_all().pack())
        self.inner.put_bytes(key, data)

    # -- reading --------------------------------------------------------------------

    def size(self, key: str) -> int:
        """The recorded size; :class:`BlobDamaged` when the stored bytes are not as long."""
        sums = self._sums_or_backfill(key)
        stored = self.inner.size(key)
        if stored != sums.size:
            raise BlobDamaged(f"the stored blob {key} holds {stored} bytes, not {sums.size}")
        return sums.size

    def read_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 16
    ) -> Iterator[bytes]:
        """Bytes ``start`` to ``end``, every chunk checked before it is handed out.

        The first chunk is read and checked before this returns (:class:`BlobDamaged`,
        :class:`BlobNotFound`); a later chunk that fails raises :class:`BlobDamaged`
        from the iterator, before any of its bytes are yielded.
        """
        sums = self._sums_or_backfill(key)
        stop = sums.size if end is None else min(end, sums.size)
        start = max(0, start)
        if start >= stop:
            # Still check one chunk: an empty read of a damaged blob fails as a full one.
            next(self._checked_chunks(key, sums, 0, 0))
            return iter(())
        first = start // sums.chunk_size
        last = (stop - 1) // sums.chunk_size
        checked = self._checked_chunks(key, sums, first, last)
        head = next(checked)
        return _slices(head, checked, first * sums.chunk_size, start, stop, chunk_size)

    def _checked_chunks(self, key: str, sums: ChunkSums, first: int, last: int) -> Iterator[bytes]:
        span_start = first * sums.chunk_size
        span_end = min(sums.size, (last + 1) * sums.chunk_size)
        pieces = self.inner.read_range(key, span_start, span_end, sums.chunk_size)
        for index, chunk in enumerate(_exact_chunks(pieces, sums, first, last), first):
            if len(chunk) != sums.chunk_length(index):
                raise BlobDamaged(f"the stored blob {key} is shorter than recorded")
            if chunk_sum(chunk) != sums.sum_of(index):
                raise BlobDamaged(
                    f"chunk {index} of the stored blob {key} does not match its checksum"
                )
            yield chunk

    def _sums_or_backfill(self, key: str) -> ChunkSums:
        sums = self._sums(key)
        if sums is not None:
            return sums
        expected = content_sha256_of(key)
        if expected is None:
            if not self.inner.exists(key):
                raise BlobNotFound(key)
            raise UncheckedBlob(key)
        return self._backfill(key, expected)

    def _sums(self, key: str) -> ChunkSums | None:
        try:
            raw = b"".join(self.inner.read_range(sums_key(key)))
        except BlobNotFound:
            return None
        return ChunkSums.unpack(raw)

    def _backfill(self, key: str, expected_sha256: str) -> ChunkSums:
        """Check a blob written before sums whole against its content sha256; record its
        sums. It is read twice, once in its life: here and by the read that follows."""
        summer = _Summer()
        whole = hashlib.sha256()
        for piece in self.inner.read_range(key, 0, None, _READ_SIZE):
            summer.update(piece)
            whole.update(piece)
        if whole.hexdigest() != expected_sha256:
            raise BlobDamaged(f"the stored blob {key} does not hash to the sha256 its key names")
        sums = summer.sums_of_all()
        self.inner.put_bytes(sums_key(key), sums.pack())
        return sums

    # -- the rest -------------------------------------------------------------------

    def delete(self, key: str) -> None:
        self.inner.delete(key)
        self.inner.delete(sums_key(key))

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def keys(self, prefix: str = "") -> Iterator[str]:
        return (key for key in self.inner.keys(prefix) if not key.startswith(SUMS_PREFIX))


def _exact_chunks(
    pieces: Iterable[bytes], sums: ChunkSums, first: int, last: int
) -> Iterator[bytes]:
    """``pieces`` regrouped into the chunks ``first``..``last``; a short one at the end
    when the stored bytes run out (a truncated blob)."""
    buffer = b""
    index = first
    for piece in pieces:
        buffer = buffer + piece if buffer else piece
        while index <= last and len(buffer) >= sums.chunk_length(index):
            need = sums.chunk_length(index)
            chunk, buffer = buffer[:need], buffer[need:]
            yield chunk
            index += 1
    if index <= last:
        yield buffer


def _slices(
    head: bytes, rest: Iterator[bytes], base: int, start: int, stop: int, size: int
) -> Iterator[bytes]:
    """The bytes ``start``..``stop`` of checked chunks from ``base`` on, in ``size`` pieces."""
    chunk: bytes | None = head
    while chunk is not None and base < stop:
        piece = chunk[max(0, start - base) : stop - base]
        for at in range(0, len(piece), size):
            yield piece[at : at + size]
        base += len(chunk)
        chunk = next(rest, None)

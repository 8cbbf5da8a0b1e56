"""A file wrapper that bounds how much work a metadata parser may do on untrusted bytes.

exifread does one ``seek`` and one ``read`` per value it unpacks and trusts the counts a
file declares: a 701-byte JPEG whose MakerNote says it holds 2**32-1 values makes it loop
that many times (hours of CPU, tens of GB of memory), each read past the end of the
file returning nothing. Counting the reads bounds its CPU time and memory without
touching its code, and capping the bytes bounds what one declared length can pull into
memory from a large file.
"""

from __future__ import annotations

import io
from typing import BinaryIO, Final

#: Reads one EXIF parse may do. The real camera files of the test corpus need at most
#: 41,000 with MakerNotes (Samsung Digimax i50), exifread's own damaged samples 74,000
#: (0.6 s); 200,000 is about 2 s of CPU on the slowest machine we run.
MAX_READS: Final = 200_000
#: Bytes one EXIF parse may read in all: an APP1 segment holds at most 64 KiB, and the
#: largest parse of the corpus (a TIFF-in-JPEG) reads 3.7 MB.
MAX_BYTES: Final = 32 * 1024 * 1024


class ParseBudgetExceeded(Exception):
    """The parser asked for more reads or bytes than its budget allows.

    Derives from ``Exception`` directly: exifread catches ``ValueError``, ``TypeError``,
    ``IndexError``, ``OverflowError`` and ``MemoryError`` internally and would go on
    parsing; this must reach our caller.
    """


class BoundedReader:
    """``file`` as a read-only stream (the ``read``, ``seek`` and ``tell`` parsers use)
    that raises :class:`ParseBudgetExceeded` once more than ``max_reads`` reads or
    ``max_bytes`` bytes have been asked for."""

    def __init__(
        self, file: BinaryIO, *, max_reads: int = MAX_READS, max_bytes: int = MAX_BYTES
    ) -> None:
        self._file = file
        self._max_reads = max_reads
        self._max_bytes = max_bytes
        self._reads_left = max_reads
        self._bytes_left = max_bytes

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def read(self, size: int | None = -1) -> bytes:
        self._reads_left -= 1
        if self._reads_left < 0:
            raise ParseBudgetExceeded(f"more than {self._max_reads:,} reads")
        # A read "to the end" or of a declared length (an ASCII tag of 4 GB) asks for no
        # more than what is left of the budget, plus one byte to tell that it ran out.
        wanted = self._bytes_left + 1 if size is None or size < 0 else size
        data = self._file.read(min(wanted, self._bytes_left + 1))
        self._bytes_left -= len(data)
        if self._bytes_left < 0:
            raise ParseBudgetExceeded(f"more than {self._max_bytes:,} bytes read")
        return data

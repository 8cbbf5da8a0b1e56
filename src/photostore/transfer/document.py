"""``library.json``: one JSON document of a whole library, written and read a row at a time.

The document is plain JSON (``jq`` reads it), framed in lines so that neither its
writer nor its reader ever holds more than one row: the header object's fields on the
first line, then each part as a line ``,"<part>": [``, one row a line (every row after
the first begins with a comma), and a line ``]``; a last line ``}`` closes it::

    {"format":"photostore-library","version":1,"exported_at":"...","owner":{...}
    ,"tags": [
    {"id":"...","name":"beach","created_at":"..."}
    ,{"id":"...","name":"family","created_at":"..."}
    ]
    ,"images": [
    ...
    ]
    }

A reader refuses any other framing, an unknown format or version, parts out of order,
and a line longer than ``MAX_LINE_BYTES``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from photostore.errors import InvalidInput
from photostore.transfer.layout import FORMAT, VERSION

# A row is at most one image with its EXIF, or one face with its embedding: far below.
MAX_LINE_BYTES = 64 * 1024 * 1024


def _encode(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"no JSON form for {type(value).__name__}")


def dumps(value: object) -> str:
    """One line of JSON (strings escape their newlines), no NaN."""
    return json.dumps(
        value, default=_encode, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )


class DocumentWriter:
    """Writes a document to ``out`` (text, UTF-8): the header, then parts of rows."""

    def __init__(self, out: IO[str], header: dict[str, Any]) -> None:
        self._out = out
        self._first = True
        out.write(dumps({"format": FORMAT, "version": VERSION, **header})[:-1] + "\n")

    def begin(self, part: str) -> None:
        self._out.write(f",{dumps(part)}: [\n")
        self._first = True

    def row(self, row: dict[str, Any]) -> None:
        self._out.write(("" if self._first else ",") + dumps(row) + "\n")
        self._first = False

    def end(self) -> None:
        self._out.write("]\n")

    def close(self) -> None:
        self._out.write("}\n")


class DocumentReader:
    """Reads a document a row at a time: :attr:`header`, then :meth:`rows` per part."""

    def __init__(self, path: Path, parts: Sequence[str]) -> None:
        self._path = path
        self._parts = list(parts)
        self._file = path.open("rb")
        self._number = 0
        try:
            self.header = self._read_header()
        except BaseException:
            self._file.close()
            raise

    def _read_header(self) -> dict[str, Any]:
        path = self._path
        self._check_closed()
        first = self._line()
        try:
            header = json.loads(first + "}")
        except ValueError as exc:
            raise InvalidInput(f"{path.name}: the first line is not a document header") from exc
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise InvalidInput(f"{path.name}: not a {FORMAT} document")
        if header.get("version") != VERSION:
            raise InvalidInput(
                f"{path.name}: version {header.get('version')!r}; this photostore reads "
                f"version {VERSION}"
            )
        return header

    def _check_closed(self) -> None:
        """A document cut short is refused before any of it is used."""
        self._file.seek(0, 2)
        size = self._file.tell()
        self._file.seek(max(0, size - 2))
        if self._file.read() != b"}\n":
            raise InvalidInput(f"{self._path.name}: the document is cut short")
        self._file.seek(0)

    def _line(self) -> str:
        raw = self._file.readline(MAX_LINE_BYTES + 1)
        self._number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise InvalidInput(f"{self._path.name}:{self._number}: a line over the limit")
        if not raw.endswith(b"\n"):
            raise InvalidInput(f"{self._path.name}:{self._number}: the document is cut short")
        try:
            return raw[:-1].decode()
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{self._path.name}:{self._number}: not UTF-8") from exc

    def rows(self, part: str) -> Iterator[tuple[object, str]]:
        """Each row of ``part`` (the next part of the document) with where it stands."""
        if not self._parts or self._parts[0] != part:
            raise AssertionError(f"{part} read out of order")
        self._parts.pop(0)
        if self._line() != f",{dumps(part)}: [":
            raise InvalidInput(f"{self._path.name}:{self._number}: expected the part {part!r}")
        index = 0
        while (line := self._line()) != "]":
            text = line if index == 0 else line.removeprefix(",")
            if index > 0 and text == line:
                raise InvalidInput(f"{self._path.name}:{self._number}: a row without its comma")
            try:
                row = json.loads(text)
            except ValueError as exc:
                raise InvalidInput(f"{self._path.name}:{self._number}: not a JSON row") from exc
            yield row, f"{part}[{index}]"
            index += 1

    def finish(self) -> None:
        """The document ends where it should."""
        if self._parts:
            raise AssertionError(f"parts left unread: {self._parts}")
        if self._line() != "}" or self._file.read(1):
            raise InvalidInput(f"{self._path.name}:{self._number}: expected the document's end")

    def close(self) -> None:
        self._file.close()

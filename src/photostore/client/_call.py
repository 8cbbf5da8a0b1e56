"""A request as data: what one route method asks of the server, and how its answer is read.

Each route method builds a :class:`Call`; the synchronous and the asynchronous client
both execute it (``_sync``, ``_async``), so a route is written once. A ``Call`` holds no
I/O: an upload's file is opened afresh for each attempt (:meth:`Upload.opened`), and a
download's destination (:class:`Sink`) is opened once the answer is a success.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Generic, Literal, TypeAlias, TypeVar
from urllib.parse import quote
from uuid import UUID

T = TypeVar("T")

Id: TypeAlias = str | UUID
QueryValue: TypeAlias = str | int | float | bool | datetime | UUID | None
FormValue: TypeAlias = str | list[str]
# What an upload or a download names: a path, bytes (uploads only) or a binary file.
FileSource: TypeAlias = str | os.PathLike[str] | bytes | IO[bytes]
Destination: TypeAlias = str | os.PathLike[str] | IO[bytes]

IDEMPOTENT = frozenset({"GET", "PUT", "DELETE"})


def segment(value: Id) -> str:
    """``value`` as one path segment: nothing in it can reach another route."""
    return quote(str(value), safe="")


def query(**values: QueryValue) -> dict[str, str | int | float | bool]:
    """The query parameters given (None left out), times as ISO 8601 text."""
    out: dict[str, str | int | float | bool] = {}
    for name, value in values.items():
        if value is None:
            continue
        out[name] = value.isoformat() if isinstance(value, datetime) else (
            str(value) if isinstance(value, UUID) else value
        )  # fmt: skip
    return out


def ids(values: list[Id]) -> list[str]:
    return [str(value) for value in values]


@dataclass(frozen=True)
class Upload:
    """The file of a multipart upload and the text parts sent beside it."""

    source: FileSource
    filename: str | None = None
    content_type: str = "application/octet-stream"
    fields: Mapping[str, FormValue] = field(default_factory=dict)
    # An XMP or Google Takeout JSON sidecar (at most 4 MiB): bytes, or a path read whole.
    sidecar: bytes | str | os.PathLike[str] | None = None

    @property
    def replayable(self) -> bool:
        """Whether the same bytes can be sent again: a path is reopened, bytes resent, a
        seekable file rewound (httpx2 seeks it to its start); a pipe or socket cannot."""
        if isinstance(self.source, bytes | str | os.PathLike):
            return True
        return self.source.seekable()

    def _name(self) -> str:
        if self.filename is not None:
            return self.filename
        if isinstance(self.source, str | os.PathLike):
            return Path(self.source).name
        return Path(str(getattr(self.source, "name", "upload"))).name

    @contextlib.contextmanager
    def opened(self) -> Iterator[dict[str, tuple[str, bytes | IO[bytes], str]]]:
        """The ``files`` of one attempt: a path is opened for it and closed after it, and
        httpx2 reads the file in 64 KiB chunks as it sends (never whole into memory)."""
        with contextlib.ExitStack() as stack:
            source = self.source
            if isinstance(source, str | os.PathLike):
                source = stack.enter_context(Path(source).open("rb"))
            files = {"file": (self._name(), source, self.content_type)}
            if self.sidecar is not None:
                files["sidecar"] = self._sidecar()
            yield files

    def _sidecar(self) -> tuple[str, bytes, str]:
        if isinstance(self.sidecar, bytes):
            return ("sidecar", self.sidecar, "application/octet-stream")
        assert self.sidecar is not None
        path = Path(self.sidecar)
        return (path.name, path.read_bytes(), "application/octet-stream")


@dataclass(frozen=True)
class Download:
    """A file the server sent (an original or a thumbnail): 200 whole, 206 a range."""

    status: int
    content_type: str
    byte_count: int
    etag: str | None
    content_range: str | None
    # The bytes themselves when no destination was given; None when they went to one.
    content: bytes | None


class Sink:
    """Where a download's bytes go, opened once its answer is a success: a path is
    written in place (truncated first), a file object from where it stands, and with no
    destination the bytes are kept in memory for :attr:`Download.content`."""

    def __init__(self, destination: Destination | None) -> None:
        self._destination = destination
        self._file: IO[bytes] | None = None
        self._memory: io.BytesIO | None = None
        self.count = 0

    def __enter__(self) -> Sink:
        if self._destination is None:
            self._memory = io.BytesIO()
            self._file = self._memory
        elif isinstance(self._destination, str | os.PathLike):
            self._file = Path(self._destination).open("wb")  # closed in __exit__
        else:
            self._file = self._destination
        return self

    def write(self, chunk: bytes) -> None:
        assert self._file is not None
        self._file.write(chunk)
        self.count += len(chunk)

    def __exit__(self, *_: object) -> None:
        if isinstance(self._destination, str | os.PathLike) and self._file is not None:
            self._file.close()

    def content(self) -> bytes | None:
        return None if self._memory is None else self._memory.getvalue()


# How an answer's body becomes the method's result: JSON (None for a 204), text, or a
# stream into a sink.
Reading: TypeAlias = Literal["json", "text", "download"]


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request of a route method and how to read its answer (``T``)."""

    method: str
    path: str
    params: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    json: Any = None
    form: Mapping[str, str] | None = None
    upload: Upload | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    reading: Reading = "json"
    destination: Destination | None = None
    # The answer's access token becomes the client's credentials (``login``).
    authenticates: bool = False

    @property
    def replayable(self) -> bool:
        return self.upload is None or self.upload.replayable

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT


def range_header(first: int, last: int | None) -> dict[str, str]:
    """The ``Range`` header of bytes ``first`` to ``last`` inclusive (to the end: None)."""
    return {"Range": f"bytes={first}-{'' if last is None else last}"}

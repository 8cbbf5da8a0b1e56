"""Streaming ``multipart/form-data`` uploads.

Starlette's form parser spools every file whole before the route sees it. Uploads here
stream instead: the body is parsed as it arrives, the ``file`` part goes straight into a
:class:`~photostore.services.staging.StagingFile` (hashed, size-limited) and the upload
stops at the first byte over the limit. Small documents sent beside it (a sidecar) are
attachments: held in memory up to a limit of their own, never staged as a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from photostore.errors import BadRequest, InvalidInput, TooLarge, UnsupportedMediaType
from photostore.services.staging import StagedUpload, StagingFile
from photostore.storage.space import FreeSpace
from photostore.threads import clean_up_in_thread

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 200
# Room for the multipart framing and the small text fields around the file.
FORM_OVERHEAD_BYTES = 1024 * 1024
# RFC 2046 allows 1-70 characters; python-multipart refuses more than 256 with an error
# of its own. Up to 256 is accepted, as the parser can.
MAX_BOUNDARY_BYTES = 256
# How much of the body the parser (and the staging file's writes) gets per worker-thread
# call.
PARSE_BATCH_BYTES = 256 * 1024


@dataclass
class UploadForm:
    """A received upload: the staged file, its client-side name, the text fields and the
    attachments (by part name)."""

    staged: StagedUpload
    filename: str | None
    fields: dict[str, list[str]] = field(default_factory=dict)
    attachments: dict[str, bytes] = field(default_factory=dict)


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    is_attachment: bool = False
    data: bytearray = field(default_factory=bytearray)


class _FormCollector:
    """The parser's callbacks: routes each part's bytes to the file or a field."""

    def __init__(
        self,
        staging_dir: Path,
        limit: int,
        file_field: str,
        allowed_fields: frozenset[str],
        attachment_limits: Mapping[str, int],
        space: FreeSpace | None,
        declared: int,
    ) -> None:
        self.staging_dir = staging_dir
        self.limit = limit
        self.space = space
        self.declared = declared
        self.file_field = file_field
        self.allowed_fields = allowed_fields
        self.attachment_limits = attachment_limits
        self.attachments: dict[str, bytes] = {}
        self.part = _Part()
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.parts = 0
        self.file: StagingFile | None = None
        self.filename: str | None = None
        self.fields: dict[str, list[str]] = {}
        self.writing_file = False

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise BadRequest(f"a form may have at most {MAX_PARTS} parts")
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        disposition, options = parse_options_header(
            self.part.headers.get(b"content-disposition", b"")
        )
        if disposition != b"form-data" or b"name" not in options:
            raise BadRequest("every part needs a Content-Disposition: form-data; name=...")
        name = options[b"name"].decode("utf-8", "replace")
        self.part.name = name
        if name == self.file_field:
            if self.file is not None:
                raise BadRequest(f"send exactly one {self.file_field!r} part")
            raw_filename = options.get(b"filename")
            self.filename = raw_filename.decode("utf-8", "replace") if raw_filename else None
            self.file = StagingFile(self.staging_dir, self.limit, self.space, self.declared)
            self.writing_file = True
        elif name in self.attachment_limits:
            self.part.is_attachment = True
            if self.attachments:
                names = " or ".join(repr(n) for n in self.attachment_limits)
                raise InvalidInput(f"send at most one {names} part")
        elif name not in self.allowed_fields:
            allowed = ", ".join(
                sorted({self.file_field, *self.allowed_fields, *self.attachment_limits})
            )
            raise InvalidInput(f"unknown form field {name!r}; the fields are: {allowed}")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.writing_file:
            assert self.file is not None
            self.file.write(data[start:end])
            return
        self.part.data += data[start:end]
        limit = self.attachment_limits.get(self.part.name, MAX_FIELD_BYTES)
        if len(self.part.data) > limit:
            raise TooLarge(f"form field {self.part.name!r} is over {limit} bytes")

    def on_part_end(self) -> None:
        if self.writing_file:
            self.writing_file = False
            return
        if self.part.is_attachment:
            self.attachments[self.part.name] = bytes(self.part.data)
            return
        try:
            value = self.part.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"form field {self.part.name!r} is not UTF-8 text") from exc
        self.fields.setdefault(self.part.name, []).append(value)

    def discard(self) -> None:
        if self.file is not None:
            self.file.discard()


async def receive_upload(
    request: Request,
    staging_dir: Path,
    limit: int,
    file_field: str = "file",
    allowed_fields: frozenset[str] = frozenset(),
    space: FreeSpace | None = None,
    attachment_limits: Mapping[str, int] | None = None,
) -> UploadForm:
    """Parse a multipart upload as it streams in; raise before the limit is passed, and
    before anything is staged when ``space`` has no room for it (``services.staging``).

    ``attachment_limits`` names the parts taken as attachments, each with its largest
    size; one of them at most may be sent."""
    attachment_limits = attachment_limits or {}
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise UnsupportedMediaType(
            f"send the image as multipart/form-data with a part named {file_field!r}"
        )
    header = request.headers.get("content-length")
    declared = int(header) if header is not None and header.isdigit() else 0
    if declared > limit + FORM_OVERHEAD_BYTES + max(attachment_limits.values(), default=0):
        raise TooLarge(f"the upload is larger than the limit of {limit} bytes")

    if not 1 <= len(params[b"boundary"]) <= MAX_BOUNDARY_BYTES:
        raise BadRequest(f"the multipart boundary must have 1-{MAX_BOUNDARY_BYTES} characters")
    collector = _FormCollector(
        staging_dir, limit, file_field, allowed_fields, attachment_limits, space, declared
    )
    parser = MultipartParser(
        params[b"boundary"],
        callbacks={
            "on_part_begin": collector.on_part_begin,
            "on_part_data": collector.on_part_data,
            "on_part_end": collector.on_part_end,
            "on_header_field": collector.on_header_field,
            "on_header_value": collector.on_header_value,
            "on_header_end": collector.on_header_end,
            "on_headers_finished": collector.on_headers_finished,
        },
    )
    # The parser's callbacks create, write and close the staging file: they run in a
    # worker thread, so that a slow disk stalls this upload and not the event loop, fed
    # in batches so that the hop to the thread is paid once per PARSE_BATCH_BYTES.
    pending = bytearray()
    try:
        async for chunk in request.stream():
            pending += chunk
            if len(pending) >= PARSE_BATCH_BYTES:
                await anyio.to_thread.run_sync(parser.write, bytes(pending))
                pending.clear()
        if pending:
            await anyio.to_thread.run_sync(parser.write, bytes(pending))
        parser.finalize()
    except MultipartParseError as exc:
        await clean_up_in_thread(collector.discard)
        raise BadRequest(f"the multipart body is malformed: {exc}") from exc
    except BaseException:
        await clean_up_in_thread(collector.discard)
        raise
    if collector.file is None:
        raise InvalidInput(f"the form has no {file_field!r} part")
    if collector.writing_file:
        await clean_up_in_thread(collector.discard)
        raise BadRequest("the upload ended before the file part was complete")
    try:
        staged = await anyio.to_thread.run_sync(collector.file.finish)
    except BaseException:
        await clean_up_in_thread(collector.discard)
        raise
    return UploadForm(
        staged=staged,
        filename=collector.filename,
        fields=collector.fields,
        attachments=collector.attachments,
    )

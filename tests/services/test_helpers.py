"""Small rules of the services: display filenames, cursors, tag names, staging."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from photostore.errors import BadRequest, InvalidInput, TooLarge
from photostore.services.filenames import display_filename
from photostore.services.pagination import decode_cursor, encode_cursor
from photostore.services.staging import StagingFile
from photostore.text_rules import clean_tag_names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\IMG_1.JPG", "IMG_1.JPG"),
        ("/abs/path/x.png", "x.png"),
        ("bad\x00name\r\n.jpg", "badname.jpg"),
        ("..", "upload"),
        ("dir/", "upload"),
        ("", "upload"),
        (None, "upload"),
        ("é" * 300, "é" * 255),
    ],
)
def test_display_filename_keeps_only_a_safe_last_component(raw: str | None, expected: str) -> None:
    assert display_filename(raw) == expected


def test_cursor_round_trips() -> None:
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    row = uuid.uuid4()
    assert decode_cursor(encode_cursor(when, row)) == (when, row)


@pytest.mark.parametrize(
    "cursor", ["garbage", "e30", "WyJ4IiwieSJd", "W10", "WyIyMDI0LTAxLTAxIiwiYSJd"]
)
def test_forged_cursors_are_a_bad_request(cursor: str) -> None:
    with pytest.raises(BadRequest):
        decode_cursor(cursor)


def test_tag_names_are_cleaned_and_deduplicated_ignoring_case() -> None:
    assert clean_tag_names([" Beach ", "beach", "", "Sea"]) == ["Beach", "Sea"]
    with pytest.raises(InvalidInput):
        clean_tag_names(["x" * 101])
    with pytest.raises(InvalidInput):
        clean_tag_names(["bad\ttag"])


def test_staging_hashes_while_streaming_and_stops_at_the_limit(tmp_path: Path) -> None:
    staging = StagingFile(tmp_path, limit=10)
    staging.write(b"hello")
    staged = staging.finish()
    assert staged.sha256 == hashlib.sha256(b"hello").hexdigest()
    assert staged.byte_size == 5
    assert staged.path.read_bytes() == b"hello"

    too_big = StagingFile(tmp_path, limit=10)
    too_big.write(b"123456")
    with pytest.raises(TooLarge):
        too_big.write(b"78901")
    too_big.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == [staged.path.name]

"""The check of an export before anything of it is imported.

Every row of ``library.json`` must decode to its part's columns
(``db.repositories.library.decode_row``) and pass the rules the API applies to the same
fields (``text_rules``, the analysis payload's derivation); every original's path must
stay inside the export. One wrong row refuses the whole export, naming the row and its
field, before a file is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from photostore.db.repositories.library import PARTS, decode_row
from photostore.errors import InvalidInput
from photostore.services.analysis import write_of_payload
from photostore.text_rules import (
    check_description,
    check_title,
    clean_album_name,
    clean_person_name,
    clean_tag_names,
)
from photostore.transfer.document import DocumentReader
from photostore.transfer.layout import DOCUMENT, inside


def checked_row(part: str, raw: object, where: str, root: Path) -> dict[str, Any]:
    """The row ``raw`` of ``part`` decoded and checked; InvalidInput naming ``where``."""
    row = decode_row(part, raw, where)
    assert isinstance(raw, dict)
    try:
        _RULES.get(part, _none)(row, raw, root)
    except InvalidInput as exc:
        if exc.detail.startswith(where):
            raise
        raise InvalidInput(f"{where}: {exc.detail}") from exc
    return row


Rule = Callable[[dict[str, Any], dict[str, Any], Path], None]


def _none(row: dict[str, Any], raw: dict[str, Any], root: Path) -> None:
    pass


def _tag(row: dict[str, Any], raw: dict[str, Any], root: Path) -> None:
    clean_tag_names([row["name"]])


def _image(row: dict[str, Any], raw: dict[str, Any], root: Path) -> None:
    row["path"] = inside(root, raw.get("path"), "path")
    tags = raw.get("tags")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidInput("tags: not a list of names")
    row["tags"] = clean_tag_names(tags)
    check_title(row["title"])
    check_description(row["description"])


def _person(row: dict[str, Any], raw: dict[str, Any], root: Path) -> None:
    clean_person_name(row["name"])


def _album(row: dict[str, Any], raw: dict[str, Any], root: Path) -> None:
    clean_album_name(row["name"])
    check_description(row["description"])


def _analysis(row: dict[str, Any], raw: dict[str, Any], root: Path) -> None:
    write_of_payload(row["model_version"], row["payload"])


_RULES: dict[str, Rule] = {
    "tags": _tag,
    "images": _image,
    "people": _person,
    "albums": _album,
    "analysis_results": _analysis,
}


# What rows of a part name, and the part that must hold it. Images are left out: an
# image passed over at import leaves out the rows naming it (``transfer.restore``).
_REFERENCES = {
    "faces": ("person_id", "people"),
    "album_images": ("album_id", "albums"),
    "embeddings": ("space_id", "embedding_spaces"),
}


def check_export(root: Path) -> int:
    """Check the whole export in ``root`` (see the module's notes); its image count."""
    reader = DocumentReader(root / DOCUMENT, list(PARTS))
    images = 0
    # The ids of the parts others name: people, albums and spaces, a few per library.
    held: dict[str, set[uuid.UUID]] = {part: set() for _, part in _REFERENCES.values()}
    try:
        for part in PARTS:
            for raw, where in reader.rows(part):
                row = checked_row(part, raw, where, root)
                images += part == "images"
                if part in held:
                    held[part].add(row["id"])
                if part in _REFERENCES:
                    column, named = _REFERENCES[part]
                    if row[column] is not None and row[column] not in held[named]:
                        raise InvalidInput(f"{where}.{column}: not one of the export's {named}")
        reader.finish()
    finally:
        reader.close()
    return images

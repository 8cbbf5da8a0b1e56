"""Rules for what a caller stores or searches by: titles, descriptions, album, tag, person
and key names, analysis labels, and the capture time and place a caller or a sidecar
sets. One home, read by the services that apply them, by search, and by the API's
schemas that declare the limits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from photostore.domain.sidecars import SidecarFields
from photostore.errors import InvalidInput
from photostore.media.exif import EARLIEST_TAKEN_AT, LATEST_TAKEN_AT, plausible_taken_at

#: The longest tag name, and the most tags one request may name.
MAX_TAG_LENGTH = 100
MAX_TAGS_PER_REQUEST = 100

#: The longest album name, in characters.
MAX_ALBUM_NAME_LENGTH = 200

#: The longest description of an image or an album, in characters.
MAX_DESCRIPTION_LENGTH = 10_000

#: The longest title of an image, in characters.
MAX_TITLE_LENGTH = 1_000

#: The longest name of a person, in characters (after runs of whitespace become one space).
MAX_PERSON_NAME_LENGTH = 200

#: The longest name of an API or service key, in characters.
MAX_KEY_NAME_LENGTH = 100

#: The longest label (an object, a scene, a landmark) an analyzer may write, in characters.
MAX_LABEL_LENGTH = 200


def check_description(description: str | None) -> None:
    """Refuse a description longer than ``MAX_DESCRIPTION_LENGTH``; None clears one."""
    if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(f"description must be at most {MAX_DESCRIPTION_LENGTH} characters")


def check_title(title: str | None) -> None:
    """Refuse a title longer than ``MAX_TITLE_LENGTH``; None clears one."""
    if title is not None and len(title) > MAX_TITLE_LENGTH:
        raise InvalidInput(f"title must be at most {MAX_TITLE_LENGTH} characters")


def check_taken_at(moment: datetime | None) -> None:
    """Refuse a capture time without a zone offset or outside the plausible range."""
    if moment is None or moment.tzinfo is None:
        raise InvalidInput("taken_at must be a date-time with a time zone offset")
    if not plausible_taken_at(moment):
        raise InvalidInput(
            f"taken_at must lie between {EARLIEST_TAKEN_AT:%Y-%m-%d} and "
            f"{LATEST_TAKEN_AT:%Y-%m-%d} (UTC)"
        )


def check_sidecar(fields: SidecarFields) -> None:
    """Refuse sidecar fields a stored image could not hold, naming the first one."""
    check_title(fields.title)
    check_description(fields.description)
    if fields.taken_at is not None:
        check_taken_at(fields.taken_at)
    if (fields.latitude is None) != (fields.longitude is None):
        raise InvalidInput("latitude and longitude come together")
    if fields.latitude is not None and not -90 <= fields.latitude <= 90:
        raise InvalidInput("latitude must lie between -90 and 90")
    if fields.longitude is not None and not -180 <= fields.longitude <= 180:
        raise InvalidInput("longitude must lie between -180 and 180")


def clean_tag_names(names: Iterable[str]) -> list[str]:
    """Stripped, non-empty, de-duplicated (ignoring case) tag names, in order."""
    seen: set[str] = set()
    result: list[str] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        # Commas separate tags in upload forms, so a name cannot hold one.
        if len(name) > MAX_TAG_LENGTH or any(
            ord(ch) < 32 or ord(ch) == 127 or ch == "," for ch in name
        ):
            raise InvalidInput(
                f"a tag must be at most {MAX_TAG_LENGTH} characters, "
                "without commas or control characters"
            )
        if name.lower() not in seen:
            seen.add(name.lower())
            result.append(name)
    if len(result) > MAX_TAGS_PER_REQUEST:
        raise InvalidInput(f"at most {MAX_TAGS_PER_REQUEST} tags at once")
    return result


def clean_album_name(name: str | None) -> str:
    """The name stripped; it must not be blank or longer than ``MAX_ALBUM_NAME_LENGTH``."""
    name = (name or "").strip()
    if not name or len(name) > MAX_ALBUM_NAME_LENGTH:
        raise InvalidInput(f"an album name must be 1 to {MAX_ALBUM_NAME_LENGTH} characters")
    return name


def clean_person_name(name: str | None) -> str | None:
    """The name with runs of whitespace made one space; blank means no name."""
    if name is None:
        return None
    name = " ".join(name.split())
    if len(name) > MAX_PERSON_NAME_LENGTH:
        raise InvalidInput(f"a name must be at most {MAX_PERSON_NAME_LENGTH} characters")
    return name or None


def clean_key_name(name: str) -> str:
    """The name stripped; it must not be blank or longer than ``MAX_KEY_NAME_LENGTH``."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_KEY_NAME_LENGTH:
        raise InvalidInput(f"name must be 1 to {MAX_KEY_NAME_LENGTH} characters")
    return name


def normalize_label(name: str) -> str:
    """A label as it is stored and searched: stripped, lower-cased, with runs of
    whitespace made one space."""
    return " ".join(name.split()).lower()

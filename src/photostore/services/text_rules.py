"""Rules for free text a caller stores: one home, read by the services that check it and
by the API's schemas that declare it."""

from __future__ import annotations

from photostore.errors import InvalidInput

#: The longest description of an image or an album, in characters.
MAX_DESCRIPTION_LENGTH = 10_000


def check_description(description: str | None) -> None:
    """Refuse a description longer than ``MAX_DESCRIPTION_LENGTH``; None clears one."""
    if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(f"description must be at most {MAX_DESCRIPTION_LENGTH} characters")

"""HTTP ``Range`` requests (RFC 9110 §14) over stored blobs: one range per request."""

from __future__ import annotations

import re

from photostore.errors import RangeNotSatisfiable

_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")
# More digits than the largest file can have (2**63 bytes has 19). Python refuses to
# convert a string of over 4,300 digits (CVE-2020-10735), so a longer position is never
# converted: it stands for "past the end of any file".
_MAX_POSITION_DIGITS = 19
_PAST_ANY_END = 10**_MAX_POSITION_DIGITS


def _position(digits: str) -> int:
    """A byte position of a Range header; any number too long for a file is past its end."""
    digits = digits.lstrip("0") or "0"
    return _PAST_ANY_END if len(digits) > _MAX_POSITION_DIGITS else int(digits)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (start, end-exclusive) a ``Range`` header asks for; None means the whole file.

    A header we do not understand (several ranges, other units) is ignored, as RFC 9110
    allows; a range wholly outside the file is a 416.
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = _position(last)
        if suffix == 0:
            raise RangeNotSatisfiable("an empty suffix range selects nothing", size)
        return max(0, size - suffix), size
    start = _position(first)
    if last and _position(last) < start:
        return None  # an invalid range-spec: RFC 9110 says to ignore the header
    if start >= size:
        raise RangeNotSatisfiable(f"the file has {size} bytes", size)
    end = size if not last else min(_position(last) + 1, size)
    return start, end

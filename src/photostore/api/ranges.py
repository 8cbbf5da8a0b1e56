"""HTTP ``Range`` requests (RFC 9110 §14) over stored blobs: one range per request."""

from __future__ import annotations

import re

from photostore.errors import RangeNotSatisfiable

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


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
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable("an empty suffix range selects nothing", size)
        return max(0, size - suffix), size
    start = int(first)
    if last and int(last) < start:
        return None  # an invalid range-spec: RFC 9110 says to ignore the header
    if start >= size:
        raise RangeNotSatisfiable(f"the file has {size} bytes", size)
    end = size if not last else min(int(last) + 1, size)
    return start, end

"""One page of a keyset-paged list, as a repository hands it to a service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Slice(Generic[T]):
    """Up to ``limit`` items in the list's order; ``more`` when others follow the last one
    (the service then makes a cursor of it)."""

    items: list[T]
    more: bool

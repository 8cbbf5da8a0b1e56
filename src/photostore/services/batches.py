"""The rules every batch write shares: 1 to :data:`MAX_BATCH_ITEMS` items, each named by
its position in the messages that refuse it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from photostore.errors import InvalidInput

#: The most items one batch may hold.
MAX_BATCH_ITEMS = 1000


def check_batch_size(count: int, noun: str) -> None:
    """Refuse an empty batch or one of more than :data:`MAX_BATCH_ITEMS` ``noun``."""
    if not 1 <= count <= MAX_BATCH_ITEMS:
        raise InvalidInput(f"a batch holds 1 to {MAX_BATCH_ITEMS} {noun}, not {count}")


def check_each_once(image_ids: Sequence[uuid.UUID], noun: str) -> None:
    """Refuse a batch of ``noun`` that names an image twice, naming both positions."""
    first: dict[uuid.UUID, int] = {}
    for position, image_id in enumerate(image_ids):
        earlier = first.setdefault(image_id, position)
        if earlier != position:
            raise InvalidInput(
                f"{noun}[{position}]: the image is in the batch already, as {noun}[{earlier}]"
            )

"""Decode slots: how many images one process decodes at once, and how long an upload
waits for a turn.

Decoding is CPU and memory bound (up to ``max_decode_mb`` each); past one decode per
core more of them at once only share the cores and add up their memory. An upload that
finds every slot taken waits a bounded time, then is refused with 503 and Retry-After
(``services.slots``).
"""

from __future__ import annotations

from typing import Final

from photostore.config import Settings
from photostore.errors import DecodersBusy
from photostore.media.decode import DecodeLimits
from photostore.services.slots import Slots

#: Seconds a refused upload is asked to wait: a camera photo decodes in 0.1-0.5 s.
RETRY_AFTER_SECONDS: Final = 2


def _busy(total: int) -> DecodersBusy:
    return DecodersBusy(
        f"{total} images are being decoded already; retry in {RETRY_AFTER_SECONDS} seconds",
        retry_after=RETRY_AFTER_SECONDS,
    )


class DecodeSlots(Slots):
    """At most ``total`` decodes at once; a caller waits up to ``wait_seconds`` for one."""

    def __init__(self, total: int, wait_seconds: float) -> None:
        super().__init__(total, wait_seconds, _busy)


def decode_limits(settings: Settings) -> DecodeLimits:
    """What one decode may take and make, from the settings."""
    return DecodeLimits(
        max_pixels=settings.max_image_pixels,
        max_decode_bytes=settings.max_decode_mb * 1024 * 1024,
        thumbnail_sizes={
            "preview": settings.thumbnail_preview_px,
            "small": settings.thumbnail_small_px,
        },
        reject_damaged=settings.reject_damaged_images,
    )

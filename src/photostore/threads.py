"""Blocking work run off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio


async def clean_up_in_thread(clean_up: Callable[..., object], *args: Any) -> None:
    """Run ``clean_up(*args)`` in a worker thread, to its end even while the caller is
    being cancelled: removing files an interrupted upload left must not stop half way."""
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(clean_up, *args)

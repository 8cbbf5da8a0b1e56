"""Decode slots: how many images one process decodes at once, and how long an upload
waits for a turn.

Decoding is CPU and memory bound (up to ``max_decode_mb`` each); past one decode per
core more of them at once only share the cores and add up their memory. An upload that
finds every slot taken waits a bounded time, then is refused with 503 and Retry-After,
so a burst of uploads degrades into retries instead of exhausting the process's memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Final, TypeVar

import anyio

from photostore.errors import DecodersBusy

T = TypeVar("T")

#: Seconds a refused upload is asked to wait: a camera photo decodes in 0.1-0.5 s.
RETRY_AFTER_SECONDS: Final = 2


class DecodeSlots:
    """At most ``total`` decodes at once; a caller waits up to ``wait_seconds`` for one."""

    def __init__(self, total: int, wait_seconds: float) -> None:
        self.limiter = anyio.CapacityLimiter(total)
        """The slots themselves; exposed so that tests can take one as a decode would."""
        self._wait_seconds = wait_seconds

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the block; raise :class:`DecodersBusy` if none frees in time."""
        try:
            # A free slot is taken at once, even with no wait at all.
            self.limiter.acquire_nowait()
        except anyio.WouldBlock:
            with anyio.move_on_after(self._wait_seconds) as waiting:
                await self.limiter.acquire()
            # Cancelled while waiting means not acquired: anyio gives the place up.
            if waiting.cancelled_caught:
                raise DecodersBusy(
                    f"{int(self.limiter.total_tokens)} images are being decoded already; "
                    f"retry in {RETRY_AFTER_SECONDS} seconds",
                    retry_after=RETRY_AFTER_SECONDS,
                ) from None
        try:
            yield
        finally:
            self.limiter.release()

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """``func(*args)`` in a worker thread, inside a decode slot."""
        async with self.slot():
            return await anyio.to_thread.run_sync(func, *args)

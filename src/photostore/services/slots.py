"""Work slots: how many of one kind of costly work (a decode, a password hash) a process
runs at once, and how long a request waits for a turn.

Work that is CPU and memory bound gains nothing from running more of it at once than the
cores can take; past that, copies only add up their memory. A request that finds every
slot taken waits a bounded time, then is refused with 503 and ``Retry-After``, so a
burst degrades into retries instead of exhausting the process. Each kind runs in worker
threads of its own (as many as its slots), beside the default pool that file reads and
the rest use, so a burst of one kind never takes the threads of another.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio

from photostore.errors import Busy

T = TypeVar("T")


class Slots:
    """At most ``total`` runs at once; a caller waits up to ``wait_seconds`` for one, then
    gets the error ``busy(total)`` makes."""

    def __init__(self, total: int, wait_seconds: float, busy: Callable[[int], Busy]) -> None:
        self.limiter = anyio.CapacityLimiter(total)
        """The slots themselves; exposed so that tests can take one as a run would."""
        self._threads = anyio.CapacityLimiter(total)
        self._wait_seconds = wait_seconds
        self._busy = busy

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the block; raise the busy error if none frees in time."""
        try:
            # A free slot is taken at once, even with no wait at all.
            self.limiter.acquire_nowait()
        except anyio.WouldBlock:
            with anyio.move_on_after(self._wait_seconds) as waiting:
                await self.limiter.acquire()
            # Cancelled while waiting means not acquired: anyio gives the place up.
            if waiting.cancelled_caught:
                raise self._busy(int(self.limiter.total_tokens)) from None
        try:
            yield
        finally:
            self.limiter.release()

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """``func(*args)`` in a worker thread of this kind, inside a slot."""
        async with self.slot():
            return await anyio.to_thread.run_sync(func, *args, limiter=self._threads)

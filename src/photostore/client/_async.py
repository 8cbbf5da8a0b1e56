"""The asynchronous client: the same calls sent with httpx2's ``AsyncClient``, waiting
between attempts with an injectable ``sleep`` (``anyio.sleep``: asyncio or trio)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast

import anyio
import httpx2 as httpx

from photostore.client._base import DEFAULT_TIMEOUT, ClientBase
from photostore.client._call import Call, Sink
from photostore.client.retries import Retries
from photostore.client.routes import Routes

T = TypeVar("T")


class AsyncRunner(ClientBase):
    """Runs calls as coroutines; any number may be under way at once."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retries: Retries | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(base_url, token=token, api_key=api_key, retries=retries)
        self._sleep = sleep
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, headers=headers)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncRunner:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _run(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._send(call)
            except httpx.TransportError:
                wait = self._wait_after_failure(call, attempt)
                if wait is None:
                    raise
                await self._sleep(wait)
                continue
            try:
                if response.status_code < 400:
                    return await self._read(call, response)
                error = self._error(response, await response.aread())
            finally:
                await response.aclose()
            wait = self._wait_after_error(call, attempt, error)
            if wait is None:
                raise error
            await self._sleep(wait)

    async def _send(self, call: Call[Any]) -> httpx.Response:
        with contextlib.ExitStack() as stack:
            files = stack.enter_context(call.upload.opened()) if call.upload else None
            return await self._http.send(self._request(self._http, call, files), stream=True)

    async def _read(self, call: Call[T], response: httpx.Response) -> T:
        if call.reading == "download":
            with Sink(call.destination) as sink:
                async for chunk in response.aiter_bytes():
                    sink.write(chunk)
            return cast("T", self._download(response, sink))
        await response.aread()
        return cast("T", self._decoded(call, response))

    async def _pages(
        self, build: Callable[..., Call[Any]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> AsyncIterator[Any]:
        cursor = kwargs.pop("cursor", None)
        while True:
            page = await self._run(build(*args, **kwargs, cursor=cursor))
            for item in page["items"]:
                yield item
            cursor = page["next_cursor"]
            # A list's last page has no next cursor; the change feed's end has no items.
            if cursor is None or not page["items"]:
                return


class AsyncClient(Routes, AsyncRunner):
    """The asynchronous twin of :class:`~photostore.client.Client`: the same methods,
    each returning an awaitable; ``iter_*`` are async iterators. Use it as an async
    context manager, or await :meth:`aclose`."""

    async def __aenter__(self) -> AsyncClient:
        return self

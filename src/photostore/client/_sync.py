"""The synchronous client: sends each :class:`Call` with httpx2's ``Client`` (one pool of
kept-alive connections) and sleeps between attempts with an injectable ``sleep``."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, cast

import httpx2 as httpx

from photostore.client._base import DEFAULT_TIMEOUT, ClientBase
from photostore.client._call import Call, Sink
from photostore.client.retries import Retries
from photostore.client.routes import Routes

T = TypeVar("T")


class SyncRunner(ClientBase):
    """Runs calls one after another on the calling thread."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retries: Retries | None = None,
        sleep: Callable[[float], None] = time.sleep,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(base_url, token=token, api_key=api_key, retries=retries)
        self._sleep = sleep
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers)

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> SyncRunner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _run(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send(call)
            except httpx.TransportError:
                wait = self._wait_after_failure(call, attempt)
                if wait is None:
                    raise
                self._sleep(wait)
                continue
            with contextlib.closing(response):
                if response.status_code < 400:
                    return self._read(call, response)
                error = self._error(response, response.read())
            wait = self._wait_after_error(call, attempt, error)
            if wait is None:
                raise error
            self._sleep(wait)

    def _send(self, call: Call[Any]) -> httpx.Response:
        with contextlib.ExitStack() as stack:
            files = stack.enter_context(call.upload.opened()) if call.upload else None
            return self._http.send(self._request(self._http, call, files), stream=True)

    def _read(self, call: Call[T], response: httpx.Response) -> T:
        if call.reading == "download":
            with Sink(call.destination) as sink:
                for chunk in response.iter_bytes():
                    sink.write(chunk)
            return cast("T", self._download(response, sink))
        response.read()
        return cast("T", self._decoded(call, response))

    def _pages(
        self, build: Callable[..., Call[Any]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Iterator[Any]:
        cursor = kwargs.pop("cursor", None)
        while True:
            page = self._run(build(*args, **kwargs, cursor=cursor))
            yield from page["items"]
            cursor = page["next_cursor"]
            # A list's last page has no next cursor; the change feed's end has no items.
            if cursor is None or not page["items"]:
                return


class Client(Routes, SyncRunner):
    """A photostore client for one base URL: a method for every route of the API
    (named as the OpenAPI document's operation ids), ``iter_*`` for every paged list,
    ``login``; use it as a context manager, or call :meth:`close`."""

    def __enter__(self) -> Client:
        return self

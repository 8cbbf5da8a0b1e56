"""What the synchronous and the asynchronous client share: credentials, the request a
:class:`Call` makes, whether and how long to wait before trying it again, and how an
answer becomes a result or an error. Only sending and sleeping differ (``_sync``,
``_async``)."""

from __future__ import annotations

from typing import IO, Any

import httpx2 as httpx

from photostore.client._call import Call, Download, Sink
from photostore.client.errors import ProblemError, error_for
from photostore.client.retries import RETRIED_STATUSES, Retries, parse_retry_after

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
PROBLEM_TYPES = ("application/problem+json", "application/json")


class ClientBase:
    """Credentials and the rules of requests and answers, for both clients."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        retries: Retries | None = None,
    ) -> None:
        if token is not None and api_key is not None:
            raise ValueError("give a token or an API key, not both")
        self.base_url = base_url.rstrip("/")
        # Both are bearer credentials to the server; an API key starts with psk_.
        self._credentials = token or api_key
        self.retries = retries or Retries()

    @property
    def token(self) -> str | None:
        """The bearer credentials sent with every request (a token or an API key)."""
        return self._credentials

    @token.setter
    def token(self, value: str | None) -> None:
        self._credentials = value

    def _request(
        self,
        http: httpx.Client | httpx.AsyncClient,
        call: Call[Any],
        files: dict[str, tuple[str, bytes | IO[bytes], str]] | None,
    ) -> httpx.Request:
        headers = dict(call.headers)
        if self._credentials is not None:
            headers["Authorization"] = f"Bearer {self._credentials}"
        return http.build_request(
            call.method,
            call.path,
            params=call.params,
            json=call.json,
            data=dict(call.upload.fields) if call.upload is not None else call.form,
            files=files,
            headers=headers,
        )

    def _wait_after_failure(self, call: Call[Any], attempt: int) -> float | None:
        """Seconds to wait before trying ``call`` again after its connection failed;
        None to raise the failure."""
        if attempt >= self.retries.attempts or not (call.idempotent and call.replayable):
            return None
        return self.retries.wait(attempt, None)

    def _wait_after_error(self, call: Call[Any], attempt: int, error: ProblemError) -> float | None:
        """Seconds to wait before trying ``call`` again after ``error``; None to raise it."""
        if (
            attempt >= self.retries.attempts
            or error.status not in RETRIED_STATUSES
            or not call.replayable
        ):
            return None
        return self.retries.wait(attempt, error.retry_after)

    @staticmethod
    def _error(response: httpx.Response, body: bytes) -> ProblemError:
        problem = None
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if media_type in PROBLEM_TYPES:
            try:
                document = response.json()
            except ValueError:
                document = None
            problem = document if isinstance(document, dict) else None
        text = body.decode("utf-8", "replace")
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return error_for(response.status_code, problem, text, retry_after)

    def _decoded(self, call: Call[Any], response: httpx.Response) -> Any:
        if call.reading == "text":
            return response.text
        if response.status_code == 204:
            return None
        result = response.json()
        if call.authenticates:
            self._credentials = str(result["access_token"])
        return result

    @staticmethod
    def _download(response: httpx.Response, sink: Sink) -> Download:
        return Download(
            status=response.status_code,
            content_type=response.headers.get("content-type", ""),
            byte_count=sink.count,
            etag=response.headers.get("etag"),
            content_range=response.headers.get("content-range"),
            content=sink.content(),
        )

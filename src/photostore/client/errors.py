"""The errors a photostore client raises: one class per HTTP status of a problem document.

Every error answer of photostore is an RFC 9457 problem document; the client raises it as
the class of its status, carrying the document as it came. The names end in ``Error`` so
that none reads as the server's own error of the same condition (``photostore.errors``,
which a client never imports)::

    ProblemError                    base; ``.problem`` the document, ``.status``, ``.type``,
    │                               ``.detail``, ``.request_id``, ``.retry_after``
    ├── BadRequestError             400  a request the server cannot understand
    ├── UnauthenticatedError        401  no, bad, expired or revoked credentials
    ├── ForbiddenError              403  authenticated, but missing a permission
    ├── NotFoundError               404  absent, or somebody else's
    ├── ConflictError               409  clashes with the current state
    ├── TooLargeError               413  a body over the route's limit
    ├── UnsupportedMediaTypeError   415  not an image format the server accepts
    ├── RangeNotSatisfiableError    416  a byte range outside the file
    ├── InvalidInputError           422  wrong values; ``.errors`` lists them
    ├── RateLimitedError            429  too many attempts; ``.retry_after`` seconds
    └── ServerError                 5xx  the server failed
        ├── UnavailableError        503  a dependency down or every slot busy;
        │                                ``.retry_after`` seconds
        └── InsufficientStorageError 507 no room on the server's disk

A status without a class of its own (405, a proxy's 502) raises its nearest base:
``ServerError`` from 500 up, else ``ProblemError``. An answer that is not a problem
document (a proxy's HTML page) is raised alike, with a document made from its status
and the start of its text. Transport failures (no connection, a timeout) are httpx2's
own ``TransportError``, raised once the client's retries are spent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from photostore.client.schemas import FieldProblem

_TEXT_KEPT = 500  # characters of an answer that is not a problem document


class ProblemError(Exception):
    """An error answer of the server, with its problem document in ``.problem``."""

    def __init__(self, problem: Mapping[str, Any], retry_after: float | None = None) -> None:
        self.problem: dict[str, Any] = dict(problem)
        self.status: int = int(self.problem.get("status") or 0)
        self.type: str = str(self.problem.get("type") or "about:blank")
        self.title: str = str(self.problem.get("title") or "")
        self.detail: str = str(self.problem.get("detail") or "")
        self.request_id: str | None = self.problem.get("request_id")
        # Seconds the server asked to wait before the same request (429, 503).
        self.retry_after = retry_after
        super().__init__(f"{self.status} {self.title}: {self.detail}")

    @property
    def errors(self) -> list[FieldProblem]:
        """The wrong values of a 422 (``loc``, ``msg``, ``type`` each); empty otherwise."""
        return list(self.problem.get("errors") or [])


class BadRequestError(ProblemError):
    pass


class UnauthenticatedError(ProblemError):
    pass


class ForbiddenError(ProblemError):
    pass


class NotFoundError(ProblemError):
    pass


class ConflictError(ProblemError):
    pass


class TooLargeError(ProblemError):
    pass


class UnsupportedMediaTypeError(ProblemError):
    pass


class RangeNotSatisfiableError(ProblemError):
    pass


class InvalidInputError(ProblemError):
    pass


class RateLimitedError(ProblemError):
    pass


class ServerError(ProblemError):
    pass


class UnavailableError(ServerError):
    pass


class InsufficientStorageError(ServerError):
    pass


ERROR_BY_STATUS: dict[int, type[ProblemError]] = {
    400: BadRequestError,
    401: UnauthenticatedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: TooLargeError,
    415: UnsupportedMediaTypeError,
    416: RangeNotSatisfiableError,
    422: InvalidInputError,
    429: RateLimitedError,
    503: UnavailableError,
    507: InsufficientStorageError,
}


def error_for(
    status: int, problem: Mapping[str, Any] | None, text: str, retry_after: float | None
) -> ProblemError:
    """The error to raise for an answer of ``status``: ``problem`` is its document when it
    sent one (else one is made from the status and ``text``)."""
    if problem is None:
        problem = {"status": status, "title": f"HTTP {status}", "detail": text[:_TEXT_KEPT]}
    else:
        problem = {"status": status, **problem}
    default = ServerError if status >= 500 else ProblemError
    return ERROR_BY_STATUS.get(status, default)(problem, retry_after)

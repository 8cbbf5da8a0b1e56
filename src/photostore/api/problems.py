"""Errors as RFC 9457 problem documents: one table from error type to HTTP status.

Every error answer of photostore is ``application/problem+json`` with a stable ``type``
URI (``https://photostore.dev/problems/<slug>``), a ``title``, the ``status``, a
``detail`` a user can act on and the ``request_id`` to quote in a report.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from photostore import errors

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://photostore.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

STATUS_BY_ERROR: dict[type[errors.PhotostoreError], int] = {
    errors.BadRequest: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.RangeNotSatisfiable: 416,
    errors.InvalidInput: 422,
    errors.RateLimited: 429,
    errors.Unreadable: 500,
    errors.InsufficientStorage: 507,
    errors.ServiceUnavailable: 503,
}


def status_of(error: errors.PhotostoreError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def problem_response(
    request: Request,
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)


def _headers_of(exc: errors.PhotostoreError) -> dict[str, str] | None:
    headers: dict[str, str] = {}
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, errors.RateLimited | errors.Busy | errors.DatabaseUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.size}"
    return headers or None


async def _photostore_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.PhotostoreError)
    status = status_of(exc)
    # Server-side faults (a blob failing its integrity check) are for operators to see;
    # an unavailable database was logged, as a warning, where it was met (db.errors).
    if status >= 500 and not isinstance(exc, errors.DatabaseUnavailable):
        log.error("%s: %s", exc.type, exc.detail, exc_info=exc)
    return problem_response(request, status, exc.type, exc.title, exc.detail, _headers_of(exc))


def error_response(scope: Scope, error: errors.PhotostoreError) -> JSONResponse:
    """The answer to ``error`` met outside a route, where no exception may escape: the
    audit middleware answers with it instead of the route's response when the request's
    token turns out revoked, or the database is unavailable, as its audit row is written."""
    return problem_response(
        Request(scope),
        status_of(error),
        error.type,
        error.title,
        error.detail,
        _headers_of(error),
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "loc": [str(part) for part in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    detail = "; ".join(f"{'.'.join(p['loc'])}: {p['msg']}" for p in problems[:5])
    return problem_response(request, 422, "invalid-input", "Invalid input", detail, errors=problems)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    return problem_response(
        request, exc.status_code, slug, str(exc.detail), str(exc.detail), exc.headers
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Reached from outside the routes too (an audit row that could not be written): a
    # photostore error there, the database unavailable as the row is written, answers
    # as it would from a route.
    if isinstance(exc, errors.PhotostoreError):
        return await _photostore_error(request, exc)
    log.error("unexpected error", exc_info=exc)
    return problem_response(
        request,
        500,
        "internal-error",
        "Internal error",
        "an unexpected error occurred; quote the request id when reporting it",
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.PhotostoreError, _photostore_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

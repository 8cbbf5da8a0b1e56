"""Errors as RFC 9457 problem documents: one table from error type to HTTP status.

Every error answer of photostore is ``application/problem+json`` with a stable ``type``
URI (``https://photostore.dev/problems/<slug>``), a ``title``, the ``status``, a
``detail`` a user can act on and the ``request_id`` to quote in a report.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from photostore import errors

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://photostore.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"
# Seconds a caller is asked to wait before retrying when the database is unavailable.
DATABASE_RETRY_AFTER = 1

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


async def _photostore_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.PhotostoreError)
    status = status_of(exc)
    if status >= 500:
        # Server-side faults (a blob failing its integrity check) are for operators to see.
        log.error("%s: %s", exc.type, exc.detail, exc_info=exc)
    headers: dict[str, str] = {}
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, errors.RateLimited | errors.Busy):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.size}"
    return problem_response(request, status, exc.type, exc.title, exc.detail, headers or None)


def refusal_response(scope: Scope, error: errors.Unauthenticated) -> JSONResponse:
    """The 401 the audit middleware answers with instead of a route's response when the
    request's token turns out revoked only as its audit row is written."""
    return problem_response(
        Request(scope),
        401,
        error.type,
        error.title,
        error.detail,
        {"WWW-Authenticate": "Bearer"},
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


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not serve the request (not reachable, a
    dropped connection, no pooled connection in time, a statement cancelled or a
    transaction rolled back by the server): the same request may succeed when retried."""
    if over_a_database_limit(exc):
        return False
    # The vector cache's COPY reads through psycopg itself: its errors come unwrapped.
    if isinstance(exc, sa_exc.TimeoutError | psycopg.OperationalError):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError)
    )


def over_a_database_limit(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL refusing a value over one of its limits (SQLSTATE
    class 54, "program limit exceeded": a tsvector over 1 MiB, an index row over 2,704
    bytes). psycopg files these under OperationalError, as if the server were down, but
    the same request fails the same way every time: retrying cannot help."""
    cause = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    return isinstance(cause, psycopg.errors.ProgramLimitExceeded)


def nul_in_text(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL refusing a NUL character in a text or jsonb value:
    psycopg refuses it in a text parameter before sending, the server refuses ``\\u0000``
    in jsonb (SQLSTATE 22P05, untranslatable character)."""
    cause = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    if not isinstance(cause, psycopg.DataError):
        return False
    return cause.sqlstate == "22P05" or "NUL (0x00)" in str(cause)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Reached from the route (a handler of the exception middleware) and from outside it
    # (an audit row that could not be written): both answer alike.
    if nul_in_text(exc):
        # The one place every text input ends up is PostgreSQL, which cannot store NUL;
        # mapping its refusal covers every field of every route, present and future, and
        # the transaction it happened in is rolled back whole.
        return problem_response(
            request,
            422,
            errors.InvalidInput.type,
            errors.InvalidInput.title,
            "text must not contain NUL characters (U+0000)",
        )
    if over_a_database_limit(exc):
        # A backstop: the places that can meet a limit (the search document) say which
        # one; any other is still the caller's value, never a reason to retry.
        log.warning("a value over a database limit: %s", exc.__class__.__name__)
        return problem_response(
            request,
            422,
            errors.InvalidInput.type,
            errors.InvalidInput.title,
            "a value of the request is over a size limit of the database; send less",
        )
    if database_unavailable(exc):
        log.warning("database unavailable: %s", exc)
        return problem_response(
            request,
            503,
            errors.ServiceUnavailable.type,
            errors.ServiceUnavailable.title,
            "the database is unavailable; retry shortly",
            {"Retry-After": str(DATABASE_RETRY_AFTER)},
        )
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
    app.add_exception_handler(sa_exc.DBAPIError, _unexpected_error)
    app.add_exception_handler(sa_exc.TimeoutError, _unexpected_error)
    app.add_exception_handler(psycopg.OperationalError, _unexpected_error)
    app.add_exception_handler(Exception, _unexpected_error)

"""The OpenAPI document as the server really answers: every error a route can give, as
the RFC 9457 problem document it sends, and names a client generator can use.

FastAPI declares one error answer, a 422 with a body shape photostore never sends
(``HTTPValidationError``), and none of the others; a client generated from that document
crashes on the first problem document it meets. :func:`complete_document` rewrites the
document FastAPI made, by construction from each route's declaration, so a new route is
described without a list to keep:

- every answer is declared with the ``Problem`` schema under ``application/problem+json``:
  400 (a query parameter the route does not take) and 503 (the database unavailable,
  with ``Retry-After``) on every route; 401 where the route takes credentials; 403 with
  the permission a route requires; 404 where the path names something; 409, 413, 415 and
  422 where a request carries a body or parameters; 416 and 500 (stored data failing
  its check) where a stored file is read; 429 on the sign-in routes; 507 where a file is
  uploaded;
- the permission a route requires is said in its description and in
  ``x-required-permission``;
- operation ids are the route functions' names (``upload_image``), unique by a test.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.routing import BaseRoute

from photostore.api.deps import Requires
from photostore.api.problems import PROBLEM_BASE, PROBLEM_CONTENT_TYPE

_WRITES: Final = frozenset({"post", "put", "patch"})
_METHODS: Final = ("get", "post", "put", "patch", "delete")
_SIGN_IN_PATHS: Final = frozenset({"/v1/auth/token", "/v1/auth/refresh", "/v1/users/me/password"})
_STORED_FILE_SUFFIXES: Final = ("/content", "/thumbnail")
_FASTAPI_VALIDATION_SCHEMAS: Final = ("HTTPValidationError", "ValidationError")
_RETRY_AFTER: Final = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 0},
    }
}


class FieldProblem(BaseModel):
    """One wrong value of a 422: where it is, what is wrong, and the kind of error."""

    loc: list[str] = Field(description="The path to the value: body, items, 3, values")
    msg: str
    type: str


class Problem(BaseModel):
    """An error answer (RFC 9457): every answer of photostore that is not a success."""

    type: str = Field(description=f"A stable URI naming the problem, {PROBLEM_BASE}<slug>")
    title: str = Field(description="A short summary of the problem type")
    status: int = Field(description="The HTTP status of the answer")
    detail: str = Field(description="What went wrong, in words a caller can act on")
    instance: str = Field(description="The path of the request")
    request_id: str | None = Field(description="The id to quote when reporting the problem")
    errors: list[FieldProblem] | None = Field(
        default=None, description="On a 422 of a request's shape: every wrong value"
    )


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route of an application's route list, through included routers."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)
        elif isinstance(route, APIRoute):
            yield route


def operation_id(route: APIRoute) -> str:
    """A route's operation id: the name of its function (``upload_image``)."""
    return route.name


def _permission(route: APIRoute) -> str | None:
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if isinstance(dependency.call, Requires):
            return dependency.call.permission.value
        pending.extend(dependency.dependencies)
    return None


def _answer(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if retry_after:
        answer["headers"] = _RETRY_AFTER
    return answer


def _error_answers(
    path: str, method: str, operation: dict[str, Any], permission: str | None
) -> dict[str, dict[str, Any]]:
    """The error answers of one operation, by status, from what it declares."""
    body = "requestBody" in operation
    content = operation.get("requestBody", {}).get("content", {})
    answers = {"400": _answer("A query parameter the route does not take, or a malformed request")}
    if operation.get("security") or path in _SIGN_IN_PATHS:
        answers["401"] = _answer("No credentials, or credentials that are not valid (any more)")
    if permission is not None:
        answers["403"] = _answer(f"The caller lacks the {permission!r} permission")
    if "{" in path:
        answers["404"] = _answer("Not found, or not the caller's")
    if method in _WRITES and path.startswith("/v1/"):
        answers["409"] = _answer("Clashes with the current state (a name taken, a redefinition)")
    if body:
        answers["413"] = _answer("The body is over its limit")
        answers["415"] = _answer("The body is not of a type the route takes")
    if body or operation.get("parameters"):
        answers["422"] = _answer("Well-formed, but a value is wrong (named in the detail)")
    if path.endswith(_STORED_FILE_SUFFIXES):
        answers["416"] = _answer("The range lies outside the file")
        answers["500"] = _answer("The stored file fails its integrity check (unreadable-data)")
    if path in _SIGN_IN_PATHS:
        answers["429"] = _answer("Too many failed attempts", retry_after=True)
    answers["503"] = _answer(
        "The database or another part is unavailable, or every slot is busy", retry_after=True
    )
    if "multipart/form-data" in content:
        answers["507"] = _answer("Not enough free disk space to store the file")
    return answers


def complete_document(document: dict[str, Any], routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """Rewrite ``document`` (FastAPI's, for ``routes``) in place as described above."""
    by_id = {operation_id(route): route for route in api_routes(routes)}
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs"))
    schemas["Problem"] = problem
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            permission = _permission(by_id[operation["operationId"]])
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status, answer in _error_answers(path, method, operation, permission).items():
                responses.setdefault(status, answer)
            if permission is not None:
                operation["x-required-permission"] = permission
                said = f"Requires the `{permission}` permission."
                operation["description"] = (
                    f"{operation['description']}\n\n{said}"
                    if operation.get("description")
                    else said
                )
    return document

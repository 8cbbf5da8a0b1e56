"""The route table of the application, read from its OpenAPI document.

Tests that must cover every route (isolation matrix, documentation check) take the list
from here, so a new route is covered the moment it exists.
"""

from __future__ import annotations

from fastapi import FastAPI

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def api_operations(app: FastAPI) -> list[tuple[str, str]]:
    """Every (METHOD, path template) the application serves, sorted."""
    operations: list[tuple[str, str]] = []
    for path, item in app.openapi()["paths"].items():
        operations.extend((method.upper(), path) for method in HTTP_METHODS if method in item)
    return sorted(operations)

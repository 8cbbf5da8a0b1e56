"""How the routes are built: every endpoint and dependency runs on the event loop."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from photostore.app import create_app
from photostore.config import Settings
from tests.routes import api_operations


def _on_the_loop(call: Any) -> bool:
    """A coroutine function, or an object whose ``__call__`` is one (security schemes)."""
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004 - a callable object's own method
    )


def _api_routes(routes: Sequence[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, also those of included routers (kept apart since FastAPI 0.16x)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


def _threaded(dependant: Dependant) -> list[str]:
    found = []
    for sub in dependant.dependencies:
        if not _on_the_loop(sub.call):
            found.append(getattr(sub.call, "__qualname__", repr(sub.call)))
        found += _threaded(sub)
    return found


def test_no_endpoint_or_dependency_is_handed_to_a_worker_thread() -> None:
    """FastAPI runs a plain ``def`` endpoint or dependency in a worker thread: a thread
    hop per call (measured: three of them cost 1-1.7 ms of a 12.5-14.4 ms search).
    Blocking work belongs in an explicit ``anyio.to_thread`` call instead."""
    app = create_app(Settings(environment="test", database_url="postgresql+psycopg://u@/d"))
    routes = list(_api_routes(app.routes))
    assert len(routes) == len(api_operations(app))  # every route was looked at
    threaded = []
    for route in routes:
        if not _on_the_loop(route.endpoint):
            threaded.append(f"{route.path}: {route.endpoint.__qualname__}")
        threaded += [f"{route.path}: {name}" for name in _threaded(route.dependant)]
    assert threaded == []

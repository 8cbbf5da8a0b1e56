"""One definition of each route for both clients.

A route is a function from the method's arguments to a :class:`Call`, decorated with
:func:`route`. Read from a :class:`~photostore.client.Client` it is a method returning
the result; from an :class:`~photostore.client.AsyncClient` a method returning an
awaitable of it, so the two clients cannot drift apart. :class:`Pager` makes the
iterator of every item of a paged route, a generator or an async generator alike.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from photostore.client._call import Call
from photostore.client.schemas import Page

if TYPE_CHECKING:
    from photostore.client._async import AsyncRunner
    from photostore.client._sync import SyncRunner

P = ParamSpec("P")
T = TypeVar("T")


class Route(Generic[P, T]):
    """A route method of both clients, built from its :class:`Call` factory."""

    def __init__(self, build: Callable[P, Call[T]]) -> None:
        self.build = build
        self.name = build.__name__
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, obj: None, owner: type[object]) -> Route[P, T]: ...
    @overload
    def __get__(self, obj: SyncRunner, owner: type[object]) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, obj: AsyncRunner, owner: type[object]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, obj: object, owner: type[object]) -> object:
        if obj is None:
            return self
        run = obj._run  # type: ignore[attr-defined]  # every runner has one; see above
        build = self.build

        @functools.wraps(build)
        def method(*args: P.args, **kwargs: P.kwargs) -> object:
            return run(build(*args, **kwargs))

        return method


def route(build: Callable[P, Call[T]]) -> Route[P, T]:
    """Make ``build`` (no ``self``: it only describes the request) a route method."""
    return Route(build)


class Pager(Generic[P, T]):
    """Every item of a paged route, page after page: the route's arguments, and a
    ``cursor`` to start from the page it names."""

    def __init__(self, paged: Route[P, Page[T]]) -> None:
        self.route = paged
        self.__doc__ = f"Every item that ``{paged.name}`` lists, fetching page after page."

    @overload
    def __get__(self, obj: None, owner: type[object]) -> Pager[P, T]: ...
    @overload
    def __get__(self, obj: SyncRunner, owner: type[object]) -> Callable[P, Iterator[T]]: ...
    @overload
    def __get__(self, obj: AsyncRunner, owner: type[object]) -> Callable[P, AsyncIterator[T]]: ...
    def __get__(self, obj: object, owner: type[object]) -> object:
        if obj is None:
            return self
        pages = obj._pages  # type: ignore[attr-defined]  # every runner has one
        build = self.route.build

        def method(*args: P.args, **kwargs: P.kwargs) -> object:
            return pages(build, args, kwargs)

        method.__doc__ = self.__doc__
        return method

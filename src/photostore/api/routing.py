"""The route class of every photostore route: the caller authenticated before the body is
read, and a body FastAPI parses bounded by its route's limit.

FastAPI reads and parses a declared body (JSON, form) before it resolves a single
dependency, authentication included, and reads it whole: an anonymous 40 MiB POST cost
about 200 MB of memory before its 401. A :class:`GuardedRoute` runs first:

1. If the route's dependencies authenticate the caller, the credentials are verified
   (a token's signature, expiry and claims; an API key against its hash) before a byte
   of the body is read; a route that needs a caller answers 401 to none. The dependency
   then answers from that result (``api.deps``). What only the database knows of an
   access token (not revoked) is confirmed by the request's first transaction
   (``db.request``), after the body: a revoked token whose signature is valid may have
   a body read, within its route's limit, before its 401.
2. A body FastAPI parses is read only up to :data:`ANONYMOUS_BODY_BYTES` on a route an
   anonymous caller may reach (login, refresh, sign-up) and ``max_json_body_bytes``
   on the others; past it, 413 from ``Content-Length`` or as soon as the stream passes
   it. Routes that read their body themselves (uploads, bulk vector writes) stream it
   under limits of their own, after their dependencies.
3. A query parameter the route does not declare is answered 400 naming it, after the
   caller is known and before any work: ``?camera_make=`` on a route that has no such
   filter would otherwise be ignored, and the caller would take the unfiltered answer
   for the filtered one.

Every router of ``photostore.api`` is made with ``route_class=GuardedRoute``; a test fails
for a route that is not one.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any, Final

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive

from photostore.api.bodies import read_body
from photostore.api.deps import Requires, authenticate, current_principal, optional_principal
from photostore.errors import BadRequest

#: The largest body of a route an anonymous caller may reach: a login form (320 + 1,024
#: characters at most), a refresh token (4,096), a sign-up (an email and a password).
ANONYMOUS_BODY_BYTES: Final = 16 * 1024

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every callable in ``dependant``'s tree of dependencies."""
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _query_names(dependant: Dependant) -> Iterator[str]:
    """The query parameters ``dependant`` and its dependencies declare, by their names in
    the URL."""
    for param in dependant.query_params:
        yield param.alias
    for sub in dependant.dependencies:
        yield from _query_names(sub)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over ``body`` whole, then waits as ``receive`` does (for the
    client's disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class GuardedRoute(APIRoute):
    """An ``APIRoute`` that authenticates, then bounds the body, before FastAPI reads it."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        calls = set(_calls(self.dependant))
        needs_caller = current_principal in calls or any(isinstance(c, Requires) for c in calls)
        authenticates = needs_caller or optional_principal in calls
        parses_body = self.body_field is not None
        known_query = frozenset(_query_names(self.dependant))

        async def guarded(request: Request) -> Response:
            if authenticates:
                caller = await authenticate(request)
                if needs_caller and caller is None:
                    await current_principal(request, None)  # the route's 401
            unknown = sorted(set(request.query_params) - known_query)
            if unknown:
                raise BadRequest(
                    f"unknown query parameter{'s' if len(unknown) > 1 else ''}: "
                    + ", ".join(repr(name) for name in unknown)
                    + (
                        f"; this route takes {', '.join(sorted(known_query))}"
                        if known_query
                        else "; this route takes none"
                    )
                )
            if parses_body:
                limit = (
                    request.app.state.ctx.settings.max_json_body_bytes
                    if needs_caller
                    else ANONYMOUS_BODY_BYTES
                )
                body = await read_body(request, limit)
                request = Request(request.scope, _replaying(bytes(body), request.receive))
            return await handler(request)

        return guarded

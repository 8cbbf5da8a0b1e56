"""Automatic audit: one row for every request an authenticated principal makes.

This sits in the ASGI stack around every route, including routes added later: it needs
no cooperation from a handler, so no route can forget to audit. Authentication
(``api.deps``) and the login routes put an :class:`AuditSubject` in the request state;
when the response starts, the row is written *before* the first byte goes out, so a
response is never sent for an operation whose audit row failed (that request becomes a
500). Requests without a subject (health checks, metrics, unauthenticated calls) are not
audited: they touch no user's data.

The row goes into the request's read-only unit of work when it has one, committed with
it in one round trip; otherwise into a transaction of its own (``db.request``). That
transaction also confirms a token nothing had checked yet (a request that ran no
transaction); a token it finds revoked is answered with a 401 instead of the route's
response, and no row is written: the request was not authenticated after all.

A row the database is unavailable to take (down, restarting: the very fault the route may
be answering 503 for) is answered with 503 and Retry-After instead of the route's
response, and logged as a warning with what the row would have held: the caller retries,
and the retry is audited. Both answers are sent from here, by ``answer``: an error raised
from a send would reach the caller as a 500 (the route's error handling takes the response
as started once it has asked to send it).

A stream whose chunks are checked as they go out (a stored file:
``api.blob_responses``) asks for its row at its end instead (:func:`audit_at_end`): the
middleware holds back each body message until the next one comes, writes the row when
the last has been produced, and only then sends the held bytes. So a stream cut short
by a chunk that failed its check records the failure (500), not the 200 its headers
said; a stream whose row cannot be written loses its last bytes, so no stored file is
sent whole without its row, except when the database is unavailable to take it (down or
restarting since the headers went out): the file is then sent whole and its row logged
as a warning, as the 503 above is; and a stream its client walked away from records the
status it had started with.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from photostore.db.request import RequestState, audit_request_for, begin_request
from photostore.errors import DatabaseUnavailable, PhotostoreError, Unauthenticated
from photostore.services.audit import AuditEvent, AuditService, AuditSubject

log = logging.getLogger(__name__)

SUBJECT_KEY = "audit_subject"
DECOY_KEY = "audit_decoy"
REQUEST_KEY = "audit_request"
AT_END_KEY = "audit_at_end"


def set_audit_subject(state: Any, subject: AuditSubject) -> None:
    """Name whom this request is audited against (``state`` is ``request.state``)."""
    setattr(state, SUBJECT_KEY, subject)
    audit_request_for(subject.owner_id)


def request_decoy_audit(state: Any) -> None:
    """Ask for a write as costly as an audit row, but of nothing (see AuditService.decoy)."""
    setattr(state, DECOY_KEY, True)


def audit_at_end(state: Any) -> None:
    """Write this request's row as its body ends, with the result of the whole stream
    (see the module's notes; ``state`` is ``request.state``)."""
    setattr(state, AT_END_KEY, True)


class _RowAtEnd:
    """Sends a response whose audit row is written as it ends (see the module's notes)."""

    def __init__(self, send: Send, record: Callable[[int], Awaitable[None]]) -> None:
        self._send = send
        self._record = record
        self._started = 500
        self._held: Message | None = None
        self._recorded = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._started = message["status"]
        elif message.get("more_body", False):
            held, self._held = self._held, message
            if held is None:
                return
            message = held
        else:
            await self._end(self._started)
            if self._held is not None:
                await self._send(self._held)
        await self._send(message)

    async def end_left(self) -> None:
        """The stream stopped without failing (its client left): it served until then."""
        await self._end(self._started)

    async def end_failed(self, exc: BaseException) -> None:
        left = isinstance(exc, ClientDisconnect | OSError)
        await self._end(self._started if left else 500)

    async def _end(self, status: int) -> None:
        if not self._recorded:
            self._recorded = True
            # A client that leaves as the row is written cancels the stream's task (the
            # response's watch for a disconnect): the row is written all the same.
            with anyio.CancelScope(shield=True):
                try:
                    await self._record(status)
                except DatabaseUnavailable:
                    # Logged with what the row would have held. The headers went out
                    # before the database went away: cutting the file now would turn a
                    # restart into broken downloads, and a retry would read it again.
                    return


class AuditMiddleware:
    def __init__(self, app: ASGIApp, answer: Callable[[Scope, PhotostoreError], Response]) -> None:
        self.app = app
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = begin_request()
        scope.setdefault("state", {})[REQUEST_KEY] = request
        db = scope["app"].state.ctx.db
        recorded = replaced = False
        at_end: _RowAtEnd | None = None

        async def send_audited(message: Message) -> None:
            nonlocal recorded, replaced, at_end
            if replaced:
                return
            if message["type"] == "http.response.start" and scope["state"].get(AT_END_KEY):
                at_end = _RowAtEnd(
                    send, lambda status: self._record(scope, status, [], "the file was sent")
                )
                recorded = True  # by at_end, which the lines below leave alone
            if at_end is not None:
                await at_end.send(message)
                return
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                try:
                    await self._record(scope, message["status"], message.get("headers", []))
                except (Unauthenticated, DatabaseUnavailable) as error:
                    replaced = True
                    await self.answer(scope, error)(scope, receive, send)
                    return
            await send(message)

        try:
            await self.app(scope, receive, send_audited)
            if at_end is not None:
                await at_end.end_left()  # the client left and the stream was cancelled
        except BaseException as exc:
            if at_end is not None:
                await at_end.end_failed(exc)
            elif not recorded:
                recorded = True
                await self._record(scope, 500, [])
            raise
        finally:
            # A transaction parked for an audit row that was never written.
            await db.end_parked(request, commit=False)

    async def _record(
        self, scope: Scope, status: int, headers: list[Any], unwritten: str = "answered 503"
    ) -> None:
        state = scope.get("state", {})
        subject: AuditSubject | None = state.get(SUBJECT_KEY)
        audit = AuditService(scope["app"].state.ctx)
        request: RequestState | None = state.get(REQUEST_KEY)
        if subject is not None and request is not None and request.check_failed:
            return  # the token was never confirmed: the request was not authenticated
        if subject is None:
            if state.get(DECOY_KEY):
                await audit.decoy()
            return
        target_type, target_id = _target(scope, headers)
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        event = AuditEvent(
            action=f"{scope['method']} {template}",
            target_type=target_type,
            target_id=target_id,
            result=status,
            request_id=state.get("request_id"),
        )
        try:
            await audit.record(subject, event)
        except DatabaseUnavailable:
            log.warning(
                "audit row not written, the database is unavailable: %s for %s, status %d, "
                "request %s (%s)",
                event.action,
                subject.owner_id,
                status,
                event.request_id,
                unwritten,
            )
            raise


def _target(scope: Scope, headers: list[Any]) -> tuple[str | None, str | None]:
    """The most specific id in the path; else what a ``Location`` header points at;
    else the resource collection (``images``) with no id."""
    params: dict[str, Any] = scope.get("path_params") or {}
    if params:
        name, value = list(params.items())[-1]
        return name.removesuffix("_id"), str(value)
    parts = [p for p in str(scope.get("path", "")).split("/") if p and p != "v1"]
    for key, value in headers:
        if key.lower() == b"location":
            last = value.decode("latin-1").rstrip("/").rsplit("/", 1)[-1]
            try:
                return (parts[0] if parts else None), str(uuid.UUID(last))
            except ValueError:
                break
    return (parts[0] if parts else None), None

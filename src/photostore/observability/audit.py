"""Automatic audit: one row for every request an authenticated principal makes.

This sits in the ASGI stack around every route, including routes added later: it needs
no cooperation from a handler, so no route can forget to audit. Authentication
(``api.deps``) and the login routes put an :class:`AuditSubject` in the request state;
when the response starts, the row is written *before* the first byte goes out, so a
response is never sent for an operation whose audit row failed (that request becomes a
500). Requests without a subject (health checks, metrics, unauthenticated calls) are not
audited: they touch no user's data.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from photostore.services.audit import AuditEvent, AuditService, AuditSubject

log = logging.getLogger(__name__)

SUBJECT_KEY = "audit_subject"
DECOY_KEY = "audit_decoy"


def set_audit_subject(state: Any, subject: AuditSubject) -> None:
    """Name whom this request is audited against (``state`` is ``request.state``)."""
    setattr(state, SUBJECT_KEY, subject)


def request_decoy_audit(state: Any) -> None:
    """Ask for a write as costly as an audit row, but of nothing (see AuditService.decoy)."""
    setattr(state, DECOY_KEY, True)


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        recorded = False

        async def send_audited(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                await self._record(scope, message["status"], message.get("headers", []))
            await send(message)

        try:
            await self.app(scope, receive, send_audited)
        except BaseException:
            if not recorded:
                recorded = True
                await self._record(scope, 500, [])
            raise

    async def _record(self, scope: Scope, status: int, headers: list[Any]) -> None:
        state = scope.get("state", {})
        subject: AuditSubject | None = state.get(SUBJECT_KEY)
        audit = AuditService(scope["app"].state.ctx)
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
        await audit.record(subject, event)


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

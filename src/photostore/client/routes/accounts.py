"""Health, accounts, sign-in, API keys, the audit trail and the admin routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from photostore.client._call import Call, Id, query, segment
from photostore.client._route import route
from photostore.client.schemas import (
    AccountPage,
    ApiKeyCreated,
    ApiKeyList,
    AuditPageOut,
    ServiceKeyList,
    SignupAccepted,
    StatsOut,
    TokenOut,
    UserOut,
)


class AccountRoutes:
    @route
    def healthz() -> Call[dict[str, str]]:
        """The process is up."""
        return Call("GET", "/healthz")

    @route
    def readyz() -> Call[dict[str, Any]]:
        """The database answers; :class:`UnavailableError` when it does not."""
        return Call("GET", "/readyz")

    @route
    def metrics() -> Call[str]:
        """The Prometheus metrics of the process that answered, as text."""
        return Call("GET", "/metrics", reading="text")

    @route
    def create_user(
        email: str, password: str, *, role: Literal["user", "admin"] | None = None
    ) -> Call[UserOut | SignupAccepted]:
        """A new account: its record (201), or, under sign-up by email confirmation,
        ``SignupAccepted`` (202)."""
        body = {"email": email, "password": password}
        return Call("POST", "/v1/users", json=body if role is None else {**body, "role": role})

    @route
    def issue_token(email: str, password: str) -> Call[TokenOut]:
        """Tokens for an email and password; the client's credentials stay as they are
        (:meth:`login` takes them up)."""
        return Call("POST", "/v1/auth/token", form={"username": email, "password": password})

    @route
    def login(email: str, password: str) -> Call[TokenOut]:
        """Sign in: the access token issued becomes the client's credentials."""
        form = {"username": email, "password": password}
        return Call("POST", "/v1/auth/token", form=form, authenticates=True)

    @route
    def refresh_token(refresh_token: str) -> Call[TokenOut]:
        return Call("POST", "/v1/auth/refresh", form={"refresh_token": refresh_token})

    @route
    def logout() -> Call[None]:
        """Revoke every token of the account issued so far."""
        return Call("POST", "/v1/auth/logout")

    @route
    def read_me() -> Call[UserOut]:
        return Call("GET", "/v1/users/me")

    @route
    def delete_me() -> Call[None]:
        """Delete the account and every photo and row of it, for good."""
        return Call("DELETE", "/v1/users/me")

    @route
    def change_password(current_password: str, new_password: str) -> Call[None]:
        body = {"current_password": current_password, "new_password": new_password}
        return Call("POST", "/v1/users/me/password", json=body)

    @route
    def read_my_audit_trail(
        *, limit: int | None = None, cursor: str | None = None
    ) -> Call[AuditPageOut]:
        return Call("GET", "/v1/users/me/audit", params=query(limit=limit, cursor=cursor))

    @route
    def list_api_keys() -> Call[ApiKeyList]:
        return Call("GET", "/v1/api-keys")

    @route
    def create_api_key(
        name: str,
        *,
        kind: Literal["user", "service"] | None = None,
        scopes: list[str] | None = None,
        expires_at: datetime | str | None = None,
    ) -> Call[ApiKeyCreated]:
        """A new key; its secret (``key``) is in this answer only."""
        body: dict[str, Any] = {"name": name}
        if kind is not None:
            body["kind"] = kind
        if scopes is not None:
            body["scopes"] = scopes
        if expires_at is not None:
            body["expires_at"] = (
                expires_at.isoformat() if isinstance(expires_at, datetime) else expires_at
            )
        return Call("POST", "/v1/api-keys", json=body)

    @route
    def revoke_api_key(key_id: Id) -> Call[None]:
        return Call("DELETE", f"/v1/api-keys/{segment(key_id)}")

    @route
    def list_accounts(*, limit: int | None = None, cursor: str | None = None) -> Call[AccountPage]:
        """Every account (admin)."""
        return Call("GET", "/v1/admin/users", params=query(limit=limit, cursor=cursor))

    @route
    def service_stats() -> Call[StatsOut]:
        return Call("GET", "/v1/admin/stats")

    @route
    def list_service_keys() -> Call[ServiceKeyList]:
        return Call("GET", "/v1/admin/service-keys")

    @route
    def revoke_service_key(service_key_id: Id) -> Call[None]:
        return Call("DELETE", f"/v1/admin/service-keys/{segment(service_key_id)}")

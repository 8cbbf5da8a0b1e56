"""Bodies of the user and token routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from photostore.domain.users import User


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, examples=["ada@example.org"])
    password: str = Field(min_length=8, max_length=1024)
    role: Literal["user", "admin"] = "user"


class SignupAccepted(BaseModel):
    """The answer to an open sign-up, the same whether or not the email was free."""

    email: str = Field(description="The email as stored and looked up (trimmed, lower-case, NFC)")
    detail: str = Field(
        default="if this email had no account, it has one now: log in to continue",
    )


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    role: str
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(id=user.id, email=user.email, role=user.role, created_at=user.created_at)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str = Field(description="Exchange at POST /v1/auth/refresh for new tokens")

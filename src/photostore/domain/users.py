"""Accounts: who may log in, with which role, and since when."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Account:
    """The columns of an account a principal is made of: read for every request a token
    authenticates, and for the user a service key's request names."""

    id: uuid.UUID
    email: str
    role: str
    token_version: int


@dataclass(frozen=True, slots=True)
class User:
    """An account. Its id is the ``owner_id`` of everything the user stores; its password
    hash is not part of it (:class:`Credentials`), so no caller handing a user on can
    leak one."""

    id: uuid.UUID
    email: str
    role: str
    token_version: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Credentials:
    """An account and the hash its password is checked against."""

    user: User
    password_hash: str

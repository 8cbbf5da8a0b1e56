"""The rows of ``users`` (and the account's data key, destroyed when it is deleted), in
the transaction of the caller: the system context for login and administration, the
user's own for everything the account does to itself."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, RowMapping, bindparam, delete, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db import models
from photostore.domain.users import Account, Credentials, User
from photostore.errors import Conflict, NotFound

_USERS = models.User.metadata.tables[models.User.__tablename__]
# The columns of an account a principal is made of, by ``user_id``. Every authenticated
# request reads them, so the statement is built once, of table columns (a mapped User
# loaded per request cost 0.3 ms more).
_ACCOUNT_BY_ID = select(_USERS.c.id, _USERS.c.email, _USERS.c.role, _USERS.c.token_version).where(
    _USERS.c.id == bindparam("user_id")
)

# Every column but the password hash, which only a credentials check reads.
_COLUMNS = (
    models.User.id,
    models.User.email,
    models.User.role,
    models.User.token_version,
    models.User.created_at,
)


class UserRepository:
    """Accounts, read and written in ``session``'s transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, user_id: uuid.UUID, email: str, password_hash: str, role: str) -> User:
        """Store a new account; an email already in use is a :class:`Conflict`."""
        try:
            row = (
                await self._session.execute(
                    insert(models.User)
                    .values(id=user_id, email=email, password_hash=password_hash, role=role)
                    .returning(*_COLUMNS)
                )
            ).one()
        except IntegrityError as exc:
            # The unique index on the email is the one constraint a new account can
            # break: its id is new and its role one of the enum's.
            raise Conflict("an account with this email already exists") from exc
        return _user(row._mapping)

    async def get(self, user_id: uuid.UUID) -> User:
        """The account ``user_id``; NotFound if there is none."""
        row = (
            await self._session.execute(select(*_COLUMNS).where(models.User.id == user_id))
        ).first()
        if row is None:
            raise NotFound("no such user")
        return _user(row._mapping)

    async def credentials(self, user_id: uuid.UUID) -> Credentials:
        """The account ``user_id`` and its password hash; NotFound if there is none."""
        found = await self._credentials(models.User.id == user_id)
        if found is None:
            raise NotFound("no such user")
        return found

    async def credentials_by_email(self, email: str) -> Credentials | None:
        """The account of the (normalized) email and its password hash, if there is one."""
        return await self._credentials(models.User.email == email)

    async def account(self, user_id: uuid.UUID) -> Account | None:
        """What a principal of ``user_id`` is made of, if the account exists."""
        row = (await self._session.execute(_ACCOUNT_BY_ID, {"user_id": user_id})).first()
        return None if row is None else Account(**row._mapping)

    async def page(self, limit: int, after: tuple[datetime, uuid.UUID] | None) -> list[User]:
        """At most ``limit`` accounts, oldest first, from the one after ``after``
        (``created_at``, ``id``) on."""
        stmt = select(*_COLUMNS)
        if after is not None:
            stmt = stmt.where(tuple_(models.User.created_at, models.User.id) > tuple_(*after))
        stmt = stmt.order_by(models.User.created_at, models.User.id).limit(limit)
        return [_user(row._mapping) for row in await self._session.execute(stmt)]

    async def ids(self, among: Collection[uuid.UUID] | None = None) -> list[uuid.UUID]:
        """Every account's id (of those ``among``, when given), in id order."""
        stmt = select(models.User.id).order_by(models.User.id)
        if among is not None:
            stmt = stmt.where(models.User.id.in_(set(among)))
        return list(await self._session.scalars(stmt))

    async def roles(self) -> list[tuple[uuid.UUID, str]]:
        """Every account's id and role."""
        rows = await self._session.execute(select(models.User.id, models.User.role))
        return [(user_id, role) for user_id, role in rows]

    async def revoke_tokens(self, user_id: uuid.UUID) -> None:
        """Invalidate every token issued to the account so far."""
        await self._session.execute(
            update(models.User)
            .where(models.User.id == user_id)
            .values(token_version=models.User.token_version + 1)
        )

    async def set_password(self, user_id: uuid.UUID, password_hash: str) -> None:
        """Store a new password hash, invalidating every token issued so far."""
        await self._session.execute(
            update(models.User)
            .where(models.User.id == user_id)
            .values(password_hash=password_hash, token_version=models.User.token_version + 1)
        )

    async def delete_data_key(self, user_id: uuid.UUID) -> None:
        """Destroy the account's data key: its blobs can no longer be decrypted."""
        await self._session.execute(
            delete(models.UserKey).where(models.UserKey.owner_id == user_id)
        )

    async def delete(self, user_id: uuid.UUID) -> None:
        """Delete the account; its tenant rows go with it (``ON DELETE CASCADE``)."""
        await self._session.execute(delete(models.User).where(models.User.id == user_id))

    async def _credentials(self, where: ColumnElement[bool]) -> Credentials | None:
        row = (
            await self._session.execute(select(*_COLUMNS, models.User.password_hash).where(where))
        ).first()
        if row is None:
            return None
        return Credentials(user=_user(row._mapping), password_hash=row.password_hash)


def _user(row: RowMapping) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        role=row["role"],
        token_version=row["token_version"],
        created_at=row["created_at"],
    )

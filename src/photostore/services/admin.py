"""What admins see: the accounts and service-wide figures, never photos or their metadata.

Figures are summed user by user, each in a transaction scoped to that user: no query
crosses the row-level-security wall, so no admin-only database context has to exist
that could read every user's rows. The cost is one short query per user, fine for the
accounts one photostore holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, tuple_

from photostore.db.models import Image, User
from photostore.services.context import ServiceContext
from photostore.services.pagination import check_limit, decode_cursor, encode_cursor


@dataclass(frozen=True)
class UserPage:
    items: list[User]
    next_cursor: str | None


@dataclass(frozen=True)
class ServiceStats:
    users: int
    admins: int
    images: int
    image_bytes: int


class AdminService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def users(self, limit: int, cursor: str | None) -> UserPage:
        """Accounts, oldest first, in keyset pages."""
        check_limit(limit)
        stmt = select(User)
        if cursor is not None:
            created, last_id = decode_cursor(cursor)
            stmt = stmt.where(tuple_(User.created_at, User.id) > tuple_(created, last_id))
        stmt = stmt.order_by(User.created_at, User.id).limit(limit + 1)
        async with self.ctx.db.for_system() as session:
            rows = list((await session.scalars(stmt)).all())
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1] if more else None
        return UserPage(
            items=rows,
            next_cursor=encode_cursor(last.created_at, last.id) if last is not None else None,
        )

    async def stats(self) -> ServiceStats:
        async with self.ctx.db.for_system() as session:
            accounts = list((await session.execute(select(User.id, User.role))).all())
        images = image_bytes = 0
        for user_id, _role in accounts:
            async with self.ctx.db.for_user(user_id) as session:
                count, size = (
                    await session.execute(
                        select(func.count(), func.coalesce(func.sum(Image.byte_size), 0)).where(
                            Image.owner_id == user_id
                        )
                    )
                ).one()
            images += int(count)
            image_bytes += int(size)
        return ServiceStats(
            users=len(accounts),
            admins=sum(1 for _, role in accounts if role == "admin"),
            images=images,
            image_bytes=image_bytes,
        )

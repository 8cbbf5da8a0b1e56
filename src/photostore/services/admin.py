"""What admins see: the accounts and service-wide figures, never photos or their metadata.

Figures are summed user by user, each in a transaction scoped to that user: no query
crosses the row-level-security wall, so no admin-only database context has to exist
that could read every user's rows. The cost is one short query per user, fine for the
accounts one photostore holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from photostore.db.repositories.figures import image_totals
from photostore.db.repositories.users import UserRepository
from photostore.domain.users import User
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
        after = decode_cursor(cursor) if cursor is not None else None
        async with self.ctx.db.for_system() as session:
            rows = await UserRepository(session).page(limit + 1, after)
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1] if more else None
        return UserPage(
            items=rows,
            next_cursor=encode_cursor(last.created_at, last.id) if last is not None else None,
        )

    async def stats(self) -> ServiceStats:
        async with self.ctx.db.for_system() as session:
            accounts = await UserRepository(session).roles()
        images = image_bytes = 0
        for user_id, _role in accounts:
            async with self.ctx.db.for_user(user_id) as session:
                count, size = await image_totals(session, user_id)
            images += count
            image_bytes += size
        return ServiceStats(
            users=len(accounts),
            admins=sum(1 for _, role in accounts if role == "admin"),
            images=images,
            image_bytes=image_bytes,
        )

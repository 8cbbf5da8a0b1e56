"""Helpers of the database tests: a ``Database`` of one pooled connection, and the tags
a user can see, read outside the code under test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from photostore.db.session import Database, make_engine
from tests.conftest import Account, ScratchDatabase

T = TypeVar("T")


def with_db(database: ScratchDatabase, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` on a ``Database`` of one pooled connection (so each unit of work
    reuses the connection the previous one returned)."""

    async def run() -> T:
        db = Database(make_engine(database.app_url, pool_size=1))
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def tag_names(database: ScratchDatabase, owner: Account) -> set[str]:
    """The names of ``owner``'s tags, on a bare connection scoped to them."""
    with database.app_connect() as conn, conn.transaction():
        conn.execute("SELECT set_config('app.user_id', %s, true)", (str(owner.id),))
        return {row[0] for row in conn.execute("SELECT name FROM tags").fetchall()}

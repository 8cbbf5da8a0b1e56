"""Units of work through ``Database``: one transaction each, opened and scoped by one
statement, committed on success, rolled back on error, and nothing of the scope or the
transaction left on the pooled connection afterwards."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable

import psycopg
import pytest
from sqlalchemy import func, select, text

from photostore.db.models import Tag
from photostore.db.session import Database
from tests.conftest import Account, ScratchDatabase
from tests.db.helpers import tag_names, with_db


def test_the_statements_of_a_unit_of_work_share_one_scoped_transaction(
    database: ScratchDatabase, alice: Account
) -> None:
    async def work(db: Database) -> tuple[list[int], list[str]]:
        xids, users = [], []
        async with db.for_user(alice.id) as session:
            for _ in range(3):
                xids.append(int(await session.scalar(text("SELECT txid_current()")) or 0))
                users.append(
                    str(await session.scalar(text("SELECT current_setting('app.user_id')")))
                )
        return xids, users

    xids, users = with_db(database, work)
    # Run one by one outside a transaction, each statement would get its own id.
    assert len(set(xids)) == 1
    assert users == [str(alice.id)] * 3


def test_a_unit_of_work_commits_on_success_and_keeps_nothing_on_error(
    database: ScratchDatabase, alice: Account
) -> None:
    def add(name: str, fail: bool) -> Callable[[Database], Awaitable[None]]:
        async def work(db: Database) -> None:
            async with db.for_user(alice.id) as session:
                session.add(Tag(owner_id=alice.id, id=uuid.uuid4(), name=name))
                await session.flush()
                if fail:
                    raise RuntimeError("the request failed after its write")

        return work

    with_db(database, add("kept", fail=False))
    with pytest.raises(RuntimeError):
        with_db(database, add("dropped", fail=True))
    assert tag_names(database, alice) == {"kept"}


def test_the_pooled_connection_comes_back_idle_and_unscoped(
    database: ScratchDatabase, alice: Account
) -> None:
    async def work(db: Database) -> list[tuple[str, object, int]]:
        seen = []
        for fail in (False, True):
            with contextlib.suppress(RuntimeError):
                async with db.for_user(alice.id) as session:
                    assert await session.scalar(select(func.count()).select_from(Tag)) == 1
                    if fail:
                        raise RuntimeError("the request failed")
            # The same (only) pooled connection, outside any unit of work.
            async with db.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                driver = raw.driver_connection
                assert isinstance(driver, psycopg.AsyncConnection)
                status = driver.info.transaction_status.name
                setting = await conn.scalar(text("SELECT current_setting('app.user_id', true)"))
                tags = int(await conn.scalar(text("SELECT count(*) FROM tags")) or 0)
            seen.append((status, setting, tags))
        return seen

    with psycopg.connect(database.cluster.url("postgres", database.name, driver="")) as su:
        su.execute(
            "INSERT INTO tags (owner_id, id, name) VALUES (%s, %s, 'x')", (alice.id, uuid.uuid4())
        )
        su.commit()
    # Alice's tag is seen inside her unit of work, and not by the connection afterwards.
    for status, setting, tags in with_db(database, work):
        assert status == "IDLE"
        assert setting in (None, "")
        assert tags == 0

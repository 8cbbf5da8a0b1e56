"""The database side of a request (``db.request``): the revocation check rides with the
first transaction, before its work; a read-only unit of work is parked and committed
with the statement that ends it; a unit of work that wrote commits at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from sqlalchemy import select, text

from photostore.db.models import Tag
from photostore.db.request import RequestState, RevocationCheck, begin_request
from photostore.db.session import Database
from photostore.errors import Unauthenticated
from tests.conftest import Account, ScratchDatabase
from tests.db.helpers import tag_names, with_db

T = TypeVar("T")

_TAG = "INSERT INTO tags (owner_id, id, name) VALUES (%(owner)s, %(id)s, %(name)s)"


def _in_request(
    database: ScratchDatabase, work: Callable[[Database, RequestState], Awaitable[T]]
) -> T:
    """Run ``work`` as a request's task, on a ``Database`` of one pooled connection."""

    async def as_request(db: Database) -> T:
        request = begin_request()
        try:
            return await work(db, request)
        finally:
            await db.end_parked(request, commit=False)

    return with_db(database, as_request)


def _version(database: ScratchDatabase, account: Account) -> int:
    with database.superuser_connect() as conn:
        row = conn.execute("SELECT token_version FROM users WHERE id = %s", (account.id,))
        return int(row.fetchone()[0])  # type: ignore[index]


@pytest.mark.parametrize("scope", ["own", "own read", "system", "another user"])
def test_a_revoked_check_fails_the_first_transaction_before_its_work(
    database: ScratchDatabase, alice: Account, bob: Account, scope: str
) -> None:
    stale = RevocationCheck(alice.id, _version(database, alice) + 1, "user")
    ran: list[str] = []

    async def work(db: Database, request: RequestState) -> None:
        request.check = stale
        if scope == "own read":
            async with db.read_for_user(alice.id) as driver:
                ran.append(str(await (await driver.execute("SELECT 1")).fetchone()))
            return
        opened = {
            "own": db.for_user(alice.id),
            "system": db.for_system(),
            "another user": db.for_user(bob.id),
        }[scope]
        async with opened as session:
            ran.append(str(await session.scalar(text("SELECT 1"))))

    with pytest.raises(Unauthenticated):
        _in_request(database, work)
    assert ran == []


def test_a_confirmed_check_is_not_run_again(database: ScratchDatabase, alice: Account) -> None:
    current = RevocationCheck(alice.id, _version(database, alice), "user")

    async def work(db: Database, request: RequestState) -> tuple[bool, bool]:
        request.check = current
        async with db.for_user(alice.id):
            pass
        return request.check is None, request.check_failed

    assert _in_request(database, work) == (True, False)


@pytest.mark.parametrize(
    ("version_offset", "role"), [(0, "admin"), (1, "user")], ids=["role", "version"]
)
def test_a_check_refuses_what_the_account_no_longer_says(
    database: ScratchDatabase, alice: Account, version_offset: int, role: str
) -> None:
    check = RevocationCheck(alice.id, _version(database, alice) + version_offset, role)

    async def work(db: Database, request: RequestState) -> None:
        request.check = check
        async with db.for_user(alice.id):
            pass

    with pytest.raises(Unauthenticated):
        _in_request(database, work)


def test_a_read_only_unit_of_work_is_parked_and_commits_with_its_audit_statement(
    database: ScratchDatabase, alice: Account
) -> None:
    async def work(db: Database, request: RequestState) -> bool:
        request.audit_owner = alice.id
        async with db.for_user(alice.id, ends_request=True) as session:
            await session.scalar(select(Tag.name).where(Tag.owner_id == alice.id))
        parked = request.parked is not None
        await db.end_parked(
            request, commit=True, statement=_TAG, params=_tag_row(alice, "with the read")
        )
        return parked

    assert _in_request(database, work)
    assert tag_names(database, alice) == {"with the read"}


def test_a_parked_unit_of_work_whose_statement_fails_leaves_nothing(
    database: ScratchDatabase, alice: Account, bob: Account
) -> None:
    async def work(db: Database, request: RequestState) -> None:
        request.audit_owner = alice.id
        async with db.for_user(alice.id, ends_request=True) as session:
            await session.scalar(text("SELECT 1"))
        # Another owner's row: row-level security refuses it inside alice's scope.
        await db.end_parked(request, commit=True, statement=_TAG, params=_tag_row(bob, "x"))

    with pytest.raises(Exception, match="row-level security"):
        _in_request(database, work)
    assert tag_names(database, bob) == set()
    # The pooled connection came back usable and outside any transaction.
    assert _in_request(database, _count_tags(alice)) == 0


def test_a_unit_of_work_that_wrote_commits_at_its_end_and_is_not_parked(
    database: ScratchDatabase, alice: Account
) -> None:
    async def work(db: Database, request: RequestState) -> tuple[bool, set[str]]:
        request.audit_owner = alice.id
        async with db.for_user(alice.id, ends_request=True) as session:
            session.add(Tag(owner_id=alice.id, id=uuid.uuid4(), name="written"))
        return request.parked is not None, tag_names(database, alice)

    parked, seen_right_after = _in_request(database, work)
    assert not parked
    assert seen_right_after == {"written"}


def test_a_unit_of_work_of_another_task_is_never_parked(
    database: ScratchDatabase, alice: Account
) -> None:
    async def work(db: Database, request: RequestState) -> bool:
        request.audit_owner = alice.id

        async def background() -> None:
            async with db.for_user(alice.id, ends_request=True) as session:
                await session.scalar(text("SELECT 1"))

        await asyncio.get_running_loop().create_task(background())
        return request.parked is None

    assert _in_request(database, work)


def test_a_read_that_does_not_end_the_request_commits_at_once(
    database: ScratchDatabase, alice: Account
) -> None:
    # An upload's look-up before its decode: a parked transaction would hold a pooled
    # connection through the decode.
    async def work(db: Database, request: RequestState) -> tuple[bool, int]:
        request.audit_owner = alice.id
        async with db.for_user(alice.id) as session:
            await session.scalar(text("SELECT 1"))
        return request.parked is not None, db.engine.pool.checkedout()  # type: ignore[attr-defined]

    parked, checked_out = _in_request(database, work)
    assert not parked
    assert checked_out == 0


def _tag_row(owner: Account, name: str) -> dict[str, object]:
    return {"owner": owner.id, "id": uuid.uuid4(), "name": name}


def _count_tags(owner: Account) -> Callable[[Database, RequestState], Awaitable[int]]:
    async def work(db: Database, request: RequestState) -> int:
        async with db.for_user(owner.id) as session:
            return len((await session.scalars(select(Tag.id))).all())

    return work


def test_a_driver_read_is_parked_and_commits_with_its_audit_statement(
    database: ScratchDatabase, alice: Account
) -> None:
    async def work(db: Database, request: RequestState) -> tuple[bool, int, int]:
        request.audit_owner = alice.id
        async with db.read_for_user(alice.id) as driver:
            await driver.execute("SELECT count(*) FROM tags")
        parked = request.parked is not None
        held = db.engine.pool.checkedout()  # type: ignore[attr-defined]
        await db.end_parked(
            request, commit=True, statement=_TAG, params=_tag_row(alice, "with the read")
        )
        return parked, held, db.engine.pool.checkedout()  # type: ignore[attr-defined]

    assert _in_request(database, work) == (True, 1, 0)
    assert tag_names(database, alice) == {"with the read"}


def test_a_driver_read_sees_only_its_users_rows_and_commits_outside_a_request(
    database: ScratchDatabase, alice: Account, bob: Account
) -> None:
    _in_request(database, _add_tag(bob, "bob's"))
    _in_request(database, _add_tag(alice, "alice's"))

    async def read(db: Database) -> tuple[set[str], int]:
        async with db.read_for_user(alice.id) as driver:
            rows = await (await driver.execute("SELECT name FROM tags")).fetchall()
        return {row[0] for row in rows}, db.engine.pool.checkedout()  # type: ignore[attr-defined]

    assert with_db(database, read) == ({"alice's"}, 0)


def test_a_driver_read_that_fails_rolls_back_and_gives_its_connection_back(
    database: ScratchDatabase, alice: Account
) -> None:
    async def work(db: Database, request: RequestState) -> None:
        request.audit_owner = alice.id
        async with db.read_for_user(alice.id) as driver:
            await driver.execute("SELECT no_such_column FROM tags")

    with pytest.raises(Exception, match="no_such_column"):
        _in_request(database, work)
    # The one pooled connection came back outside any transaction, and usable.
    assert _in_request(database, _count_tags(alice)) == 0


def _add_tag(owner: Account, name: str) -> Callable[[Database, RequestState], Awaitable[None]]:
    async def work(db: Database, request: RequestState) -> None:
        async with db.for_user(owner.id) as session:
            session.add(Tag(owner_id=owner.id, id=uuid.uuid4(), name=name))

    return work

"""Synchronous transactions (``db.sync_session``): scoped like the async ones, and a
pooled connection that died is replaced without the caller seeing it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection

from photostore.db.sync_session import SyncDatabase
from photostore.errors import DatabaseUnavailable
from tests.conftest import ScratchDatabase


@pytest.fixture
def sync_db(database: ScratchDatabase) -> Iterator[SyncDatabase]:
    db = SyncDatabase.connect(database.app_url, 1)
    yield db
    db.dispose()


def _setting(conn: Connection, name: str) -> str:
    value = conn.exec_driver_sql(f"SELECT current_setting('{name}', true)").scalar()
    return str(value or "")


def test_a_transaction_is_scoped_to_its_user_and_the_scope_ends_with_it(
    sync_db: SyncDatabase,
) -> None:
    user_id = uuid.uuid4()
    with sync_db.for_user(user_id) as conn:
        assert _setting(conn, "app.user_id") == str(user_id)
        assert _setting(conn, "app.system") == ""
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with sync_db.for_system() as conn:
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() == pid  # pooled
        assert _setting(conn, "app.user_id") == ""
        assert _setting(conn, "app.system") == "on"


def test_an_error_rolls_the_transaction_back(sync_db: SyncDatabase) -> None:
    with pytest.raises(RuntimeError), sync_db.for_system() as conn:
        conn.exec_driver_sql("CREATE TEMP TABLE kept_until_commit (x int)")
        raise RuntimeError("the caller failed")
    with sync_db.for_system() as conn:
        exists = conn.exec_driver_sql("SELECT to_regclass('pg_temp.kept_until_commit')")
        assert exists.scalar() is None


def test_a_dead_pooled_connection_is_replaced_and_the_scope_run_again(
    sync_db: SyncDatabase, database: ScratchDatabase
) -> None:
    with sync_db.for_system() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with database.superuser_connect() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    user_id = uuid.uuid4()
    with sync_db.for_user(user_id) as conn:
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
        assert _setting(conn, "app.user_id") == str(user_id)


def test_a_database_that_refuses_connections_is_an_error_not_a_retry_loop(
    database: ScratchDatabase,
) -> None:
    db = SyncDatabase.connect(database.app_url.replace(database.name, "no_such_db"), 1)
    try:
        with pytest.raises(DatabaseUnavailable), db.for_system():
            pass
    finally:
        db.dispose()

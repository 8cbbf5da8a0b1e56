"""A database that stops answering: callers get 503 with Retry-After, never a 500, and the
service answers again as soon as the database does, without a restart."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2 as httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import exc as sa_exc

from photostore.app import create_app
from photostore.config import Settings
from photostore.db.errors import database_unavailable, translate
from photostore.errors import (
    DatabaseUnavailable,
    InsufficientStorage,
    NulInText,
    OverDatabaseLimit,
)
from tests.conftest import Account, ScratchDatabase, create_account


@pytest.fixture
def outage_client(settings: Settings) -> Iterator[TestClient]:
    # Server errors become responses here, as a caller would see them.
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def _accept_connections(database: ScratchDatabase, accept: bool) -> None:
    """Let the database take connections again, or refuse them and drop the open ones
    (what a caller sees of a database restarting or failing over)."""
    url = database.cluster.url("postgres", "postgres", driver="")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                sql.Identifier(database.name), sql.Literal(accept)
            )
        )
        if not accept:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (database.name,),
            )


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["type"].endswith("/service-unavailable")
    assert body["detail"] == "the database is unavailable; retry shortly"
    assert response.headers["Retry-After"] == "1"


def test_requests_during_an_outage_answer_503_and_recover_after(
    outage_client: TestClient, database: ScratchDatabase
) -> None:
    alice: Account = create_account(outage_client, "alice@example.org")
    assert outage_client.get("/v1/users/me", headers=alice.headers).status_code == 200

    _accept_connections(database, False)
    try:
        _assert_unavailable(outage_client.get("/v1/users/me", headers=alice.headers))
        _assert_unavailable(
            outage_client.post(
                "/v1/search", json={"text": "beach", "limit": 5}, headers=alice.headers
            )
        )
        _assert_unavailable(
            outage_client.post(
                "/v1/auth/token", data={"username": alice.email, "password": alice.password}
            )
        )
        ready = outage_client.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["Retry-After"] == "1"
        assert outage_client.get("/healthz").status_code == 200
    finally:
        _accept_connections(database, True)

    # The pooled connections died with the outage; the very next request still succeeds.
    me = outage_client.get("/v1/users/me", headers=alice.headers)
    assert me.status_code == 200, me.text
    assert me.json()["email"] == alice.email
    audit = outage_client.get("/v1/users/me/audit", headers=alice.headers)
    assert audit.status_code == 200, audit.text


def test_a_database_restart_between_requests_is_not_seen_by_callers(
    outage_client: TestClient, database: ScratchDatabase
) -> None:
    alice = create_account(outage_client, "alice@example.org")
    assert outage_client.get("/v1/users/me", headers=alice.headers).status_code == 200
    # Every pooled connection is dropped while no request runs; the next request must
    # not be handed one of them.
    _accept_connections(database, False)
    _accept_connections(database, True)
    assert outage_client.get("/readyz").status_code == 200
    for _ in range(3):
        me = outage_client.get("/v1/users/me", headers=alice.headers)
        assert me.status_code == 200, me.text


def test_which_errors_mean_the_database_is_unavailable() -> None:
    dropped = psycopg.OperationalError("server closed the connection unexpectedly")
    assert database_unavailable(dropped)  # as the vector cache's COPY raises it
    assert database_unavailable(sa_exc.OperationalError("SELECT 1", {}, dropped))
    assert database_unavailable(sa_exc.TimeoutError("QueuePool limit reached"))
    invalidated = sa_exc.InterfaceError(
        "SELECT 1", {}, psycopg.InterfaceError("closed"), connection_invalidated=True
    )
    assert database_unavailable(invalidated)
    # A constraint violation or a bug is not the database's absence: 500, not 503.
    clash = psycopg.errors.UniqueViolation("duplicate key")
    assert not database_unavailable(sa_exc.IntegrityError("INSERT", {}, clash))
    assert not database_unavailable(sa_exc.InterfaceError("SELECT 1", {}, Exception("x")))
    assert not database_unavailable(ValueError("not a database error"))


def test_the_database_errors_a_caller_can_act_on_become_photostore_errors() -> None:
    dropped = sa_exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("gone"))
    assert isinstance(translate(dropped), DatabaseUnavailable)
    nul = psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    assert isinstance(translate(sa_exc.DataError("INSERT", {}, nul)), NulInText)
    limit = psycopg.errors.ProgramLimitExceeded("string is too long for tsvector")
    assert isinstance(translate(limit), OverDatabaseLimit)
    clash = psycopg.errors.UniqueViolation("duplicate key")
    assert translate(sa_exc.IntegrityError("INSERT", {}, clash)) is None
    # A full disk is not fixed by retrying in a second: 507, not 503.
    full = psycopg.errors.DiskFull("could not extend file: No space left on device")
    assert not database_unavailable(full)
    assert isinstance(translate(sa_exc.OperationalError("INSERT", {}, full)), InsufficientStorage)

"""The request path: a token is verified in process and confirmed by the request's first
transaction; the audit row of a read is committed with it; every authenticated request,
failed or not, gets its row, and none is answered whose row could not be written."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests import imagegen
from tests.conftest import Account, ScratchDatabase, upload
from tests.library.factories import make_space

# A request of each shape: a read (one parked unit of work), a search (space lookup and
# vector search in one), the account (users row), a write, and a list.
ROUTES: dict[str, Callable[[TestClient, Account, str], int]] = {
    "GET image": lambda c, a, i: c.get(f"/v1/images/{i}", headers=a.headers).status_code,
    "POST search": lambda c, a, i: (
        c.post(
            "/v1/search",
            json={"vector": {"space": "clip", "values": [1.0, 0.0, 0.0]}, "limit": 10},
            headers=a.headers,
        ).status_code
    ),
    "GET account": lambda c, a, i: c.get("/v1/users/me", headers=a.headers).status_code,
    "PATCH image": lambda c, a, i: (
        c.patch(f"/v1/images/{i}", json={"favorite": True}, headers=a.headers).status_code
    ),
    "GET timeline": lambda c, a, i: c.get("/v1/images", headers=a.headers).status_code,
}


@pytest.fixture
def image_id(client: TestClient, alice: Account) -> str:
    make_space(client, alice)
    return str(upload(client, alice, imagegen.make_png(None, 8, 8)).json()["id"])


def _audit_rows(database: ScratchDatabase, account: Account) -> list[tuple[str, int]]:
    with database.superuser_connect() as conn:
        rows = conn.execute(
            "SELECT action, result FROM audit_log WHERE owner_id = %s ORDER BY at, id",
            (account.id,),
        ).fetchall()
    return [(action, result) for action, result in rows]


def _revoke(database: ScratchDatabase, account: Account, change: str) -> None:
    """What another photostore process (a logout, a password change, an admin) does."""
    with database.superuser_connect() as conn:
        conn.execute(
            {
                "version": "UPDATE users SET token_version = token_version + 1 WHERE id = %s",
                "role": "UPDATE users SET role = 'admin' WHERE id = %s",
                "deletion": "DELETE FROM users WHERE id = %s",
            }[change],
            (account.id,),
        )


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("change", ["version", "role", "deletion"])
def test_a_token_the_database_no_longer_backs_is_refused_by_the_very_next_request(
    client: TestClient,
    alice: Account,
    image_id: str,
    database: ScratchDatabase,
    route: str,
    change: str,
) -> None:
    assert ROUTES[route](client, alice, image_id) == 200
    audited = len(_audit_rows(database, alice))
    _revoke(database, alice, change)
    assert ROUTES[route](client, alice, image_id) == 401
    # Not authenticated, so not audited; and the write was not made.
    assert len(_audit_rows(database, alice)) == audited
    if route == "PATCH image" and change != "deletion":
        with database.superuser_connect() as conn:
            favorite = conn.execute("SELECT favorite FROM images WHERE id = %s", (image_id,))
            assert favorite.fetchone() == (True,)  # from the first, accepted request


@pytest.mark.parametrize(
    ("request_", "action", "status"),
    [
        (
            lambda c, a: c.get(
                "/v1/images/00000000-0000-7000-8000-000000000000", headers=a.headers
            ),
            "GET /v1/images/{image_id}",
            404,
        ),
        (
            lambda c, a: c.post(
                "/v1/search",
                json={"vector": {"space": "nope", "values": [1.0]}, "limit": 10},
                headers=a.headers,
            ),
            "POST /v1/search",
            404,
        ),
        (
            lambda c, a: c.patch(
                "/v1/images/00000000-0000-7000-8000-000000000000",
                json={"favorite": True},
                headers=a.headers,
            ),
            "PATCH /v1/images/{image_id}",
            404,
        ),
    ],
    ids=["read", "search", "write"],
)
def test_a_request_whose_work_fails_still_gets_its_audit_row(
    client: TestClient,
    alice: Account,
    database: ScratchDatabase,
    request_: Callable[[TestClient, Account], object],
    action: str,
    status: int,
) -> None:
    request_(client, alice)
    assert _audit_rows(database, alice)[-1] == (action, status)


@pytest.mark.parametrize("route", ["GET image", "PATCH image"])
def test_no_answer_goes_out_for_a_request_whose_audit_row_failed(
    client: TestClient, alice: Account, image_id: str, database: ScratchDatabase, route: str
) -> None:
    with database.superuser_connect() as conn:
        conn.execute(
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit refused'; END $$"
        )
        conn.execute(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION refuse_audit()"
        )
    failing = TestClient(client.app, raise_server_exceptions=False)
    assert ROUTES[route](failing, alice, image_id) == 500
    with database.superuser_connect() as conn:
        conn.execute("DROP TRIGGER refuse_audit ON audit_log")
        # Nothing was left open: the unit of work that carried the row was rolled back.
        idle = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND state LIKE 'idle in transaction%%'"
        ).fetchone()
    assert idle == (0,)
    assert ROUTES[route](client, alice, image_id) == 200
    assert _audit_rows(database, alice)[-1][1] == 200

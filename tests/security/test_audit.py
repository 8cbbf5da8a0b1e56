"""The audit log: one row per operation of every kind, readable by its user, no secrets."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests import imagegen
from tests.conftest import Account, ScratchDatabase, upload
from tests.security.conftest import bearer, create_key

SECRET_WORDS = ("Sekrit description", "correct horse", "new password 42")


def _trail(client: TestClient, account: Account) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/v1/users/me/audit{query}", headers=account.headers).json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_every_kind_of_operation_writes_one_row(
    client: TestClient,
    alice: Account,
    admin: Account,
    service_headers: Callable[[Account], dict[str, str]],
    database: ScratchDatabase,
) -> None:
    login = {"username": alice.email, "password": alice.password}
    assert client.post("/v1/auth/token", data=login).status_code == 200
    client.get("/v1/users/me", headers=alice.headers)
    created = upload(client, alice, imagegen.make_png(None, 8, 8), description=SECRET_WORDS[0])
    image_id = created.json()["id"]
    client.get(f"/v1/images/{image_id}/content", headers=alice.headers)
    client.patch(f"/v1/images/{image_id}", json={"favorite": True}, headers=alice.headers)
    client.get("/v1/images?tag=x", headers=service_headers(alice))
    key_id, secret = create_key(client, alice, ["images:read"])
    client.get(f"/v1/images/{image_id}", headers=bearer(secret))
    client.delete(f"/v1/images/{image_id}?purge=true", headers=alice.headers)
    client.post("/v1/auth/token", data={"username": alice.email, "password": "wrong guess"})
    client.get("/v1/admin/stats", headers=admin.headers)

    rows = list(reversed(_trail(client, alice)))
    seen = [(r["action"], r["result"], r["principal_kind"]) for r in rows]
    expected = [
        ("POST /v1/auth/token", 200, "user"),
        ("GET /v1/users/me", 200, "user"),
        ("POST /v1/images", 201, "user"),
        ("GET /v1/images/{image_id}/content", 200, "user"),
        ("PATCH /v1/images/{image_id}", 200, "user"),
        ("GET /v1/images", 200, "service"),
        ("POST /v1/api-keys", 201, "user"),
        ("GET /v1/images/{image_id}", 200, "user"),
        ("DELETE /v1/images/{image_id}", 204, "user"),
        ("POST /v1/auth/token", 401, "user"),
    ]
    assert [s for s in seen if s[0] != "GET /v1/users/me/audit"] == expected
    by_action = {r["action"]: r for r in rows}
    assert by_action["POST /v1/images"]["target_id"] == image_id
    assert by_action["GET /v1/images/{image_id}"]["key_id"] == str(key_id)
    assert by_action["GET /v1/images"]["principal_id"] != str(alice.id)  # the service key
    assert all(r["request_id"] for r in rows)
    # The admin's action is in the admin's own trail.
    admin_rows = _trail(client, admin)
    assert ("GET /v1/admin/stats", 200, "admin") in [
        (r["action"], r["result"], r["principal_kind"]) for r in admin_rows
    ]
    # Nothing secret anywhere in the table.
    with database.superuser_connect() as conn:
        dump = str(conn.execute("SELECT * FROM audit_log").fetchall())
    for word in (*SECRET_WORDS, secret, secret.split("_", 2)[2], "wrong guess"):
        assert word not in dump


def test_a_failed_login_for_an_unknown_email_writes_nothing(
    client: TestClient, database: ScratchDatabase
) -> None:
    client.post("/v1/auth/token", data={"username": "ghost@example.org", "password": "x" * 9})
    with database.superuser_connect() as conn:
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone() == (0,)


def test_users_read_only_their_own_trail_and_cannot_change_it(
    client: TestClient, alice: Account, bob: Account, database: ScratchDatabase
) -> None:
    client.get("/v1/images", headers=alice.headers)
    assert all(r["principal_id"] == str(bob.id) for r in _trail(client, bob))
    with database.app_connect() as conn, conn.transaction():
        conn.execute("SELECT set_config('app.user_id', %s, true)", (str(alice.id),))
        import psycopg
        import pytest

        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM audit_log")

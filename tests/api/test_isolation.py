"""Isolation between users: the application wall (404s) and the database wall (RLS)."""

from __future__ import annotations

import json
import re
import uuid

import psycopg
import pytest
from fastapi.testclient import TestClient

from photostore.db.models import TENANT_TABLES
from tests import imagegen
from tests.conftest import Account, ScratchDatabase, upload
from tests.routes import api_operations

# Bodies that would be valid if the id were the caller's own, so a 404 can only mean
# "not yours", never "bad request".
VALID_BODIES = {("PATCH", "/v1/images/{image_id}"): {"description": "mine now"}}


# Library routes under an image (analysis, faces, people) have their own matrix, with
# valid bodies, in tests/library/test_isolation.py.
# The image routes proper; tests/security/ generates the matrix over every route.
IMAGE_ROUTES = [
    ("DELETE", "/v1/images/{image_id}"),
    ("GET", "/v1/images/{image_id}"),
    ("GET", "/v1/images/{image_id}/content"),
    ("GET", "/v1/images/{image_id}/thumbnail"),
    ("PATCH", "/v1/images/{image_id}"),
    ("POST", "/v1/images/{image_id}/restore"),
]


def test_the_image_routes_exist(client: TestClient) -> None:
    assert set(IMAGE_ROUTES) <= set(api_operations(client.app))  # type: ignore[arg-type]


@pytest.mark.parametrize("query", ["", "?purge=true"])
def test_another_users_image_id_is_404_on_every_route(
    client: TestClient, alice: Account, bob: Account, query: str
) -> None:
    data = imagegen.make_jpeg(None, 40, 40, seed=11)
    image_id = upload(client, alice, data).json()["id"]
    for method, path in IMAGE_ROUTES:
        url = path.replace("{image_id}", image_id) + (query if method == "DELETE" else "")
        response = client.request(
            method, url, headers=bob.headers, json=VALID_BODIES.get((method, path))
        )
        assert response.status_code == 404, (method, url, response.text)
        assert response.json()["type"].endswith("/not-found")
        # Only ``instance`` (the path the caller sent) may name the id: nothing says the
        # image exists.
        told = {k: v for k, v in response.json().items() if k != "instance"}
        assert image_id not in json.dumps(told), told
    # Alice's image is untouched by all of that.
    record = client.get(f"/v1/images/{image_id}", headers=alice.headers).json()
    assert record["description"] is None
    assert record["trashed"] is False
    assert client.get(f"/v1/images/{image_id}/content", headers=alice.headers).content == data


def test_unknown_and_foreign_ids_answer_alike(
    client: TestClient, alice: Account, bob: Account
) -> None:
    image_id = upload(client, alice, imagegen.make_png(None, 8, 8)).json()["id"]
    foreign = client.get(f"/v1/images/{image_id}", headers=bob.headers).json()
    unknown = client.get(f"/v1/images/{uuid.uuid4()}", headers=bob.headers).json()
    assert {k: v for k, v in foreign.items() if k not in {"instance", "request_id"}} == {
        k: v for k, v in unknown.items() if k not in {"instance", "request_id"}
    }


def test_lists_never_show_another_users_images(
    client: TestClient, alice: Account, bob: Account
) -> None:
    upload(client, alice, imagegen.make_png(None, 8, 8, seed=1), tags="shared-name")
    trashed = upload(client, alice, imagegen.make_png(None, 8, 8, seed=2)).json()["id"]
    client.delete(f"/v1/images/{trashed}", headers=alice.headers)
    for query in ["", "?trashed=true", "?tag=shared-name", "?favorite=false"]:
        assert client.get(f"/v1/images{query}", headers=bob.headers).json()["items"] == []


# -- the database wall -------------------------------------------------------------------


def _seed_two_users(client: TestClient, alice: Account, bob: Account) -> None:
    upload(client, alice, imagegen.make_png(None, 8, 8, seed=1), tags="a")
    upload(client, bob, imagegen.make_png(None, 8, 8, seed=2), tags="b")


def test_the_service_role_is_not_privileged(database: ScratchDatabase) -> None:
    with database.app_connect() as conn:
        row = conn.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert row == (False, False)
        owners = conn.execute(
            "SELECT count(*) FROM pg_tables "
            "WHERE schemaname = 'public' AND tableowner = current_user"
        ).fetchone()
        assert owners == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE images DISABLE ROW LEVEL SECURITY")


def test_the_tenant_table_list_names_every_table_but_the_system_ones(
    database: ScratchDatabase,
) -> None:
    with database.superuser_connect() as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        }
    # service_keys and master_key_uses belong to no user: only the system context
    # reaches them.
    system = {"users", "service_keys", "master_key_uses", "alembic_version"}
    assert tables - system == set(TENANT_TABLES)


def test_every_tenant_table_forces_row_level_security(database: ScratchDatabase) -> None:
    with database.superuser_connect() as conn:
        rows = conn.execute(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace "
            "AND relname <> 'alembic_version'"
        ).fetchall()
    assert rows, "no tables?"
    for name, enabled, forced in rows:
        assert enabled and forced, name


def test_with_no_user_set_the_service_role_sees_no_rows(
    client: TestClient, alice: Account, bob: Account, database: ScratchDatabase
) -> None:
    _seed_two_users(client, alice, bob)
    with database.app_connect() as conn:
        for table in [*TENANT_TABLES, "users", "service_keys", "master_key_uses"]:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table


def test_an_unscoped_query_still_sees_only_the_current_users_rows(
    client: TestClient, alice: Account, bob: Account, database: ScratchDatabase
) -> None:
    _seed_two_users(client, alice, bob)
    with database.app_connect() as conn, conn.transaction():
        conn.execute("SELECT set_config('app.user_id', %s, true)", (str(alice.id),))
        owners = {r[0] for r in conn.execute("SELECT owner_id FROM images").fetchall()}
        assert owners == {alice.id}
        assert conn.execute("SELECT name FROM tags").fetchall() == [("a",)]
        assert conn.execute("SELECT id FROM users").fetchall() == [(alice.id,)]
        # Writing a row for someone else is refused too.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO tags (owner_id, id, name) VALUES (%s, gen_random_uuid(), 'x')",
                (bob.id,),
            )


def test_the_user_setting_does_not_outlive_its_transaction(
    client: TestClient, alice: Account, bob: Account, database: ScratchDatabase
) -> None:
    _seed_two_users(client, alice, bob)
    with database.app_connect() as conn:
        with conn.transaction():
            conn.execute("SELECT set_config('app.user_id', %s, true)", (str(alice.id),))
            assert conn.execute("SELECT count(*) FROM images").fetchone() == (1,)
        # Same connection, next transaction: nothing visible.
        assert conn.execute("SELECT count(*) FROM images").fetchone() == (0,)


def test_concurrent_users_on_a_shared_pool_see_only_their_own(
    client: TestClient, make_account: object
) -> None:
    from collections.abc import Callable
    from concurrent.futures import ThreadPoolExecutor

    assert callable(make_account)
    maker: Callable[[str], Account] = make_account
    accounts = [maker(f"user{n}") for n in range(4)]
    mine: dict[uuid.UUID, set[str]] = {}
    for n, account in enumerate(accounts):
        ids = {
            upload(client, account, imagegen.make_png(None, 6, 6, seed=100 * n + k)).json()["id"]
            for k in range(3)
        }
        mine[account.id] = ids

    def read(account: Account) -> bool:
        listed = {
            i["id"] for i in client.get("/v1/images", headers=account.headers).json()["items"]
        }
        return listed == mine[account.id]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(read, [accounts[i % 4] for i in range(80)]))
    assert all(results)


def test_ids_in_urls_are_never_echoed_for_other_users(
    client: TestClient, alice: Account, bob: Account
) -> None:
    image_id = upload(client, alice, imagegen.make_png(None, 8, 8)).json()["id"]
    response = client.get(f"/v1/images/{image_id}/thumbnail", headers=bob.headers)
    assert response.status_code == 404
    assert not re.search(r"alice", response.text)

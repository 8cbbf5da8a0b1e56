"""Admins never read photos: no account makes a service key, every admin sees and revokes
them all, and a password change revokes every key of its account."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from photostore.auth.principal import Role
from photostore.services.users import UserService
from tests import imagegen
from tests.conftest import Account, ScratchDatabase, upload
from tests.security.conftest import DATA_SCOPES, bearer, create_key, login, make_service_key


def _second_admin(client: TestClient) -> Account:
    email, password = "second-root@example.org", "second admin password"
    service = UserService(client.app.state.ctx)  # type: ignore[attr-defined]
    assert client.portal is not None
    user = client.portal.call(service.create, email, password, Role.ADMIN)
    tokens = login(client, email, password)
    return Account(user.id, email, password, bearer(tokens["access_token"]))


def test_no_account_makes_a_service_key_and_an_admin_reads_no_photo(
    client: TestClient, admin: Account, alice: Account
) -> None:
    image_id = upload(client, alice, imagegen.make_png(None, 8, 8, seed=4)).json()["id"]
    made = client.post(
        "/v1/api-keys",
        json={"name": "reader", "kind": "service", "scopes": ["images:read"]},
        headers=admin.headers,
    )
    assert made.status_code == 403, made.text
    assert "photostore service-keys create" in made.json()["detail"]
    # An admin's own login (or own key) naming a user reads nothing of theirs.
    as_alice = {**admin.headers, "X-Photostore-User": str(alice.id)}
    for path in (
        "/v1/images",
        f"/v1/images/{image_id}",
        f"/v1/images/{image_id}/content",
        f"/v1/images/{image_id}/analysis",
    ):
        assert client.get(path, headers=as_alice).status_code == 403, path
    assert client.post("/v1/search", json={"text": "x"}, headers=as_alice).status_code == 403
    _, own = create_key(client, admin, [], name="admin's own key")
    own_as_alice = {**bearer(own), "X-Photostore-User": str(alice.id)}
    assert client.get(f"/v1/images/{image_id}", headers=own_as_alice).status_code == 400
    assert client.get("/v1/images", headers=bearer(own)).status_code == 403


def test_every_admin_lists_and_revokes_every_service_key_on_the_record(
    client: TestClient, admin: Account, alice: Account
) -> None:
    secret = make_service_key(client, ["images:read"], name="gallery")
    key_id = secret.split("_")[1]
    as_alice = {**bearer(secret), "X-Photostore-User": str(alice.id)}
    assert client.get("/v1/images", headers=as_alice).status_code == 200
    other = _second_admin(client)
    for holder in (admin, other):
        listed = client.get("/v1/admin/service-keys", headers=holder.headers)
        assert listed.status_code == 200, listed.text
        [item] = listed.json()["items"]
        assert item["id"] == str(uuid.UUID(key_id)) and item["name"] == "gallery"
        assert item["made_by"] == "operator" and item["revoked_at"] is None
        assert secret not in listed.text
    assert client.get("/v1/admin/service-keys", headers=alice.headers).status_code == 403

    revoke = f"/v1/admin/service-keys/{uuid.UUID(key_id)}"
    assert client.delete(revoke, headers=other.headers).status_code == 204
    assert client.delete(revoke, headers=admin.headers).status_code == 204  # idempotent
    assert client.get("/v1/images", headers=as_alice).status_code == 401
    [item] = client.get("/v1/admin/service-keys", headers=admin.headers).json()["items"]
    assert item["revoked_by"] == f"admin {other.id}"  # the first revocation is kept
    missing = client.delete(f"/v1/admin/service-keys/{uuid.uuid4()}", headers=admin.headers)
    assert missing.status_code == 404
    # The revocation is in the revoking admin's own trail, naming the key.
    trail = client.get("/v1/users/me/audit", headers=other.headers).json()["items"]
    revoked = [e for e in trail if e["action"] == "DELETE /v1/admin/service-keys/{service_key_id}"]
    assert [(e["target_type"], e["target_id"], e["result"]) for e in revoked] == [
        ("service_key", str(uuid.UUID(key_id)), 204)
    ]


def test_service_keys_outlive_every_account_and_only_the_system_context_sees_them(
    client: TestClient, admin: Account, alice: Account, database: ScratchDatabase
) -> None:
    secret = make_service_key(client, DATA_SCOPES)
    as_alice = {**bearer(secret), "X-Photostore-User": str(alice.id)}
    change = {"current_password": admin.password, "new_password": "another admin password"}
    assert client.post("/v1/users/me/password", json=change, headers=admin.headers).is_success
    assert client.get("/v1/images", headers=as_alice).status_code == 200
    with database.app_connect() as conn, conn.transaction():
        conn.execute("SELECT set_config('app.user_id', %s, true)", (str(admin.id),))
        assert conn.execute("SELECT count(*) FROM service_keys").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM api_keys").fetchone() == (0,)


def test_a_password_change_revokes_every_key_and_token_of_the_account(
    client: TestClient, alice: Account
) -> None:
    _, key = create_key(client, alice, ["images:read"])
    tokens = login(client, alice.email, alice.password)
    change = {"current_password": alice.password, "new_password": "a new password"}
    assert client.post("/v1/users/me/password", json=change, headers=alice.headers).is_success
    assert client.get("/v1/images", headers=bearer(key)).status_code == 401
    assert client.get("/v1/users/me", headers=bearer(tokens["access_token"])).status_code == 401
    refreshed = client.post("/v1/auth/refresh", data={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401

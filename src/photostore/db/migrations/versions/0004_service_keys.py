"""Service keys in a table of their own, owned by no account.

Until this revision a service key was a row of ``api_keys`` owned by the admin who made
it: it read any user's photos (with ``X-Photostore-User``), outlived its admin's
password change and logout, and no other admin could see or revoke it. Service keys now
live in ``service_keys``: made by the operator (``photostore service-keys create``),
listed and revoked by every admin, belonging to no account. Row-level security admits
the system context only; the service role may read, add and revoke (update) rows, never
delete them, so a revoked key stays on record.

The upgrade moves the existing service keys across unchanged (a running service keeps
working), noting in ``made_by_admin_id`` the admin who made each; ``api_keys`` then holds
user keys only. The downgrade moves back the keys whose admin still exists; keys the
operator made have no owner in the older schema and are dropped.

Revision ID: 0004_service_keys
Revises: 0003_change_log_arrays
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from photostore.db.rls import enable_system_only_rls, grant_app_no_delete

revision: str = "0004_service_keys"
down_revision: str | None = "0003_change_log_arrays"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SERVICE_KEYS = """
CREATE TABLE service_keys (
    id uuid NOT NULL,
    name text NOT NULL,
    prefix varchar(64) NOT NULL,
    secret_sha256 bytea NOT NULL,
    scopes text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    made_by_admin_id uuid,
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz,
    revoked_by_admin_id uuid,
    CONSTRAINT pk_service_keys PRIMARY KEY (id),
    CONSTRAINT ck_service_keys_secret_sha256 CHECK (octet_length(secret_sha256) = 32)
)
"""

# Row-level security is forced on both tables and binds their owner too: the rows move
# in the system context, which both policies admit.
_MOVE_UP = """
DO $$ BEGIN
PERFORM set_config('app.system', 'on', true);
INSERT INTO service_keys (id, name, prefix, secret_sha256, scopes, created_at,
                          made_by_admin_id, expires_at, last_used_at, revoked_at)
SELECT id, name, prefix, secret_sha256, scopes, created_at,
       owner_id, expires_at, last_used_at, revoked_at
  FROM api_keys WHERE kind = 'service';
DELETE FROM api_keys WHERE kind = 'service';
PERFORM set_config('app.system', '', true);
END $$
"""

_MOVE_DOWN = """
DO $$ BEGIN
PERFORM set_config('app.system', 'on', true);
INSERT INTO api_keys (owner_id, id, name, prefix, secret_sha256, kind, scopes, created_at,
                      expires_at, last_used_at, revoked_at)
SELECT k.made_by_admin_id, k.id, k.name, k.prefix, k.secret_sha256, 'service', k.scopes,
       k.created_at, k.expires_at, k.last_used_at, k.revoked_at
  FROM service_keys k JOIN users u ON u.id = k.made_by_admin_id;
PERFORM set_config('app.system', '', true);
END $$
"""


def upgrade() -> None:
    op.execute(_SERVICE_KEYS)
    enable_system_only_rls(op, "service_keys")
    grant_app_no_delete(op, "service_keys")
    op.execute(_MOVE_UP)
    op.execute("ALTER TABLE api_keys DROP CONSTRAINT ck_api_keys_kind")
    op.execute("ALTER TABLE api_keys ADD CONSTRAINT ck_api_keys_kind CHECK (kind = 'user')")


def downgrade() -> None:
    op.execute("ALTER TABLE api_keys DROP CONSTRAINT ck_api_keys_kind")
    op.execute(
        "ALTER TABLE api_keys ADD CONSTRAINT ck_api_keys_kind CHECK (kind IN ('user', 'service'))"
    )
    op.execute(_MOVE_DOWN)
    op.execute("DROP TABLE service_keys")

"""Security: API keys, the audit log and per-user data keys, all fenced by row-level security.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from photostore.db.rls import (
    enable_owner_or_system_rls,
    enable_owner_rls,
    grant_app_access,
    grant_app_append_only,
)

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_USER_FK = "FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE api_keys (
            owner_id uuid NOT NULL,
            id uuid NOT NULL,
            name text NOT NULL,
            prefix varchar(64) NOT NULL,
            secret_sha256 bytea NOT NULL,
            kind varchar(16) NOT NULL,
            scopes text[] NOT NULL DEFAULT '{{}}',
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz,
            last_used_at timestamptz,
            revoked_at timestamptz,
            CONSTRAINT pk_api_keys PRIMARY KEY (owner_id, id),
            CONSTRAINT uq_api_keys_id UNIQUE (id),
            CONSTRAINT ck_api_keys_kind CHECK (kind IN ('user', 'service')),
            CONSTRAINT ck_api_keys_secret_sha256 CHECK (octet_length(secret_sha256) = 32),
            CONSTRAINT fk_api_keys_owner_id_users {_USER_FK}
        )
        """
    )
    # The audit log has no foreign key to users on purpose: the record of an account's
    # deletion (and of what was done before it) outlives the account. Rows hold ids,
    # route templates and statuses only, never names, emails, bodies or secrets.
    op.execute(
        """
        CREATE TABLE audit_log (
            owner_id uuid NOT NULL,
            id uuid NOT NULL,
            at timestamptz NOT NULL DEFAULT now(),
            principal_id uuid NOT NULL,
            principal_kind varchar(16) NOT NULL,
            key_id uuid,
            action text NOT NULL,
            target_type varchar(64),
            target_id text,
            result smallint NOT NULL,
            request_id varchar(64),
            CONSTRAINT pk_audit_log PRIMARY KEY (owner_id, id),
            CONSTRAINT ck_audit_log_principal_kind
                CHECK (principal_kind IN ('user', 'service', 'admin'))
        )
        """
    )
    op.execute("CREATE INDEX ix_audit_log_owner_id_at ON audit_log (owner_id, at DESC, id DESC)")
    op.execute(
        f"""
        CREATE TABLE user_keys (
            owner_id uuid NOT NULL,
            id uuid NOT NULL,
            wrapped_key bytea NOT NULL,
            master_key_id varchar(64) NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_user_keys PRIMARY KEY (owner_id, id),
            CONSTRAINT uq_user_keys_owner_id UNIQUE (owner_id),
            CONSTRAINT fk_user_keys_owner_id_users {_USER_FK}
        )
        """
    )

    for table in ("audit_log", "user_keys"):
        enable_owner_rls(op, table)
    # api_keys: a key is looked up by its id before any user is known, so (like users)
    # the table also admits the system context, which only authentication sets.
    enable_owner_or_system_rls(op, "api_keys")
    for table in ("api_keys", "user_keys"):
        grant_app_access(op, table)
    # The audit log is append-only for the service: no UPDATE, no DELETE, so a bug or an
    # injection in the service cannot rewrite the trail.
    grant_app_append_only(op, "audit_log")


def downgrade() -> None:
    for table in ("user_keys", "audit_log", "api_keys"):
        op.drop_table(table)

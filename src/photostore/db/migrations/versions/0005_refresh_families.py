"""Refresh tokens rotate: one row per login's family of refresh tokens.

A refresh token names its family (one per login) and its generation. A refresh moves
the family to the next generation and hands out its one valid token; presenting a token
of an older generation (a copy an attacker or a stale client kept) revokes the family.
A tenant table, fenced by owner as every other.

Refresh tokens issued before this revision name no family: they are refused (log in
again). The downgrade drops the table; tokens issued since keep working there, as
refresh tokens that no longer rotate.

Revision ID: 0005_refresh_families
Revises: 0004_service_keys
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from photostore.db.rls import enable_owner_rls, grant_app_access

revision: str = "0005_refresh_families"
down_revision: str | None = "0004_service_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE refresh_families (
            owner_id uuid NOT NULL,
            id uuid NOT NULL,
            generation integer NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            revoked_at timestamptz,
            CONSTRAINT pk_refresh_families PRIMARY KEY (owner_id, id),
            CONSTRAINT fk_refresh_families_owner_id_users FOREIGN KEY (owner_id)
                REFERENCES users (id) ON DELETE CASCADE
        )
        """
    )
    enable_owner_rls(op, "refresh_families")
    grant_app_access(op, "refresh_families")


def downgrade() -> None:
    op.execute("DROP TABLE refresh_families")

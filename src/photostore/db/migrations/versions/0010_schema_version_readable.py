"""The service role may read which revision the schema is at.

Every start compares the database's revision with the newest this photostore knows, as
the service role (``db.checks``): it refuses a schema a newer photostore migrated, and
names the command that migrates an older one, which ``serve`` does not do on an external
database unless it is given the owner's URL. A database older than this revision is
known to be older by the refusal alone.

Revision ID: 0010_schema_version_readable
Revises: 0009_image_title_and_damage
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from photostore.db.rls import grant_app_read_only, revoke_app_access

revision: str = "0010_schema_version_readable"
down_revision: str | None = "0009_image_title_and_damage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    grant_app_read_only(op, "alembic_version")


def downgrade() -> None:
    revoke_app_access(op, "alembic_version")

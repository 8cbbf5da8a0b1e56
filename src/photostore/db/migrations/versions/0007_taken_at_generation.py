"""A changed ``taken_at`` moves the generation of its owner's embedding spaces.

The vector cache holds each row's ``taken_at`` beside its vector and applies date ranges
in memory (``search.cache``); the generation tells it when those dates changed. Changing
a photo's date is rare, so the owner's spaces are all bumped, once per statement.
Transition tables cannot be combined with a column list (``UPDATE OF taken_at``): the
function compares the old and new rows itself.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION images_taken_at_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE embedding_spaces s SET generation = s.generation + 1
            WHERE s.owner_id IN (
                SELECT DISTINCT n.owner_id FROM new_images n
                JOIN old_images o ON o.owner_id = n.owner_id AND o.id = n.id
                WHERE n.taken_at IS DISTINCT FROM o.taken_at
            );
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER images_taken_at_changed AFTER UPDATE ON images "
        "REFERENCING OLD TABLE AS old_images NEW TABLE AS new_images "
        "FOR EACH STATEMENT EXECUTE FUNCTION images_taken_at_changed()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER images_taken_at_changed ON images")
    op.execute("DROP FUNCTION images_taken_at_changed()")

"""A generation counter on embedding spaces, bumped by every change of their vectors.

The in-process vector cache (``search.cache``) compares it with the generation it
loaded: a vector written, replaced or deleted in any way (an image purge cascades to
its vectors) moves it. Statement-level triggers with transition tables bump each
touched space once per statement, so a bulk load costs one update, not one per row.
Trigger functions run as the caller, under row-level security: they can only bump the
caller's own spaces, which are the only ones the caller's statement can touch.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVENTS = {
    "INSERT": "NEW TABLE AS changed",
    "UPDATE": "NEW TABLE AS changed",
    "DELETE": "OLD TABLE AS changed",
}


def upgrade() -> None:
    op.execute("ALTER TABLE embedding_spaces ADD COLUMN generation bigint NOT NULL DEFAULT 0")
    op.execute(
        """
        CREATE FUNCTION bump_embedding_space_generation() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE embedding_spaces s SET generation = s.generation + 1
            FROM (SELECT DISTINCT owner_id, space_id FROM changed) c
            WHERE s.owner_id = c.owner_id AND s.id = c.space_id;
            RETURN NULL;
        END
        $$
        """
    )
    for event, transition in _EVENTS.items():
        op.execute(
            f"CREATE TRIGGER embeddings_generation_{event.lower()} AFTER {event} ON embeddings "
            f"REFERENCING {transition} FOR EACH STATEMENT "
            "EXECUTE FUNCTION bump_embedding_space_generation()"
        )
    # Finds a user's trashed images without reading the others: the cache masks them.
    op.execute(
        "CREATE INDEX ix_images_trashed ON images (owner_id, id) WHERE trashed_at IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_images_trashed")
    for event in _EVENTS:
        op.execute(f"DROP TRIGGER embeddings_generation_{event.lower()} ON embeddings")
    op.execute("DROP FUNCTION bump_embedding_space_generation()")
    op.execute("ALTER TABLE embedding_spaces DROP COLUMN generation")

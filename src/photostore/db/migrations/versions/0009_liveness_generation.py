"""Trashing or restoring a photo moves its spaces' generation and is logged like a change.

The vector cache now holds live images only: a search of a cached space no longer asks
the database for the owner's trashed ids on every query. For that, a photo leaving or
entering the trash must reach the cache the way a changed vector does: the images
trigger of migrations 0007 and 0008 (then about ``taken_at`` alone) now also fires on a
change of liveness, bumps the generation of the owner's spaces and logs the images in
``embedding_changes``. The overlay re-reads their rows, live ones only.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MAX_LOGGED = 1000
_KEPT_GENERATIONS = 1000
_NIL = "'00000000-0000-0000-0000-000000000000'::uuid"

_DATE_MOVED = "n.taken_at IS DISTINCT FROM o.taken_at"
_LIVENESS_CHANGED = "(n.trashed_at IS NULL) <> (o.trashed_at IS NULL)"


def _images_function(name: str, condition: str) -> str:
    """The body of migration 0008's images trigger function, for images meeting
    ``condition`` (``n`` the new row, ``o`` the old one)."""
    return f"""
        CREATE OR REPLACE FUNCTION {name}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            WITH moved_images AS (
                SELECT n.owner_id, n.id FROM new_images n
                JOIN old_images o ON o.owner_id = n.owner_id AND o.id = n.id
                WHERE {condition}
            ), changed AS (
                SELECT e.owner_id, e.space_id, e.image_id FROM moved_images m
                JOIN embeddings e ON e.owner_id = m.owner_id AND e.image_id = m.id
            ), counted AS (
                SELECT s.owner_id, s.id, count(c.image_id) AS images
                FROM embedding_spaces s
                LEFT JOIN changed c ON c.owner_id = s.owner_id AND c.space_id = s.id
                WHERE s.owner_id IN (SELECT owner_id FROM moved_images)
                GROUP BY s.owner_id, s.id
            ), bumped AS (
                UPDATE embedding_spaces s SET generation = s.generation + 1
                FROM counted c WHERE s.owner_id = c.owner_id AND s.id = c.id
                RETURNING s.owner_id, s.id, s.generation, c.images
            ), logged AS (
                INSERT INTO embedding_changes (owner_id, space_id, generation, image_id)
                SELECT b.owner_id, b.id, b.generation, c.image_id
                FROM bumped b JOIN changed c ON c.owner_id = b.owner_id AND c.space_id = b.id
                WHERE b.images <= {_MAX_LOGGED}
            ), marked AS (
                INSERT INTO embedding_changes (owner_id, space_id, generation, image_id)
                SELECT owner_id, id, generation, {_NIL} FROM bumped WHERE images > {_MAX_LOGGED}
            )
            DELETE FROM embedding_changes x USING bumped b
            WHERE x.owner_id = b.owner_id AND x.space_id = b.id
              AND x.generation <= b.generation - {_KEPT_GENERATIONS};
            RETURN NULL;
        END
        $$
    """  # noqa: S608 - built from the constants above


def _trigger(name: str) -> str:
    return (
        f"CREATE TRIGGER {name} AFTER UPDATE ON images "
        "REFERENCING OLD TABLE AS old_images NEW TABLE AS new_images "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
    )


def upgrade() -> None:
    op.execute("DROP TRIGGER images_taken_at_changed ON images")
    op.execute("DROP FUNCTION images_taken_at_changed()")
    op.execute(
        _images_function("images_vector_state_changed", f"{_DATE_MOVED} OR {_LIVENESS_CHANGED}")
    )
    op.execute(_trigger("images_vector_state_changed"))


def downgrade() -> None:
    op.execute("DROP TRIGGER images_vector_state_changed ON images")
    op.execute("DROP FUNCTION images_vector_state_changed()")
    op.execute(_images_function("images_taken_at_changed", _DATE_MOVED))
    op.execute(_trigger("images_taken_at_changed"))

"""A short log of which images' vectors changed, per space and generation.

The vector cache holds a space as it was at one generation. Under a steady stream of
writes (an import being analyzed) the generation moves every few seconds, and a cache
that could only reload would never be current. With this log, a matrix a few
generations old still answers exactly: the images changed since are left out of the
matrix and scored by PostgreSQL (``search.vector``), then both rankings are merged.

The triggers of migrations 0006 and 0007 now also log each statement's changed images
under the generation they moved the space to. A statement changing more than
``_MAX_LOGGED`` images of a space (a bulk load) logs one row with the nil UUID instead,
meaning "too much changed: reload". Each space keeps the rows of its last
``_KEPT_GENERATIONS`` generations; a cache older than that reloads.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from photostore.db.rls import enable_owner_rls, grant_app_access

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MAX_LOGGED = 1000
_KEPT_GENERATIONS = 1000
_NIL = "'00000000-0000-0000-0000-000000000000'::uuid"

# Rows each statement added (+1) or removed (-1), per space, from its transition tables.
_DELTAS = {
    "INSERT": "SELECT owner_id, space_id, image_id, 1 AS n FROM added",
    "DELETE": "SELECT owner_id, space_id, image_id, -1 AS n FROM removed",
    "UPDATE": (
        "SELECT owner_id, space_id, image_id, 1 AS n FROM added "
        "UNION ALL SELECT owner_id, space_id, image_id, -1 AS n FROM removed"
    ),
}

# The tail of each trigger's one statement: from ``changed (owner_id, space_id,
# image_id)`` and ``bumped (owner_id, id, generation, images)`` (each space's new
# generation and how many of its images changed), log the changes and forget old ones.
_LOG_CHANGES = f"""
    logged AS (
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
"""  # noqa: S608 - built from the constants above


def _embeddings_function(event: str) -> str:
    return f"""
        CREATE OR REPLACE FUNCTION embeddings_changed_{event.lower()}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            WITH d AS ({_DELTAS[event]}),
            changed AS (SELECT DISTINCT owner_id, space_id, image_id FROM d),
            counted AS (
                SELECT owner_id, space_id, sum(n) AS n, count(DISTINCT image_id) AS images
                FROM d GROUP BY owner_id, space_id
            ), bumped AS (
                UPDATE embedding_spaces s
                SET generation = s.generation + 1, vector_count = s.vector_count + c.n
                FROM counted c WHERE s.owner_id = c.owner_id AND s.id = c.space_id
                RETURNING s.owner_id, s.id, s.generation, c.images
            ),
            {_LOG_CHANGES}
            RETURN NULL;
        END
        $$
    """  # noqa: S608 - built from the constants above


_IMAGES_FUNCTION = f"""
    CREATE OR REPLACE FUNCTION images_taken_at_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        WITH moved_images AS (
            SELECT n.owner_id, n.id FROM new_images n
            JOIN old_images o ON o.owner_id = n.owner_id AND o.id = n.id
            WHERE n.taken_at IS DISTINCT FROM o.taken_at
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
        ),
        {_LOG_CHANGES}
        RETURN NULL;
    END
    $$
"""  # noqa: S608 - built from the constants above


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE embedding_changes (
            owner_id uuid NOT NULL,
            space_id uuid NOT NULL,
            generation bigint NOT NULL,
            image_id uuid NOT NULL,
            PRIMARY KEY (owner_id, space_id, generation, image_id),
            FOREIGN KEY (owner_id, space_id) REFERENCES embedding_spaces (owner_id, id)
                ON DELETE CASCADE
        )
        """
    )
    enable_owner_rls(op, "embedding_changes")
    grant_app_access(op, "embedding_changes")
    for event in _DELTAS:
        op.execute(_embeddings_function(event))
    op.execute(_IMAGES_FUNCTION)


def downgrade() -> None:
    # The bodies of migrations 0006 and 0007: the same counts and bumps, no log.
    for event, rows in _DELTAS.items():
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION embeddings_changed_{event.lower()}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE embedding_spaces s
                SET generation = s.generation + 1, vector_count = s.vector_count + c.n
                FROM (SELECT owner_id, space_id, sum(n) AS n FROM ({rows}) d
                      GROUP BY owner_id, space_id) c
                WHERE s.owner_id = c.owner_id AND s.id = c.space_id;
                RETURN NULL;
            END
            $$
            """  # noqa: S608 - built from the constants above
        )
    op.execute(
        """
        CREATE OR REPLACE FUNCTION images_taken_at_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
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
    op.execute("DROP TABLE embedding_changes")

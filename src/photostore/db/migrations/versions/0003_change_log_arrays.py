"""The vector change log as one row per statement and space, its images in an array.

Until this revision ``embedding_changes`` held a row per changed image: a bulk write of
1,000 vectors wrote 1,000 log rows, each with its primary-key entry and its foreign-key
check, and the pruning deleted as many. Now a statement logs one row per space it
changed, ``image_ids`` holding the images it changed there (16 kB at most: more than
``_MAX_LOGGED`` images is logged as NULL, which tells the vector cache to read the
space again). The triggers keep their names; their functions are replaced.

The log is emptied both ways. Only the vector caches of running processes read it, and
a migration runs before the service starts (``db/migrate.py``), so no cache holds a
matrix whose changes it would have to find there; the next writes fill it again.

Revision ID: 0003_change_log_arrays
Revises: 0002_search_words
Create Date: 2026-12-01
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0003_change_log_arrays"
down_revision: str | None = "0002_search_words"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in the baseline: a migration is a snapshot, its numbers written here.
LOGGED_GENERATIONS = 1000
_MAX_LOGGED = 1000

# Per event on embeddings: the rows the statement added (+1) or removed (-1).
_EMBEDDING_EVENTS: dict[str, str] = {
    "INSERT": "SELECT owner_id, space_id, image_id, 1 AS n FROM added",
    "DELETE": "SELECT owner_id, space_id, image_id, -1 AS n FROM removed",
    "UPDATE": (
        "SELECT owner_id, space_id, image_id, 1 AS n FROM added "
        "UNION ALL SELECT owner_id, space_id, image_id, -1 AS n FROM removed"
    ),
}

# The tail of each trigger's one statement: from ``changed (owner_id, space_id,
# image_id)`` and ``bumped (owner_id, id, generation, images)`` (each space's new
# generation and how many of its images changed), log one row per space that lost or
# gained images and forget the rows of old generations.
_LOG_CHANGES = f"""
    logged AS (
        INSERT INTO embedding_changes (owner_id, space_id, generation, image_ids)
        SELECT b.owner_id, b.id, b.generation,
               CASE WHEN b.images <= {_MAX_LOGGED} THEN ARRAY(
                   SELECT c.image_id FROM changed c
                   WHERE c.owner_id = b.owner_id AND c.space_id = b.id
               ) END
        FROM bumped b WHERE b.images > 0
    )
    DELETE FROM embedding_changes x USING bumped b
    WHERE x.owner_id = b.owner_id AND x.space_id = b.id
      AND x.generation <= b.generation - {LOGGED_GENERATIONS};
"""  # noqa: S608 - built from the constants above


def _embeddings_function(event: str) -> str:
    return f"""
        CREATE OR REPLACE FUNCTION embeddings_changed_{event.lower()}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            WITH d AS ({_EMBEDDING_EVENTS[event]}),
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


# The images trigger moves every space of an owner whose photo changed date or trash
# state (see the baseline); a space with none of those images among its vectors moves
# without a log row, as before.
_IMAGES_FUNCTION = f"""
        CREATE OR REPLACE FUNCTION images_vector_state_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            WITH moved_images AS (
                SELECT n.owner_id, n.id FROM new_images n
                JOIN old_images o ON o.owner_id = n.owner_id AND o.id = n.id
                WHERE n.taken_at IS DISTINCT FROM o.taken_at OR (n.trashed_at IS NULL) <> (o.trashed_at IS NULL)
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
    op.execute("TRUNCATE embedding_changes")
    op.execute("ALTER TABLE embedding_changes DROP CONSTRAINT embedding_changes_pkey")
    op.execute("ALTER TABLE embedding_changes DROP COLUMN image_id")
    op.execute("ALTER TABLE embedding_changes ADD COLUMN image_ids uuid[]")
    op.execute(
        "ALTER TABLE embedding_changes ADD CONSTRAINT embedding_changes_pkey "
        "PRIMARY KEY (owner_id, space_id, generation)"
    )
    for event in _EMBEDDING_EVENTS:
        op.execute(_embeddings_function(event))
    op.execute(_IMAGES_FUNCTION)


def downgrade() -> None:
    baseline = _baseline()
    op.execute("TRUNCATE embedding_changes")
    op.execute("ALTER TABLE embedding_changes DROP CONSTRAINT embedding_changes_pkey")
    op.execute("ALTER TABLE embedding_changes DROP COLUMN image_ids")
    op.execute("ALTER TABLE embedding_changes ADD COLUMN image_id uuid NOT NULL")
    op.execute(
        "ALTER TABLE embedding_changes ADD CONSTRAINT embedding_changes_pkey "
        "PRIMARY KEY (owner_id, space_id, generation, image_id)"
    )
    # The baseline's own function texts, made to replace these.
    for event in _EMBEDDING_EVENTS:
        op.execute(
            baseline._embeddings_function(event).replace(
                "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1
            )
        )
    op.execute(
        baseline._IMAGES_FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    )


def _baseline() -> ModuleType:
    """The baseline revision's module (revision files are not a package)."""
    path = Path(__file__).with_name("0001_baseline.py")
    spec = importlib.util.spec_from_file_location("photostore_migration_0001_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

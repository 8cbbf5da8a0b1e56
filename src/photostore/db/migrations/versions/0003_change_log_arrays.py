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

# The tail of each trigger function's one statement: from ``changed (owner_id, space_id,
# image_id)`` and ``bumped (owner_id, id, generation, images)`` (each space's new
# generation and how many of its images changed), log one row per space that lost or
# gained images and forget the rows of old generations. The rest of each function is
# the baseline's, unchanged.
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


def _functions(log_changes: str | None) -> list[str]:
    """The baseline's trigger functions as ``CREATE OR REPLACE``, the tail of each (from
    ``logged AS (`` to the pruning ``DELETE``'s end) replaced by ``log_changes``, or kept
    as the baseline wrote it (None)."""
    baseline = _baseline()
    texts = [baseline._embeddings_function(event) for event in baseline._EMBEDDING_EVENTS]
    texts.append(baseline._IMAGES_FUNCTION)
    replaced = []
    end_marker = f"b.generation - {LOGGED_GENERATIONS};"
    for text in texts:
        function = text.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
        if log_changes is not None:
            start = function.index("logged AS (")
            end = function.index(end_marker, start) + len(end_marker)
            function = function[:start] + log_changes.strip() + function[end:]
        replaced.append(function)
    return replaced


def upgrade() -> None:
    op.execute("TRUNCATE embedding_changes")
    op.execute("ALTER TABLE embedding_changes DROP CONSTRAINT embedding_changes_pkey")
    op.execute("ALTER TABLE embedding_changes DROP COLUMN image_id")
    op.execute("ALTER TABLE embedding_changes ADD COLUMN image_ids uuid[]")
    op.execute(
        "ALTER TABLE embedding_changes ADD CONSTRAINT embedding_changes_pkey "
        "PRIMARY KEY (owner_id, space_id, generation)"
    )
    for function in _functions(_LOG_CHANGES):
        op.execute(function)


def downgrade() -> None:
    op.execute("TRUNCATE embedding_changes")
    op.execute("ALTER TABLE embedding_changes DROP CONSTRAINT embedding_changes_pkey")
    op.execute("ALTER TABLE embedding_changes DROP COLUMN image_ids")
    op.execute("ALTER TABLE embedding_changes ADD COLUMN image_id uuid NOT NULL")
    op.execute(
        "ALTER TABLE embedding_changes ADD CONSTRAINT embedding_changes_pkey "
        "PRIMARY KEY (owner_id, space_id, generation, image_id)"
    )
    for function in _functions(None):
        op.execute(function)


def _baseline() -> ModuleType:
    """The baseline revision's module (revision files are not a package)."""
    path = Path(__file__).with_name("0001_baseline.py")
    spec = importlib.util.spec_from_file_location("photostore_migration_0001_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

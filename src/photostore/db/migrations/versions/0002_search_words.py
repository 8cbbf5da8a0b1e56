"""Near matches in text search: each search document's words as plain text, trigram-indexed.

``search_documents.words`` holds an image's searchable words as lower-case text, and a
GIN index on ``(owner_id, words gin_trgm_ops)`` serves ``pg_trgm``'s word similarity and
``LIKE '%...%'`` inside one owner's documents (``search/text.py``). ``btree_gin`` lets
the ``uuid`` owner share the index, so a query reads only the caller's entries. Both
extensions are trusted: the schema owner creates them.

The upgrade fills ``words`` of existing documents from their sources, as
``services/search_documents.py`` does for new ones. The downgrade drops the index and
the column; it leaves the two extensions, which other objects of the database may use.

Revision ID: 0002_search_words
Revises: 0001_baseline
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_search_words"
down_revision: str | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Row-level security is forced on these tables and binds their owner too: the backfill
# reads the users in the system context, then each user's rows in theirs. The sources of
# an image's words are those services/search_documents.py reads at this revision: tags,
# named visible people with a face in it, labels, captions, the description, OCR text,
# the original filename.
_BACKFILL = """
DO $$ DECLARE owner uuid; BEGIN
PERFORM set_config('app.system', 'on', true);
FOR owner IN SELECT id FROM users LOOP
PERFORM set_config('app.user_id', owner::text, true);
UPDATE search_documents d
   SET words = lower(concat_ws(' ',
         (SELECT string_agg(t.name, ' ') FROM image_tags it
            JOIN tags t ON t.owner_id = it.owner_id AND t.id = it.tag_id
           WHERE it.owner_id = d.owner_id AND it.image_id = d.image_id),
         (SELECT string_agg(p.name, ' ') FROM faces f
            JOIN people p ON p.owner_id = f.owner_id AND p.id = f.person_id
           WHERE f.owner_id = d.owner_id AND f.image_id = d.image_id
             AND NOT p.hidden AND p.name IS NOT NULL),
         (SELECT string_agg(l.name, ' ') FROM labels l
           WHERE l.owner_id = d.owner_id AND l.image_id = d.image_id),
         (SELECT string_agg(x.body, ' ') FROM image_texts x
           WHERE x.owner_id = d.owner_id AND x.image_id = d.image_id AND x.kind = 'caption'),
         NULLIF(i.description, ''),
         (SELECT string_agg(x.body, ' ') FROM image_texts x
           WHERE x.owner_id = d.owner_id AND x.image_id = d.image_id AND x.kind = 'ocr'),
         NULLIF(i.original_filename, '')))
  FROM images i
 WHERE i.owner_id = d.owner_id AND i.id = d.image_id;
END LOOP;
PERFORM set_config('app.user_id', '', true);
PERFORM set_config('app.system', '', true);
END $$
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute("ALTER TABLE search_documents ADD COLUMN words text NOT NULL DEFAULT ''")
    op.execute(_BACKFILL)
    op.execute(
        "CREATE INDEX ix_search_documents_owner_words ON search_documents "
        "USING gin (owner_id, words gin_trgm_ops)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_search_documents_owner_words")
    op.execute("ALTER TABLE search_documents DROP COLUMN words")

"""The change feed: what changed in each user's library, for services to follow.

``changes`` gets a row for every image created, changed, trashed, restored or purged,
every image's tags changed, every analysis result, every change to an image's faces and
every vector written or deleted. Statement-level triggers with transition tables write
them, one ``INSERT ... SELECT`` per statement, so a batch of 1,000 costs one statement,
not 1,000. A row carries the id of the transaction that wrote it (``xid``, ``xid8``): a
reader takes only rows of transactions older than every transaction still running
(``pg_snapshot_xmin``), in (``xid``, ``id``) order, so a transaction that commits later
can never land behind a cursor already handed out (``db.repositories.changes``).

Rows removed with their user (the account deleted) are not recorded: the triggers skip
rows whose user, image or space is gone by the time the statement's triggers run, which
is how a cascade looks from inside them.

The triggers run as the writer (no SECURITY DEFINER): every write of a user's rows runs
in that user's context, which the row-level security of ``changes`` checks.

Revision ID: 0011_change_feed
Revises: 0010_schema_version_readable
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from photostore.db.rls import enable_owner_rls, grant_app_access

revision: str = "0011_change_feed"
down_revision: str | None = "0010_schema_version_readable"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = """
CREATE TABLE changes (
    owner_id uuid NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    kind varchar(32) NOT NULL,
    image_id uuid NOT NULL,
    detail text,
    at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_changes PRIMARY KEY (owner_id, id),
    CONSTRAINT fk_changes_owner_id_users FOREIGN KEY (owner_id)
        REFERENCES users (id) ON DELETE CASCADE
)
"""

_INDEX = "CREATE INDEX ix_changes_feed ON changes (owner_id, xid, id)"

# (trigger function, its body). Each inserts the statement's changes in one go.
_FUNCTIONS = {
    "changes_of_new_images": """
        INSERT INTO changes (owner_id, kind, image_id)
        SELECT n.owner_id, 'image.created', n.id FROM new_rows n ORDER BY n.id
    """,
    "changes_of_changed_images": """
        INSERT INTO changes (owner_id, kind, image_id)
        SELECT n.owner_id,
               CASE WHEN o.trashed_at IS NULL AND n.trashed_at IS NOT NULL THEN 'image.trashed'
                    WHEN o.trashed_at IS NOT NULL AND n.trashed_at IS NULL THEN 'image.restored'
                    ELSE 'image.updated' END,
               n.id
        FROM new_rows n JOIN old_rows o ON o.owner_id = n.owner_id AND o.id = n.id
        ORDER BY n.id
    """,
    "changes_of_purged_images": """
        INSERT INTO changes (owner_id, kind, image_id)
        SELECT o.owner_id, 'image.purged', o.id FROM old_rows o
        WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = o.owner_id)
        ORDER BY o.id
    """,
    "changes_of_image_tags": """
        INSERT INTO changes (owner_id, kind, image_id)
        SELECT DISTINCT r.owner_id, 'image.updated', r.image_id FROM changed_rows r
        WHERE EXISTS (SELECT 1 FROM images i WHERE i.owner_id = r.owner_id AND i.id = r.image_id)
        ORDER BY r.image_id
    """,
    "changes_of_analysis": """
        INSERT INTO changes (owner_id, kind, image_id, detail)
        SELECT n.owner_id, 'analysis.written', n.image_id, n.analyzer FROM new_rows n
        ORDER BY n.id
    """,
    "changes_of_faces": """
        INSERT INTO changes (owner_id, kind, image_id)
        SELECT DISTINCT r.owner_id, 'faces.written', r.image_id FROM changed_rows r
        WHERE EXISTS (SELECT 1 FROM images i WHERE i.owner_id = r.owner_id AND i.id = r.image_id)
        ORDER BY r.image_id
    """,
    "changes_of_written_vectors": """
        INSERT INTO changes (owner_id, kind, image_id, detail)
        SELECT n.owner_id, 'embedding.written', n.image_id, s.name
        FROM new_rows n JOIN embedding_spaces s ON s.owner_id = n.owner_id AND s.id = n.space_id
        ORDER BY n.image_id
    """,
    "changes_of_deleted_vectors": """
        INSERT INTO changes (owner_id, kind, image_id, detail)
        SELECT o.owner_id, 'embedding.deleted', o.image_id, s.name
        FROM old_rows o JOIN embedding_spaces s ON s.owner_id = o.owner_id AND s.id = o.space_id
        WHERE EXISTS (SELECT 1 FROM images i WHERE i.owner_id = o.owner_id AND i.id = o.image_id)
        ORDER BY o.image_id
    """,
}

# (trigger name, table, event, transition tables, function).
_TRIGGERS = (
    ("images_new", "images", "INSERT", "NEW TABLE AS new_rows", "changes_of_new_images"),
    (
        "images_changed",
        "images",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "changes_of_changed_images",
    ),
    ("images_purged", "images", "DELETE", "OLD TABLE AS old_rows", "changes_of_purged_images"),
    (
        "image_tags_added",
        "image_tags",
        "INSERT",
        "NEW TABLE AS changed_rows",
        "changes_of_image_tags",
    ),
    (
        "image_tags_removed",
        "image_tags",
        "DELETE",
        "OLD TABLE AS changed_rows",
        "changes_of_image_tags",
    ),
    ("analysis_new", "analysis_results", "INSERT", "NEW TABLE AS new_rows", "changes_of_analysis"),
    ("faces_added", "faces", "INSERT", "NEW TABLE AS changed_rows", "changes_of_faces"),
    ("faces_changed", "faces", "UPDATE", "NEW TABLE AS changed_rows", "changes_of_faces"),
    ("faces_removed", "faces", "DELETE", "OLD TABLE AS changed_rows", "changes_of_faces"),
    ("vectors_new", "embeddings", "INSERT", "NEW TABLE AS new_rows", "changes_of_written_vectors"),
    (
        "vectors_changed",
        "embeddings",
        "UPDATE",
        "NEW TABLE AS new_rows",
        "changes_of_written_vectors",
    ),
    (
        "vectors_removed",
        "embeddings",
        "DELETE",
        "OLD TABLE AS old_rows",
        "changes_of_deleted_vectors",
    ),
)


def upgrade() -> None:
    op.execute(_TABLE)
    op.execute(_INDEX)
    enable_owner_rls(op, "changes")
    grant_app_access(op, "changes")
    for name, body in _FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
            f"SET search_path = public, pg_temp AS $$ BEGIN {body}; RETURN NULL; END $$"
        )
    for name, table, event, transitions, function in _TRIGGERS:
        op.execute(
            f"CREATE TRIGGER changes_{name} AFTER {event} ON {table} "
            f"REFERENCING {transitions} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def downgrade() -> None:
    for name, table, *_ in _TRIGGERS:
        op.execute(f"DROP TRIGGER changes_{name} ON {table}")
    for name in _FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
    op.execute("DROP TABLE changes")

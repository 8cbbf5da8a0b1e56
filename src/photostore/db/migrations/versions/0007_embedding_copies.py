"""Embeddings no longer repeat their space's dimension and metric.

The baseline copied both into every ``embeddings`` row so that partial vector indexes
could be declared per (dimension, metric). Indexes are per space instead
(``db.search.indexes``: ``WHERE space_id = ...``), and no statement reads the copies: they
cost 12 bytes and two parameters per stored vector. Dropping a column is a change of the
catalog only; the rows are not rewritten.

The downgrade adds the columns back, filled from each row's space. The table owner runs
migrations and row-level security binds it too (``FORCE``), so the fill lifts that for
the two tables it reads, inside this transaction only, and the change-log triggers are
held off: the vectors themselves do not change.

Revision ID: 0007_embedding_copies
Revises: 0006_nfc_emails
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_embedding_copies"
down_revision: str | None = "0006_nfc_emails"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE embeddings DROP COLUMN dimension, DROP COLUMN metric")


def downgrade() -> None:
    op.execute("ALTER TABLE embeddings ADD COLUMN dimension integer, ADD COLUMN metric varchar(8)")
    for table in ("embeddings", "embedding_spaces"):
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE embeddings DISABLE TRIGGER USER")
    op.execute(
        "UPDATE embeddings e SET dimension = s.dimension, metric = s.metric "
        "FROM embedding_spaces s WHERE s.owner_id = e.owner_id AND s.id = e.space_id"
    )
    op.execute("ALTER TABLE embeddings ENABLE TRIGGER USER")
    for table in ("embeddings", "embedding_spaces"):
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        "ALTER TABLE embeddings ALTER COLUMN dimension SET NOT NULL, "
        "ALTER COLUMN metric SET NOT NULL"
    )

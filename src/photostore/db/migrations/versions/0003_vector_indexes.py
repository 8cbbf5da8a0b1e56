"""Vector storage for fast exact scans; HNSW indexes are per space (``search optimize``).

No global HNSW index is created: filtered by owner it overfilters (DESIGN.md, and
``bench/search.py`` prints its recall), and every insert of every user would pay for it.
Large spaces get their own partial HNSW index from ``photostore search optimize``
(``photostore.search.indexes``); everything else is searched exactly through the
primary key ``(owner_id, space_id, image_id)``.

What this revision changes is where vectors live. PostgreSQL moves a value out of line
(TOAST) once a row passes ~2 kB, which a 512-d vector (2,056 bytes) does: every row of
an exact scan would then cost a second index lookup and heap read. Keeping rows up to
one page inline (``toast_tuple_target = 8160``, about 2,000 dimensions) and never
compressing vectors (``STORAGE EXTERNAL``: float noise does not compress, trying costs
CPU on every write) keeps an exact scan at one heap tuple per vector.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE embeddings ALTER COLUMN embedding SET STORAGE EXTERNAL")
    op.execute("ALTER TABLE embeddings SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    op.execute("ALTER TABLE embeddings RESET (toast_tuple_target)")
    op.execute("ALTER TABLE embeddings ALTER COLUMN embedding SET STORAGE EXTENDED")

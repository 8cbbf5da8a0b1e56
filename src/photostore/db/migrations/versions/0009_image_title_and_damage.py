"""An image's title, and a flag for a photo kept although its data is damaged.

``title`` is what a sidecar (XMP ``dc:title``) or the user names a photo, apart from its
description. ``damaged`` marks an original whose header and dimensions read but whose
pixel data is truncated or partly corrupt: photostore keeps such a file byte-exact, with
thumbnails made from what decodes, instead of refusing it and losing the user's photo.

Both are added without a table rewrite (a nullable column, and a column whose default is
a constant); the downgrade drops them.

Revision ID: 0009_image_title_and_damage
Revises: 0008_master_key_uses
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_image_title_and_damage"
down_revision: str | None = "0008_master_key_uses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE images ADD COLUMN title text")
    op.execute("ALTER TABLE images ADD COLUMN damaged boolean NOT NULL DEFAULT false")


def downgrade() -> None:
    op.execute("ALTER TABLE images DROP COLUMN damaged")
    op.execute("ALTER TABLE images DROP COLUMN title")

"""Core schema: users, blobs, images, derivatives, tags, with row-level security.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from photostore.db.rls import enable_owner_rls, enable_users_rls, grant_app_access

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TENANT_TABLES = ("blobs", "images", "derivatives", "tags", "image_tags")


def _ts(name: str, *, nullable: bool = False, default: bool = False) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.func.now() if default else None,
    )


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False, server_default="user"),
        sa.Column("token_version", sa.Integer, nullable=False, server_default="0"),
        _ts("created_at", default=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.CheckConstraint("role IN ('admin', 'user')", name="ck_users_role"),
    )
    op.create_table(
        "blobs",
        sa.Column("owner_id", UUID(as_uuid=True), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("byte_size", sa.BigInteger, nullable=False),
        _ts("created_at", default=True),
        sa.PrimaryKeyConstraint("owner_id", "sha256", name="pk_blobs"),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], ondelete="CASCADE", name="fk_blobs_owner_id_users"
        ),
    )
    op.create_table(
        "images",
        sa.Column("owner_id", UUID(as_uuid=True), nullable=False),
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("original_filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("byte_size", sa.BigInteger, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("orientation", sa.SmallInteger, nullable=False, server_default="1"),
        _ts("taken_at"),
        sa.Column("taken_at_source", sa.String(32), nullable=False),
        sa.Column("taken_at_offset_minutes", sa.SmallInteger, nullable=True),
        _ts("uploaded_at", default=True),
        _ts("updated_at", default=True),
        sa.Column("camera_make", sa.Text, nullable=True),
        sa.Column("camera_model", sa.Text, nullable=True),
        sa.Column("latitude", sa.Float, nullable=True),
        sa.Column("longitude", sa.Float, nullable=True),
        sa.Column("altitude", sa.Float, nullable=True),
        sa.Column("exif", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("favorite", sa.Boolean, nullable=False, server_default="false"),
        _ts("trashed_at", nullable=True),
        sa.PrimaryKeyConstraint("owner_id", "id", name="pk_images"),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], ondelete="CASCADE", name="fk_images_owner_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id", "sha256"],
            ["blobs.owner_id", "blobs.sha256"],
            name="fk_images_owner_id_sha256_blobs",
        ),
    )
    op.create_index("uq_images_owner_id_sha256", "images", ["owner_id", "sha256"], unique=True)
    op.create_index(
        "ix_images_timeline",
        "images",
        ["owner_id", sa.text("taken_at DESC"), sa.text("id DESC")],
    )
    op.create_table(
        "derivatives",
        sa.Column("owner_id", UUID(as_uuid=True), nullable=False),
        sa.Column("image_id", UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("byte_size", sa.BigInteger, nullable=False),
        _ts("created_at", default=True),
        sa.PrimaryKeyConstraint("owner_id", "image_id", "kind", name="pk_derivatives"),
        sa.ForeignKeyConstraint(
            ["owner_id", "image_id"],
            ["images.owner_id", "images.id"],
            ondelete="CASCADE",
            name="fk_derivatives_owner_id_image_id_images",
        ),
    )
    op.create_table(
        "tags",
        sa.Column("owner_id", UUID(as_uuid=True), nullable=False),
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        _ts("created_at", default=True),
        sa.PrimaryKeyConstraint("owner_id", "id", name="pk_tags"),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], ondelete="CASCADE", name="fk_tags_owner_id_users"
        ),
    )
    op.create_index(
        "uq_tags_owner_id_name", "tags", ["owner_id", sa.text("lower(name)")], unique=True
    )
    op.create_table(
        "image_tags",
        sa.Column("owner_id", UUID(as_uuid=True), nullable=False),
        sa.Column("image_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tag_id", UUID(as_uuid=True), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "image_id", "tag_id", name="pk_image_tags"),
        sa.ForeignKeyConstraint(
            ["owner_id", "image_id"],
            ["images.owner_id", "images.id"],
            ondelete="CASCADE",
            name="fk_image_tags_owner_id_image_id_images",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id", "tag_id"],
            ["tags.owner_id", "tags.id"],
            ondelete="CASCADE",
            name="fk_image_tags_owner_id_tag_id_tags",
        ),
    )
    op.create_index(
        "ix_image_tags_owner_id_tag_id", "image_tags", ["owner_id", "tag_id", "image_id"]
    )

    enable_users_rls(op)
    for table in _TENANT_TABLES:
        enable_owner_rls(op, table)
    for table in ("users", *_TENANT_TABLES):
        grant_app_access(op, table)


def downgrade() -> None:
    for table in ("image_tags", "tags", "derivatives", "images", "blobs", "users"):
        op.drop_table(table)

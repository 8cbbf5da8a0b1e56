"""The tables of photostore as SQLAlchemy models.

Rule: every tenant table has ``owner_id`` as the first column of its primary key, and
every foreign key between tenant tables includes ``owner_id``. The same rule gives
row-level security, partitioning by owner and a distribution column for a sharded
PostgreSQL. ``docs/schema.md`` draws these tables.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        uuid.UUID: UUID(as_uuid=True),
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
    }


class User(Base):
    """An account. Its id is the ``owner_id`` of everything the user stores."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(Text, unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16), server_default="user")
    token_version: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (CheckConstraint("role IN ('admin', 'user')", name="role"),)


class Blob(Base):
    """An original file, addressed by the sha256 of its bytes, per owner."""

    __tablename__ = "blobs"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    byte_size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),)


class Image(Base):
    """One photo of one user: the facts of its original file and what the user set."""

    __tablename__ = "images"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    original_filename: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(64))
    byte_size: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    orientation: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    taken_at: Mapped[datetime]
    taken_at_source: Mapped[str] = mapped_column(String(32))
    taken_at_offset_minutes: Mapped[int | None] = mapped_column(SmallInteger)
    uploaded_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    camera_make: Mapped[str | None] = mapped_column(Text)
    camera_model: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    altitude: Mapped[float | None]
    exif: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    description: Mapped[str | None] = mapped_column(Text)
    favorite: Mapped[bool] = mapped_column(Boolean, server_default="false")
    trashed_at: Mapped[datetime | None]

    __table_args__ = (
        ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["owner_id", "sha256"], ["blobs.owner_id", "blobs.sha256"]),
        Index("uq_images_owner_id_sha256", "owner_id", "sha256", unique=True),
        Index("ix_images_timeline", "owner_id", text("taken_at DESC"), text("id DESC")),
    )


class Derivative(Base):
    """A thumbnail of an image, stored in the blob store beside the original."""

    __tablename__ = "derivatives"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    image_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(64))
    byte_size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        ForeignKeyConstraint(
            ["owner_id", "image_id"], ["images.owner_id", "images.id"], ondelete="CASCADE"
        ),
    )


class Tag(Base):
    """A user's tag; names are unique per user, ignoring case."""

    __tablename__ = "tags"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        Index("uq_tags_owner_id_name", "owner_id", text("lower(name)"), unique=True),
    )


class ImageTag(Base):
    """Which tags an image carries."""

    __tablename__ = "image_tags"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    image_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tag_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["owner_id", "image_id"], ["images.owner_id", "images.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["owner_id", "tag_id"], ["tags.owner_id", "tags.id"], ondelete="CASCADE"
        ),
        Index("ix_image_tags_owner_id_tag_id", "owner_id", "tag_id", "image_id"),
    )


TENANT_TABLES: tuple[str, ...] = ("blobs", "images", "derivatives", "tags", "image_tags")
"""Tables whose rows belong to one user and are fenced by row-level security."""

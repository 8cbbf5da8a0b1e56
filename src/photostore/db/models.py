"""The tables of photostore as SQLAlchemy models.

Rule: every tenant table has ``owner_id`` as the first column of its primary key, and
every foreign key between tenant tables includes ``owner_id``. The same rule gives
row-level security, partitioning by owner and a distribution column for a sharded
PostgreSQL. ``docs/schema.md`` draws these tables.

All tables are in this one module on purpose, though it passes 400 lines: they are one
``MetaData`` that the migrations are compared with (``tests/db/test_migrations.py``),
and the rule above is checked by reading them side by side.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

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
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    favorite: Mapped[bool] = mapped_column(Boolean, server_default="false")
    damaged: Mapped[bool] = mapped_column(Boolean, server_default="false")
    trashed_at: Mapped[datetime | None]

    __table_args__ = (
        ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["owner_id", "sha256"], ["blobs.owner_id", "blobs.sha256"]),
        Index("uq_images_owner_id_sha256", "owner_id", "sha256", unique=True),
        Index("ix_images_timeline", "owner_id", text("taken_at DESC"), text("id DESC")),
        Index(
            "ix_images_trashed", "owner_id", "id", postgresql_where=text("trashed_at IS NOT NULL")
        ),
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


def _image_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["owner_id", "image_id"], ["images.owner_id", "images.id"], ondelete="CASCADE"
    )


class AnalysisResult(Base):
    """One write of an analyzer about an image; the newest per analyzer wins, all are kept."""

    __tablename__ = "analysis_results"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    image_id: Mapped[uuid.UUID]
    analyzer: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        _image_fk(),
        Index(
            "ix_analysis_results_newest",
            "owner_id",
            "image_id",
            "analyzer",
            text("created_at DESC"),
        ),
    )


class Label(Base):
    """A normalized label (object, scene, landmark) of an image, from its newest analysis."""

    __tablename__ = "labels"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    image_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    analyzer: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    confidence: Mapped[float | None]

    __table_args__ = (
        _image_fk(),
        CheckConstraint("kind IN ('object', 'scene', 'landmark')", name="kind"),
        Index("ix_labels_owner_id_name", "owner_id", "name", "image_id"),
    )


class ImageText(Base):
    """Text found in or written about an image (OCR, caption), from its newest analysis."""

    __tablename__ = "image_texts"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    image_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    analyzer: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        _image_fk(),
        CheckConstraint("kind IN ('ocr', 'caption')", name="kind"),
    )


class SearchDocument(Base):
    """Everything searchable as text about an image: a weighted tsvector for word matches,
    and the same words as lower-case text for near matches (trigrams)."""

    __tablename__ = "search_documents"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    image_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    document: Mapped[str] = mapped_column(TSVECTOR)
    words: Mapped[str] = mapped_column(Text, server_default=text("''"))

    __table_args__ = (
        _image_fk(),
        Index("ix_search_documents_document", "document", postgresql_using="gin"),
        Index(
            "ix_search_documents_owner_words",
            "owner_id",
            "words",
            postgresql_using="gin",
            postgresql_ops={"words": "gin_trgm_ops"},
        ),
    )


class Person(Base):
    """A cluster of faces, named or not."""

    __tablename__ = "people"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    hidden: Mapped[bool] = mapped_column(Boolean, server_default="false")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),)


class Face(Base):
    """A face found in an image: a box in relative coordinates, a score, an embedding."""

    __tablename__ = "faces"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    image_id: Mapped[uuid.UUID]
    person_id: Mapped[uuid.UUID | None]
    box_x: Mapped[float]
    box_y: Mapped[float]
    box_width: Mapped[float]
    box_height: Mapped[float]
    score: Mapped[float]
    model: Mapped[str] = mapped_column(String(100))
    embedding: Mapped[list[float] | None] = mapped_column(Vector())
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        _image_fk(),
        # PostgreSQL 15+: on deleting a person, null only person_id, never owner_id.
        ForeignKeyConstraint(
            ["owner_id", "person_id"],
            ["people.owner_id", "people.id"],
            ondelete="SET NULL (person_id)",
        ),
        Index("ix_faces_owner_id_image_id", "owner_id", "image_id"),
        Index("ix_faces_owner_id_person_id", "owner_id", "person_id"),
    )


class Album(Base):
    __tablename__ = "albums"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),)


class AlbumImage(Base):
    """An image in an album; an image may be in many albums."""

    __tablename__ = "album_images"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    album_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    image_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    added_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        ForeignKeyConstraint(
            ["owner_id", "album_id"], ["albums.owner_id", "albums.id"], ondelete="CASCADE"
        ),
        _image_fk(),
        Index("ix_album_images_owner_id_image_id", "owner_id", "image_id"),
    )


class EmbeddingSpace(Base):
    """A named vector space of one model: its dimension and distance metric."""

    __tablename__ = "embedding_spaces"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(200))
    dimension: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    generation: Mapped[int] = mapped_column(BigInteger, server_default="0")
    """Bumped by a trigger whenever a vector of the space, or the date or trash state of
    one of its images, changes."""
    vector_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    """How many vectors the space holds, kept by the same triggers."""

    __table_args__ = (
        ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        CheckConstraint("metric IN ('cosine', 'l2', 'ip')", name="metric"),
        CheckConstraint("dimension BETWEEN 1 AND 16000", name="dimension"),
        Index("uq_embedding_spaces_owner_id_name", "owner_id", "name", unique=True),
    )


class Embedding(Base):
    """One vector of an image in a space (the space says its dimension and metric)."""

    __tablename__ = "embeddings"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    space_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    image_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    embedding: Mapped[list[float]] = mapped_column(Vector())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        ForeignKeyConstraint(
            ["owner_id", "space_id"],
            ["embedding_spaces.owner_id", "embedding_spaces.id"],
            ondelete="CASCADE",
        ),
        _image_fk(),
        Index("ix_embeddings_owner_id_image_id", "owner_id", "image_id"),
    )


LOGGED_GENERATIONS = 1000
"""How many generations back ``embedding_changes`` reaches: the triggers of the schema
forget a space's rows older than its last this many. The baseline migration builds the
number into them, so changing it takes a migration that rewrites the trigger functions."""


class EmbeddingChange(Base):
    """The images whose vector, date or trash state in a space one statement changed, at
    the generation it moved the space to: the log the vector cache reads to answer from
    a slightly older matrix, kept by triggers. ``image_ids`` NULL means more changed
    than was logged."""

    __tablename__ = "embedding_changes"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    space_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    image_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(UUID(as_uuid=True)))

    __table_args__ = (
        ForeignKeyConstraint(
            ["owner_id", "space_id"],
            ["embedding_spaces.owner_id", "embedding_spaces.id"],
            ondelete="CASCADE",
        ),
    )


TENANT_TABLES: tuple[str, ...] = (
    "blobs",
    "images",
    "derivatives",
    "tags",
    "image_tags",
    "analysis_results",
    "labels",
    "image_texts",
    "search_documents",
    "people",
    "faces",
    "albums",
    "album_images",
    "embedding_spaces",
    "embeddings",
    "embedding_changes",
    "api_keys",
    "refresh_families",
    "audit_log",
    "user_keys",
    "changes",
)
"""Tables whose rows belong to one user and are fenced by row-level security."""


# -- security ------------------------------------------------------------------------------


class ApiKey(Base):
    """A user's API key: it acts on its owner's data (``kind`` is always ``user``; service
    keys are :class:`ServiceKey` rows). Only the sha256 of the secret is stored."""

    __tablename__ = "api_keys"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, unique=True)
    name: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(String(64))
    secret_sha256: Mapped[bytes] = mapped_column(LargeBinary)
    kind: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (
        ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        CheckConstraint("kind = 'user'", name="kind"),
    )


class ServiceKey(Base):
    """A key of another service of the photo application: it acts for the user each
    request names, with data scopes only. Made by the operator's command, listed and
    revoked by every admin, owned by no account, so no account's password change or
    logout touches it. Row-level security admits the system context only."""

    __tablename__ = "service_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(String(64))
    secret_sha256: Mapped[bytes] = mapped_column(LargeBinary)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    made_by_admin_id: Mapped[uuid.UUID | None]
    """The admin who made it, for keys made before they came from the operator (0004)."""
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_admin_id: Mapped[uuid.UUID | None]
    """The admin who revoked it; None when the operator's command did."""


class MasterKeyUse(Base):
    """How many data keys are wrapped under one master key (migration 0008): a trigger on
    ``user_keys`` keeps the count, the service role only reads it (system context), and a
    start refuses when a counted master key is not configured."""

    __tablename__ = "master_key_uses"

    master_key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data_keys: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("data_keys >= 0", name="data_keys"),)


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (``pg_current_xact_id()``)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "xid8"


class Change(Base):
    """One change in a user's library, written by the triggers of migration 0011 and read
    by the change feed in (``xid``, ``id``) order (``db.repositories.changes``)."""

    __tablename__ = "changes"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    xid: Mapped[int] = mapped_column(Xid8(), server_default=text("pg_current_xact_id()"))
    kind: Mapped[str] = mapped_column(String(32))
    image_id: Mapped[uuid.UUID]
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        Index("ix_changes_feed", "owner_id", "xid", "id"),
    )


class RefreshFamily(Base):
    """The refresh tokens of one login: each refresh replaces the family's one valid
    token with the next ``generation``; presenting an older one revokes the family."""

    __tablename__ = "refresh_families"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),)


class AuditEntry(Base):
    """One audited operation. ``owner_id`` is the user acted for (an admin's own id for
    admin actions). No foreign key to users: the trail outlives a deleted account."""

    __tablename__ = "audit_log"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    principal_id: Mapped[uuid.UUID]
    principal_kind: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(Text)
    target_type: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(Text)
    result: Mapped[int] = mapped_column(SmallInteger)
    request_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("principal_kind IN ('user', 'service', 'admin')", name="principal_kind"),
        Index("ix_audit_log_owner_id_at", "owner_id", text("at DESC"), text("id DESC")),
    )


class UserKey(Base):
    """A user's data key, wrapped (AES-256-GCM) by the master key named ``master_key_id``.
    Deleting the row makes the user's blobs unreadable (crypto-shredding)."""

    __tablename__ = "user_keys"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, unique=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),)

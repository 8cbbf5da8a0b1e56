"""Library: analysis results, labels, texts, search documents, people, faces, albums,
embedding spaces and embeddings, all fenced by row-level security.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from photostore.db.rls import enable_owner_rls, grant_app_access

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IMAGE_FK = "FOREIGN KEY (owner_id, image_id) REFERENCES images (owner_id, id) ON DELETE CASCADE"
_USER_FK = "FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE"

_TABLES: dict[str, str] = {
    "analysis_results": f"""
        owner_id uuid NOT NULL,
        id uuid NOT NULL,
        image_id uuid NOT NULL,
        analyzer varchar(100) NOT NULL,
        model_version varchar(100) NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_analysis_results PRIMARY KEY (owner_id, id),
        CONSTRAINT fk_analysis_results_image {_IMAGE_FK}
    """,
    "labels": f"""
        owner_id uuid NOT NULL,
        image_id uuid NOT NULL,
        analyzer varchar(100) NOT NULL,
        kind varchar(16) NOT NULL,
        name text NOT NULL,
        confidence double precision,
        CONSTRAINT pk_labels PRIMARY KEY (owner_id, image_id, analyzer, kind, name),
        CONSTRAINT ck_labels_kind CHECK (kind IN ('object', 'scene', 'landmark')),
        CONSTRAINT fk_labels_image {_IMAGE_FK}
    """,
    "image_texts": f"""
        owner_id uuid NOT NULL,
        image_id uuid NOT NULL,
        analyzer varchar(100) NOT NULL,
        kind varchar(16) NOT NULL,
        body text NOT NULL,
        CONSTRAINT pk_image_texts PRIMARY KEY (owner_id, image_id, analyzer, kind),
        CONSTRAINT ck_image_texts_kind CHECK (kind IN ('ocr', 'caption')),
        CONSTRAINT fk_image_texts_image {_IMAGE_FK}
    """,
    "search_documents": f"""
        owner_id uuid NOT NULL,
        image_id uuid NOT NULL,
        document tsvector NOT NULL,
        CONSTRAINT pk_search_documents PRIMARY KEY (owner_id, image_id),
        CONSTRAINT fk_search_documents_image {_IMAGE_FK}
    """,
    "people": f"""
        owner_id uuid NOT NULL,
        id uuid NOT NULL,
        name text,
        hidden boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_people PRIMARY KEY (owner_id, id),
        CONSTRAINT fk_people_owner {_USER_FK}
    """,
    "faces": f"""
        owner_id uuid NOT NULL,
        id uuid NOT NULL,
        image_id uuid NOT NULL,
        person_id uuid,
        box_x double precision NOT NULL,
        box_y double precision NOT NULL,
        box_width double precision NOT NULL,
        box_height double precision NOT NULL,
        score double precision NOT NULL,
        model varchar(100) NOT NULL,
        embedding vector,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_faces PRIMARY KEY (owner_id, id),
        CONSTRAINT fk_faces_image {_IMAGE_FK},
        -- PostgreSQL 15+: deleting a person nulls person_id only, never owner_id.
        CONSTRAINT fk_faces_person FOREIGN KEY (owner_id, person_id)
            REFERENCES people (owner_id, id) ON DELETE SET NULL (person_id)
    """,
    "albums": f"""
        owner_id uuid NOT NULL,
        id uuid NOT NULL,
        name text NOT NULL,
        description text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_albums PRIMARY KEY (owner_id, id),
        CONSTRAINT fk_albums_owner {_USER_FK}
    """,
    "album_images": f"""
        owner_id uuid NOT NULL,
        album_id uuid NOT NULL,
        image_id uuid NOT NULL,
        added_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_album_images PRIMARY KEY (owner_id, album_id, image_id),
        CONSTRAINT fk_album_images_album FOREIGN KEY (owner_id, album_id)
            REFERENCES albums (owner_id, id) ON DELETE CASCADE,
        CONSTRAINT fk_album_images_image {_IMAGE_FK}
    """,
    "embedding_spaces": f"""
        owner_id uuid NOT NULL,
        id uuid NOT NULL,
        name varchar(100) NOT NULL,
        model varchar(200) NOT NULL,
        dimension integer NOT NULL,
        metric varchar(8) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_embedding_spaces PRIMARY KEY (owner_id, id),
        CONSTRAINT ck_embedding_spaces_metric CHECK (metric IN ('cosine', 'l2', 'ip')),
        CONSTRAINT ck_embedding_spaces_dimension CHECK (dimension BETWEEN 1 AND 16000),
        CONSTRAINT fk_embedding_spaces_owner {_USER_FK}
    """,
    "embeddings": f"""
        owner_id uuid NOT NULL,
        space_id uuid NOT NULL,
        image_id uuid NOT NULL,
        dimension integer NOT NULL,
        metric varchar(8) NOT NULL,
        embedding vector NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_embeddings PRIMARY KEY (owner_id, space_id, image_id),
        CONSTRAINT fk_embeddings_space FOREIGN KEY (owner_id, space_id)
            REFERENCES embedding_spaces (owner_id, id) ON DELETE CASCADE,
        CONSTRAINT fk_embeddings_image {_IMAGE_FK}
    """,
}

_INDEXES = (
    "CREATE INDEX ix_analysis_results_newest "
    "ON analysis_results (owner_id, image_id, analyzer, created_at DESC)",
    "CREATE INDEX ix_labels_owner_id_name ON labels (owner_id, name, image_id)",
    "CREATE INDEX ix_search_documents_document ON search_documents USING gin (document)",
    "CREATE INDEX ix_faces_owner_id_image_id ON faces (owner_id, image_id)",
    "CREATE INDEX ix_faces_owner_id_person_id ON faces (owner_id, person_id)",
    "CREATE INDEX ix_album_images_owner_id_image_id ON album_images (owner_id, image_id)",
    "CREATE UNIQUE INDEX uq_embedding_spaces_owner_id_name ON embedding_spaces (owner_id, name)",
    "CREATE INDEX ix_embeddings_owner_id_image_id ON embeddings (owner_id, image_id)",
)


def upgrade() -> None:
    for table, columns in _TABLES.items():
        op.execute(f"CREATE TABLE {table} ({columns})")
    for statement in _INDEXES:
        op.execute(statement)
    for table in _TABLES:
        enable_owner_rls(op, table)
        grant_app_access(op, table)


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.execute(f"DROP TABLE {table}")

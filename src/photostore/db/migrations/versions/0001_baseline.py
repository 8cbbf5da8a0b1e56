"""The baseline schema of photostore's first release, created in one revision.

It is long (over 500 lines) by nature: a migration is a frozen snapshot of the whole
first schema, with its policies and triggers, and is never edited once released.

Every table but ``users`` is a tenant table: its rows belong to one user, ``owner_id``
is the first column of its primary key, and every foreign key between tenant tables
includes ``owner_id``, so a row can only point at rows of the same user. The tables, by
area:

* accounts: ``users``;
* library: ``blobs`` (an original file per owner and sha256), ``images``,
  ``derivatives`` (thumbnails), ``tags``, ``image_tags``, ``albums``, ``album_images``;
* analysis: ``analysis_results`` (every write of an analyzer, kept), ``labels`` and
  ``image_texts`` (derived from each analyzer's newest write), ``search_documents``
  (one weighted ``tsvector`` per image), ``people`` and ``faces``;
* vectors: ``embedding_spaces``, ``embeddings``, and ``embedding_changes``, the short log
  the vector cache reads, kept by triggers on ``embeddings`` and ``images``;
* security: ``api_keys`` (hashed secrets), ``audit_log`` (append-only for the service),
  ``user_keys`` (each user's wrapped data key).

Every table has row-level security enabled and forced (``db/rls.py``): the database is
the second wall between users. The service role, named by the Alembic configuration
(``db/migrate.py``), gets row rights only, never ownership, so it can neither alter a
table nor turn its policies off.

Before this revision runs, a superuser has created the ``vector`` extension and the
service role (``db/embedded.py``, ``docs/operations.md``); the owner role runs it.
``docs/schema.md`` describes every column; ``docs/decisions.md`` says why this one
revision replaced the nine of development.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from photostore.db.rls import (
    enable_owner_or_system_rls,
    enable_owner_rls,
    enable_users_rls,
    grant_app_access,
    grant_app_append_only,
)

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# How many generations back embedding_changes reaches, built into the triggers below. A
# migration is a snapshot: the value is written here, not imported; the vector cache
# reads the same number from db.models.LOGGED_GENERATIONS (a test checks they agree).
LOGGED_GENERATIONS = 1000

_USER_FK = "FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE"
_IMAGE_FK = "FOREIGN KEY (owner_id, image_id) REFERENCES images (owner_id, id) ON DELETE CASCADE"

# In creation order: each table after those it references.
_TABLES: dict[str, str] = {
    # -- accounts ---------------------------------------------------------------------------
    # The constraint names are those of the first release's schema; the check's doubled
    # prefix is how SQLAlchemy's naming convention named it then.
    "users": """
        id uuid NOT NULL,
        email text NOT NULL,
        password_hash text NOT NULL,
        role varchar(16) NOT NULL DEFAULT 'user',
        token_version integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_users PRIMARY KEY (id),
        CONSTRAINT uq_users_email UNIQUE (email),
        CONSTRAINT ck_users_ck_users_role CHECK (role IN ('admin', 'user'))
    """,
    # -- library ----------------------------------------------------------------------------
    # Content addressing is per owner: the same file from two users is two rows (and two
    # files), so no user can learn that another holds a file.
    "blobs": f"""
        owner_id uuid NOT NULL,
        sha256 varchar(64) NOT NULL,
        byte_size bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_blobs PRIMARY KEY (owner_id, sha256),
        CONSTRAINT fk_blobs_owner_id_users {_USER_FK}
    """,
    # No cascade from blobs: an original is removed after its image, never under it.
    "images": f"""
        owner_id uuid NOT NULL,
        id uuid NOT NULL,
        sha256 varchar(64) NOT NULL,
        original_filename text NOT NULL,
        content_type varchar(64) NOT NULL,
        byte_size bigint NOT NULL,
        width integer NOT NULL,
        height integer NOT NULL,
        orientation smallint NOT NULL DEFAULT '1',
        taken_at timestamptz NOT NULL,
        taken_at_source varchar(32) NOT NULL,
        taken_at_offset_minutes smallint,
        uploaded_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        camera_make text,
        camera_model text,
        latitude double precision,
        longitude double precision,
        altitude double precision,
        exif jsonb NOT NULL DEFAULT '{{}}',
        description text,
        favorite boolean NOT NULL DEFAULT false,
        trashed_at timestamptz,
        CONSTRAINT pk_images PRIMARY KEY (owner_id, id),
        CONSTRAINT fk_images_owner_id_users {_USER_FK},
        CONSTRAINT fk_images_owner_id_sha256_blobs FOREIGN KEY (owner_id, sha256)
            REFERENCES blobs (owner_id, sha256)
    """,
    "derivatives": """
        owner_id uuid NOT NULL,
        image_id uuid NOT NULL,
        kind varchar(16) NOT NULL,
        content_type varchar(64) NOT NULL,
        byte_size bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_derivatives PRIMARY KEY (owner_id, image_id, kind),
        CONSTRAINT fk_derivatives_owner_id_image_id_images FOREIGN KEY (owner_id, image_id)
            REFERENCES images (owner_id, id) ON DELETE CASCADE
    """,
    "tags": f"""
        owner_id uuid NOT NULL,
        id uuid NOT NULL,
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_tags PRIMARY KEY (owner_id, id),
        CONSTRAINT fk_tags_owner_id_users {_USER_FK}
    """,
    "image_tags": """
        owner_id uuid NOT NULL,
        image_id uuid NOT NULL,
        tag_id uuid NOT NULL,
        CONSTRAINT pk_image_tags PRIMARY KEY (owner_id, image_id, tag_id),
        CONSTRAINT fk_image_tags_owner_id_image_id_images FOREIGN KEY (owner_id, image_id)
            REFERENCES images (owner_id, id) ON DELETE CASCADE,
        CONSTRAINT fk_image_tags_owner_id_tag_id_tags FOREIGN KEY (owner_id, tag_id)
            REFERENCES tags (owner_id, id) ON DELETE CASCADE
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
    # Deleting an album deletes its memberships, never its images.
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
    # -- analysis ---------------------------------------------------------------------------
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
    # -- vectors ----------------------------------------------------------------------------
    # generation: moved by the triggers below on every change of the space's vectors, or
    # of the date or trash state of their images; the vector cache compares it with the
    # generation of its copy. vector_count: kept by the same triggers, so a search reads
    # the space's size with its row instead of counting.
    "embedding_spaces": f"""
        owner_id uuid NOT NULL,
        id uuid NOT NULL,
        name varchar(100) NOT NULL,
        model varchar(200) NOT NULL,
        dimension integer NOT NULL,
        metric varchar(8) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        generation bigint NOT NULL DEFAULT 0,
        vector_count bigint NOT NULL DEFAULT 0,
        CONSTRAINT pk_embedding_spaces PRIMARY KEY (owner_id, id),
        CONSTRAINT ck_embedding_spaces_metric CHECK (metric IN ('cosine', 'l2', 'ip')),
        CONSTRAINT ck_embedding_spaces_dimension CHECK (dimension BETWEEN 1 AND 16000),
        CONSTRAINT fk_embedding_spaces_owner {_USER_FK}
    """,
    # No global HNSW index: filtered by owner it overfilters (DESIGN.md; bench/search.py
    # prints its recall) and every insert of every user would pay for it. Large spaces get
    # a partial HNSW index of their own from `photostore search optimize`; the rest are
    # scanned exactly through the primary key (see the storage parameter in upgrade()).
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
    # Which images changed in a space, under the generation the change moved it to: a
    # matrix a few generations old still answers exactly, the images changed since being
    # scored by PostgreSQL (search/planner.py). The nil UUID means "too much changed".
    "embedding_changes": """
        owner_id uuid NOT NULL,
        space_id uuid NOT NULL,
        generation bigint NOT NULL,
        image_id uuid NOT NULL,
        CONSTRAINT embedding_changes_pkey PRIMARY KEY (owner_id, space_id, generation, image_id),
        CONSTRAINT embedding_changes_owner_id_space_id_fkey FOREIGN KEY (owner_id, space_id)
            REFERENCES embedding_spaces (owner_id, id) ON DELETE CASCADE
    """,
    # -- security ---------------------------------------------------------------------------
    # Only the SHA-256 of a key's secret is stored: the secret has 256 random bits, so a
    # fast hash suffices and a stolen table yields no usable key.
    "api_keys": f"""
        owner_id uuid NOT NULL,
        id uuid NOT NULL,
        name text NOT NULL,
        prefix varchar(64) NOT NULL,
        secret_sha256 bytea NOT NULL,
        kind varchar(16) NOT NULL,
        scopes text[] NOT NULL DEFAULT '{{}}',
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        last_used_at timestamptz,
        revoked_at timestamptz,
        CONSTRAINT pk_api_keys PRIMARY KEY (owner_id, id),
        CONSTRAINT uq_api_keys_id UNIQUE (id),
        CONSTRAINT ck_api_keys_kind CHECK (kind IN ('user', 'service')),
        CONSTRAINT ck_api_keys_secret_sha256 CHECK (octet_length(secret_sha256) = 32),
        CONSTRAINT fk_api_keys_owner_id_users {_USER_FK}
    """,
    # No foreign key to users on purpose: the record of an account's deletion (and of
    # what was done before it) outlives the account. Rows hold ids, route templates and
    # statuses only, never names, emails, bodies or secrets.
    "audit_log": """
        owner_id uuid NOT NULL,
        id uuid NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        principal_id uuid NOT NULL,
        principal_kind varchar(16) NOT NULL,
        key_id uuid,
        action text NOT NULL,
        target_type varchar(64),
        target_id text,
        result smallint NOT NULL,
        request_id varchar(64),
        CONSTRAINT pk_audit_log PRIMARY KEY (owner_id, id),
        CONSTRAINT ck_audit_log_principal_kind
            CHECK (principal_kind IN ('user', 'service', 'admin'))
    """,
    # One data key per user; deleting the row makes the user's blobs unreadable.
    "user_keys": f"""
        owner_id uuid NOT NULL,
        id uuid NOT NULL,
        wrapped_key bytea NOT NULL,
        master_key_id varchar(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_user_keys PRIMARY KEY (owner_id, id),
        CONSTRAINT uq_user_keys_owner_id UNIQUE (owner_id),
        CONSTRAINT fk_user_keys_owner_id_users {_USER_FK}
    """,
}

_INDEXES = (
    # The same bytes are one image per user: an upload finds the existing image by its
    # hash, and two concurrent uploads of the same bytes cannot both insert.
    "CREATE UNIQUE INDEX uq_images_owner_id_sha256 ON images (owner_id, sha256)",
    # The timeline, newest first, paged by a keyset cursor.
    "CREATE INDEX ix_images_timeline ON images (owner_id, taken_at DESC, id DESC)",
    # A user's trashed images, without reading the others.
    "CREATE INDEX ix_images_trashed ON images (owner_id, id) WHERE trashed_at IS NOT NULL",
    "CREATE UNIQUE INDEX uq_tags_owner_id_name ON tags (owner_id, lower(name))",
    "CREATE INDEX ix_image_tags_owner_id_tag_id ON image_tags (owner_id, tag_id, image_id)",
    "CREATE INDEX ix_album_images_owner_id_image_id ON album_images (owner_id, image_id)",
    "CREATE INDEX ix_analysis_results_newest "
    "ON analysis_results (owner_id, image_id, analyzer, created_at DESC)",
    "CREATE INDEX ix_labels_owner_id_name ON labels (owner_id, name, image_id)",
    "CREATE INDEX ix_search_documents_document ON search_documents USING gin (document)",
    "CREATE INDEX ix_faces_owner_id_image_id ON faces (owner_id, image_id)",
    "CREATE INDEX ix_faces_owner_id_person_id ON faces (owner_id, person_id)",
    "CREATE UNIQUE INDEX uq_embedding_spaces_owner_id_name ON embedding_spaces (owner_id, name)",
    "CREATE INDEX ix_embeddings_owner_id_image_id ON embeddings (owner_id, image_id)",
    "CREATE INDEX ix_audit_log_owner_id_at ON audit_log (owner_id, at DESC, id DESC)",
)

# -- the vector change log ------------------------------------------------------------------
# Statement-level triggers with transition tables: a statement moves each space it touched
# once, so a bulk load costs one update per space, not one per row. Their functions run as
# the caller, under row-level security: they can only move the caller's own spaces, which
# are the only ones the caller's statement can touch. A statement changing more than
# _MAX_LOGGED images of a space logs one nil-UUID row instead ("reload"); each space keeps
# the rows of its last LOGGED_GENERATIONS generations, and a cache older than that reloads.
_MAX_LOGGED = 1000
_NIL = "'00000000-0000-0000-0000-000000000000'::uuid"

# Per event on embeddings: its transition tables, and the rows the statement added (+1)
# or removed (-1).
_EMBEDDING_EVENTS: dict[str, tuple[str, str]] = {
    "INSERT": ("NEW TABLE AS added", "SELECT owner_id, space_id, image_id, 1 AS n FROM added"),
    "DELETE": (
        "OLD TABLE AS removed",
        "SELECT owner_id, space_id, image_id, -1 AS n FROM removed",
    ),
    "UPDATE": (
        "OLD TABLE AS removed NEW TABLE AS added",
        "SELECT owner_id, space_id, image_id, 1 AS n FROM added "
        "UNION ALL SELECT owner_id, space_id, image_id, -1 AS n FROM removed",
    ),
}

# The tail of each embeddings trigger's one statement: from ``changed (owner_id, space_id,
# image_id)`` and ``bumped (owner_id, id, generation, images)`` (each space's new
# generation and how many of its images changed), log the changes and forget old ones.
_LOG_CHANGES = f"""
    logged AS (
        INSERT INTO embedding_changes (owner_id, space_id, generation, image_id)
        SELECT b.owner_id, b.id, b.generation, c.image_id
        FROM bumped b JOIN changed c ON c.owner_id = b.owner_id AND c.space_id = b.id
        WHERE b.images <= {_MAX_LOGGED}
    ), marked AS (
        INSERT INTO embedding_changes (owner_id, space_id, generation, image_id)
        SELECT owner_id, id, generation, {_NIL} FROM bumped WHERE images > {_MAX_LOGGED}
    )
    DELETE FROM embedding_changes x USING bumped b
    WHERE x.owner_id = b.owner_id AND x.space_id = b.id
      AND x.generation <= b.generation - {LOGGED_GENERATIONS};
"""  # noqa: S608 - built from the constants above


def _embeddings_function(event: str) -> str:
    return f"""
        CREATE FUNCTION embeddings_changed_{event.lower()}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            WITH d AS ({_EMBEDDING_EVENTS[event][1]}),
            changed AS (SELECT DISTINCT owner_id, space_id, image_id FROM d),
            counted AS (
                SELECT owner_id, space_id, sum(n) AS n, count(DISTINCT image_id) AS images
                FROM d GROUP BY owner_id, space_id
            ), bumped AS (
                UPDATE embedding_spaces s
                SET generation = s.generation + 1, vector_count = s.vector_count + c.n
                FROM counted c WHERE s.owner_id = c.owner_id AND s.id = c.space_id
                RETURNING s.owner_id, s.id, s.generation, c.images
            ),
            {_LOG_CHANGES}
            RETURN NULL;
        END
        $$
    """  # noqa: S608 - built from the constants above


# The vector cache holds live images only, each with its taken_at (date ranges are applied
# in memory), so a photo whose date changes, or which enters or leaves the trash, moves
# the generation of every space of its owner and is logged like a changed vector. Dates
# change rarely, so all the owner's spaces are moved. Transition tables cannot be combined
# with a column list (UPDATE OF taken_at): the function compares old and new rows itself.
# It logs and forgets as _LOG_CHANGES does; the text is the one development databases
# hold, so theirs and a fresh one's are the same.
_IMAGES_FUNCTION = f"""
        CREATE FUNCTION images_vector_state_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            WITH moved_images AS (
                SELECT n.owner_id, n.id FROM new_images n
                JOIN old_images o ON o.owner_id = n.owner_id AND o.id = n.id
                WHERE n.taken_at IS DISTINCT FROM o.taken_at OR (n.trashed_at IS NULL) <> (o.trashed_at IS NULL)
            ), changed AS (
                SELECT e.owner_id, e.space_id, e.image_id FROM moved_images m
                JOIN embeddings e ON e.owner_id = m.owner_id AND e.image_id = m.id
            ), counted AS (
                SELECT s.owner_id, s.id, count(c.image_id) AS images
                FROM embedding_spaces s
                LEFT JOIN changed c ON c.owner_id = s.owner_id AND c.space_id = s.id
                WHERE s.owner_id IN (SELECT owner_id FROM moved_images)
                GROUP BY s.owner_id, s.id
            ), bumped AS (
                UPDATE embedding_spaces s SET generation = s.generation + 1
                FROM counted c WHERE s.owner_id = c.owner_id AND s.id = c.id
                RETURNING s.owner_id, s.id, s.generation, c.images
            ), logged AS (
                INSERT INTO embedding_changes (owner_id, space_id, generation, image_id)
                SELECT b.owner_id, b.id, b.generation, c.image_id
                FROM bumped b JOIN changed c ON c.owner_id = b.owner_id AND c.space_id = b.id
                WHERE b.images <= {_MAX_LOGGED}
            ), marked AS (
                INSERT INTO embedding_changes (owner_id, space_id, generation, image_id)
                SELECT owner_id, id, generation, {_NIL} FROM bumped WHERE images > {_MAX_LOGGED}
            )
            DELETE FROM embedding_changes x USING bumped b
            WHERE x.owner_id = b.owner_id AND x.space_id = b.id
              AND x.generation <= b.generation - {LOGGED_GENERATIONS};
            RETURN NULL;
        END
        $$
    """  # noqa: S608 - built from the constants above

_TRIGGER_FUNCTIONS = (
    *(f"embeddings_changed_{event.lower()}" for event in _EMBEDDING_EVENTS),
    "images_vector_state_changed",
)


def upgrade() -> None:
    for table, body in _TABLES.items():
        op.execute(f"CREATE TABLE {table} ({body})")
    # For an exact scan to read one heap tuple per vector, rows up to a page stay inline
    # (about 2,000 dimensions) instead of moving to TOAST past ~2 kB, which a 512-d vector
    # (2,056 bytes) would. pgvector stores `vector` uncompressed (EXTERNAL) already:
    # float noise does not compress, and trying would cost CPU on every write.
    op.execute("ALTER TABLE embeddings SET (toast_tuple_target = 8160)")
    for statement in _INDEXES:
        op.execute(statement)

    # Row-level security on every table, ENABLE and FORCE (FORCE binds the owner role
    # too). users admits the system context besides its own row (login must find a user
    # by email before anyone is known); so does api_keys (a presented key is looked up by
    # its id to learn whose it is). Only authentication sets the system context.
    enable_users_rls(op)
    enable_owner_or_system_rls(op, "api_keys")
    fenced_by_owner = [table for table in _TABLES if table not in ("users", "api_keys")]
    for table in fenced_by_owner:
        enable_owner_rls(op, table)
    # The service role reads and writes rows; the audit log is append-only for it (no
    # UPDATE, no DELETE), so a bug or an injection in the service cannot rewrite the trail.
    for table in _TABLES:
        if table == "audit_log":
            grant_app_append_only(op, table)
        else:
            grant_app_access(op, table)

    for event, (transition, _) in _EMBEDDING_EVENTS.items():
        name = f"embeddings_changed_{event.lower()}"
        op.execute(_embeddings_function(event))
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON embeddings REFERENCING {transition} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    op.execute(_IMAGES_FUNCTION)
    op.execute(
        "CREATE TRIGGER images_vector_state_changed AFTER UPDATE ON images "
        "REFERENCING OLD TABLE AS old_images NEW TABLE AS new_images "
        "FOR EACH STATEMENT EXECUTE FUNCTION images_vector_state_changed()"
    )


def downgrade() -> None:
    # Dropping a table drops its indexes, policies, grants and triggers with it.
    for table in reversed(_TABLES):
        op.execute(f"DROP TABLE {table}")
    for function in _TRIGGER_FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}()")

"""What each migration does to a populated database, for ``test_migration_data.py``.

One :class:`Step` per revision: the rows to add once the revision's schema can hold them
(``seed``: its new tables and columns), and what its upgrade and its downgrade do to the
rows they find (``up``, ``down``: each edits a copy of the rows before into the rows
expected after). Whatever a step does not say stays exactly as it was: a migration that
drops, empties or rewrites data it was not declared to touch fails the walk. A revision
without a step, a table without rows or a column NULL in every row fails it too, naming
the revision to add seed rows to.

Rows are inserted as the schema's owner, whom row-level security binds like the service:
each user's rows in that user's context, accounts and service keys in the system one.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012x}"


ADA, ROOT = uid(0x1), uid(0xAD)
IMAGE, TRASHED, ROOT_IMAGE = uid(0x11), uid(0x12), uid(0x13)
TAG, ALBUM, PERSON, FACE, SPACE = uid(0x21), uid(0x22), uid(0x23), uid(0x24), uid(0x25)
ADA_KEY, SERVICE_KEY, OPERATOR_KEY = uid(0x31), uid(0x32), uid(0x33)
# Stored decomposed (e + combining acute), as accounts made before 0006 could be.
ADA_EMAIL = "zoe\u0301@example.org"


@dataclass
class Table:
    """A table's columns and rows (each row as ``to_jsonb`` gives it)."""

    columns: set[str]
    rows: list[dict[str, Any]]


Library = dict[str, Table]
Seed = Callable[[psycopg.Connection[Any]], None]
Edit = Callable[[Library], None]


def _unchanged(library: Library) -> None:
    """The migration leaves every row as it was."""


def _nothing(conn: psycopg.Connection[Any]) -> None:
    """The revision holds nothing the ones before it could not."""


@dataclass(frozen=True)
class Step:
    seed: Seed = _nothing
    up: Edit = _unchanged
    down: Edit = _unchanged


def as_user(conn: psycopg.Connection[Any], user_id: str) -> None:
    conn.execute("SELECT set_config('app.system', '', true)")
    conn.execute("SELECT set_config('app.user_id', %s, true)", (user_id,))


def as_system(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SELECT set_config('app.user_id', '', true)")
    conn.execute("SELECT set_config('app.system', 'on', true)")


def _seed_baseline(conn: psycopg.Connection[Any]) -> None:
    as_system(conn)
    conn.execute(
        "INSERT INTO users (id, email, password_hash, role, token_version) VALUES "
        "(%s, %s, 'hash-a', 'user', 2), (%s, 'root@example.org', 'hash-r', 'admin', 0)",
        (ADA, ADA_EMAIL, ROOT),
    )
    as_user(conn, ADA)
    for statement in (
        f"INSERT INTO blobs (owner_id, sha256, byte_size) VALUES "
        f"('{ADA}', repeat('a', 64), 10), ('{ADA}', repeat('b', 64), 20)",
        "INSERT INTO images (owner_id, id, sha256, original_filename, content_type, byte_size, "
        "width, height, orientation, taken_at, taken_at_source, taken_at_offset_minutes, "
        "camera_make, camera_model, latitude, longitude, altitude, exif, description, "
        f"favorite) VALUES ('{ADA}', '{IMAGE}', repeat('a', 64), 'IMG_1.jpg', 'image/jpeg', "
        "10, 4000, 3000, 6, '2019-07-01 12:00+00', 'exif', 120, 'Canon', 'EOS R', 48.1, "
        """11.5, 520.0, '{"Make": "Canon"}', 'At the Sea', true)""",
        "INSERT INTO images (owner_id, id, sha256, original_filename, content_type, byte_size, "
        f"width, height, taken_at, taken_at_source, trashed_at) VALUES ('{ADA}', '{TRASHED}', "
        "repeat('b', 64), 'b.png', 'image/png', 20, 10, 10, '2020-01-01 00:00+00', 'upload', "
        "'2024-05-05 10:00+00')",
        "INSERT INTO derivatives (owner_id, image_id, kind, content_type, byte_size) "
        f"VALUES ('{ADA}', '{IMAGE}', 'thumb', 'image/webp', 5)",
        f"INSERT INTO tags (owner_id, id, name) VALUES ('{ADA}', '{TAG}', 'Holiday')",
        f"INSERT INTO image_tags VALUES ('{ADA}', '{IMAGE}', '{TAG}')",
        "INSERT INTO albums (owner_id, id, name, description) "
        f"VALUES ('{ADA}', '{ALBUM}', 'Summer', 'the best days')",
        "INSERT INTO album_images (owner_id, album_id, image_id) "
        f"VALUES ('{ADA}', '{ALBUM}', '{IMAGE}')",
        "INSERT INTO analysis_results (owner_id, id, image_id, analyzer, model_version, "
        f"""payload) VALUES ('{ADA}', '{uid(0x41)}', '{IMAGE}', 'detector', 'v1', """
        """'{"objects": ["lighthouse"]}')""",
        "INSERT INTO labels (owner_id, image_id, analyzer, kind, name, confidence) "
        f"VALUES ('{ADA}', '{IMAGE}', 'detector', 'object', 'Lighthouse', 0.9)",
        f"INSERT INTO image_texts VALUES ('{ADA}', '{IMAGE}', 'captioner', 'caption', "
        f"'A Lighthouse'), ('{ADA}', '{IMAGE}', 'reader', 'ocr', 'EXIT')",
        "INSERT INTO search_documents VALUES "
        f"('{ADA}', '{IMAGE}', to_tsvector('simple', 'holiday lighthouse'))",
        f"INSERT INTO people (owner_id, id, name) VALUES ('{ADA}', '{PERSON}', 'Ada')",
        "INSERT INTO faces (owner_id, id, image_id, person_id, box_x, box_y, box_width, "
        f"box_height, score, model, embedding) VALUES ('{ADA}', '{FACE}', '{IMAGE}', "
        f"'{PERSON}', 0.1, 0.2, 0.3, 0.4, 0.99, 'arcface', '[0.5,0.5]')",
        "INSERT INTO embedding_spaces (owner_id, id, name, model, dimension, metric) "
        f"VALUES ('{ADA}', '{SPACE}', 'clip', 'clip-vit', 2, 'l2')",
        # One statement: the triggers move the space once and log both images.
        "INSERT INTO embeddings (owner_id, space_id, image_id, dimension, metric, embedding) "
        f"VALUES ('{ADA}', '{SPACE}', '{IMAGE}', 2, 'l2', '[1,2]'), "
        f"('{ADA}', '{SPACE}', '{TRASHED}', 2, 'l2', '[3,4]')",
        "INSERT INTO api_keys (owner_id, id, name, prefix, secret_sha256, kind, scopes, "
        f"expires_at, last_used_at, revoked_at) VALUES ('{ADA}', '{ADA_KEY}', 'laptop', "
        "'psk_ada', sha256('a'), 'user', '{images:read}', '2030-01-01 00:00+00', "
        "'2024-01-01 00:00+00', '2024-02-01 00:00+00')",
        "INSERT INTO audit_log (owner_id, id, principal_id, principal_kind, key_id, action, "
        f"target_type, target_id, result, request_id) VALUES ('{ADA}', '{uid(0x51)}', "
        f"'{ADA}', 'user', '{ADA_KEY}', 'GET /v1/images/{{id}}', 'image', '{IMAGE}', 200, "
        "'req-1')",
        "INSERT INTO user_keys (owner_id, id, wrapped_key, master_key_id) "
        f"VALUES ('{ADA}', '{uid(0x61)}', 'wrapped-a', 'master-1')",
    ):
        conn.execute(statement)
    as_user(conn, ROOT)
    for statement in (
        f"INSERT INTO blobs (owner_id, sha256, byte_size) VALUES ('{ROOT}', repeat('c', 64), 1)",
        "INSERT INTO images (owner_id, id, sha256, original_filename, content_type, byte_size, "
        f"width, height, taken_at, taken_at_source) VALUES ('{ROOT}', '{ROOT_IMAGE}', "
        "repeat('c', 64), 'Root.JPG', 'image/jpeg', 1, 1, 1, '2021-03-03 00:00+00', 'upload')",
        f"INSERT INTO search_documents VALUES ('{ROOT}', '{ROOT_IMAGE}', ''::tsvector)",
        # The baseline held service keys in api_keys, under the admin who made them.
        "INSERT INTO api_keys (owner_id, id, name, prefix, secret_sha256, kind, scopes) "
        f"VALUES ('{ROOT}', '{SERVICE_KEY}', 'uploads', 'psk_up', sha256('u'), 'service', "
        "'{images:write}')",
        "INSERT INTO user_keys (owner_id, id, wrapped_key, master_key_id) "
        f"VALUES ('{ROOT}', '{uid(0x62)}', 'wrapped-r', 'master-1')",
    ):
        conn.execute(statement)


def _words_from_their_sources(library: Library) -> None:
    """0002 fills each document's words from tags, named people, labels, captions, the
    description, OCR text and the filename, in that order, lower-cased."""
    documents = library["search_documents"]
    documents.columns.add("words")
    expected = {
        IMAGE: "holiday ada lighthouse a lighthouse at the sea exit img_1.jpg",
        ROOT_IMAGE: "root.jpg",
    }
    for row in documents.rows:
        row["words"] = expected[row["image_id"]]


def drop_columns(library: Library, table: str, *columns: str) -> None:
    library[table].columns -= set(columns)
    for row in library[table].rows:
        for column in columns:
            del row[column]


def _change_log_per_statement(library: Library) -> None:
    """0003 empties the change log (a cache older than the log reloads its copy) and
    logs one row per statement, the images in an array."""
    library["embedding_changes"] = Table(
        {"owner_id", "space_id", "generation", "image_ids"}, rows=[]
    )


def _change_log_per_image(library: Library) -> None:
    library["embedding_changes"] = Table(
        {"owner_id", "space_id", "generation", "image_id"}, rows=[]
    )


def _log_a_statement(conn: psycopg.Connection[Any]) -> None:
    as_user(conn, ADA)
    conn.execute("UPDATE embeddings SET embedding = embedding")


_SERVICE_KEY_COLUMNS = (
    "id", "name", "prefix", "secret_sha256", "scopes", "created_at",
    "expires_at", "last_used_at", "revoked_at",
)  # fmt: skip


def _service_keys_move_out(library: Library) -> None:
    """0004 moves the service keys out of api_keys, the admin who made each named."""
    keys = library["api_keys"]
    moved = [row for row in keys.rows if row["kind"] == "service"]
    keys.rows = [row for row in keys.rows if row["kind"] != "service"]
    library["service_keys"] = Table(
        {*_SERVICE_KEY_COLUMNS, "made_by_admin_id", "revoked_by_admin_id"},
        [
            {
                **{name: row[name] for name in _SERVICE_KEY_COLUMNS},
                "made_by_admin_id": row["owner_id"],
                "revoked_by_admin_id": None,
            }
            for row in moved
        ],
    )


def _seed_operator_key(conn: psycopg.Connection[Any]) -> None:
    as_system(conn)
    conn.execute(
        "INSERT INTO service_keys (id, name, prefix, secret_sha256, scopes, expires_at, "
        "last_used_at, revoked_at, revoked_by_admin_id) VALUES (%s, 'backups', 'psk_op', "
        "sha256('o'), '{images:read}', '2030-01-01 00:00+00', '2024-01-01 00:00+00', "
        "'2024-02-01 00:00+00', %s)",
        (OPERATOR_KEY, ROOT),
    )


def _service_keys_move_back(library: Library) -> None:
    """Back under the admin who made each; a key made by the operator has no owner in the
    older schema and is lost, and so is who revoked a key."""
    accounts = {row["id"] for row in library["users"].rows}
    back = [row for row in library.pop("service_keys").rows if row["made_by_admin_id"] in accounts]
    library["api_keys"].rows += [
        {
            **{name: row[name] for name in _SERVICE_KEY_COLUMNS},
            "owner_id": row["made_by_admin_id"],
            "kind": "service",
        }
        for row in back
    ]


def _seed_refresh_family(conn: psycopg.Connection[Any]) -> None:
    as_user(conn, ADA)
    conn.execute(
        "INSERT INTO refresh_families (owner_id, id, generation, expires_at, revoked_at) "
        "VALUES (%s, %s, 3, '2030-01-01 00:00+00', '2024-03-03 00:00+00')",
        (ADA, uid(0x71)),
    )


def _drop_table(name: str) -> Edit:
    def drop(library: Library) -> None:
        del library[name]

    return drop


def _emails_composed(library: Library) -> None:
    for row in library["users"].rows:
        row["email"] = unicodedata.normalize("NFC", row["email"])


def _vectors_lose_the_space_copies(library: Library) -> None:
    """0007 drops each vector's copies of its space's dimension and metric."""
    drop_columns(library, "embeddings", "dimension", "metric")


def _vectors_get_the_space_copies(library: Library) -> None:
    spaces = {(row["owner_id"], row["id"]): row for row in library["embedding_spaces"].rows}
    embeddings = library["embeddings"]
    embeddings.columns |= {"dimension", "metric"}
    for row in embeddings.rows:
        space = spaces[(row["owner_id"], row["space_id"])]
        row["dimension"], row["metric"] = space["dimension"], space["metric"]


def _master_keys_counted(library: Library) -> None:
    """0008 counts the data keys wrapped by each master key."""
    counts: dict[str, int] = {}
    for row in library["user_keys"].rows:
        counts[row["master_key_id"]] = counts.get(row["master_key_id"], 0) + 1
    library["master_key_uses"] = Table(
        {"master_key_id", "data_keys"},
        [{"master_key_id": key, "data_keys": n} for key, n in counts.items()],
    )


def _images_untitled_and_whole(library: Library) -> None:
    images = library["images"]
    images.columns |= {"title", "damaged"}
    for row in images.rows:
        row["title"], row["damaged"] = None, False


def _seed_title_and_damage(conn: psycopg.Connection[Any]) -> None:
    as_user(conn, ADA)
    conn.execute("UPDATE images SET title = 'Lighthouse', damaged = true WHERE id = %s", (IMAGE,))


_CHANGE_COLUMNS = {"owner_id", "id", "xid", "kind", "image_id", "detail", "at"}


def _change_feed_empty(library: Library) -> None:
    library["changes"] = Table(set(_CHANGE_COLUMNS), rows=[])


def _seed_changes(conn: psycopg.Connection[Any]) -> None:
    """A change its trigger writes (an image made a favorite), and one with a detail."""
    as_user(conn, ADA)
    conn.execute("UPDATE images SET favorite = NOT favorite WHERE id = %s", (IMAGE,))
    conn.execute(
        "INSERT INTO changes (owner_id, kind, image_id, detail) "
        "VALUES (%s, 'analysis.written', %s, 'captioner')",
        (ADA, IMAGE),
    )


STEPS: dict[str, Step] = {
    "0001_baseline": Step(seed=_seed_baseline),
    "0002_search_words": Step(
        up=_words_from_their_sources,
        # The words are made from their sources again by the next upgrade.
        down=lambda library: drop_columns(library, "search_documents", "words"),
    ),
    "0003_change_log_arrays": Step(
        seed=_log_a_statement,
        up=_change_log_per_statement,
        down=_change_log_per_image,
    ),
    "0004_service_keys": Step(
        seed=_seed_operator_key,
        up=_service_keys_move_out,
        down=_service_keys_move_back,
    ),
    "0005_refresh_families": Step(
        seed=_seed_refresh_family,
        # Lost: every refresh token, so clients log in again.
        down=_drop_table("refresh_families"),
    ),
    "0006_nfc_emails": Step(up=_emails_composed),
    "0007_embedding_copies": Step(
        up=_vectors_lose_the_space_copies, down=_vectors_get_the_space_copies
    ),
    # The counts are made again from the data keys by the next upgrade.
    "0008_master_key_uses": Step(up=_master_keys_counted, down=_drop_table("master_key_uses")),
    "0009_image_title_and_damage": Step(
        seed=_seed_title_and_damage,
        up=_images_untitled_and_whole,
        # Lost: the titles and damaged flags.
        down=lambda library: drop_columns(library, "images", "title", "damaged"),
    ),
    "0010_schema_version_readable": Step(),  # a grant: no row changes
    # Lost: the change feed (a service following it starts again from its end).
    "0011_change_feed": Step(
        seed=_seed_changes, up=_change_feed_empty, down=_drop_table("changes")
    ),
}

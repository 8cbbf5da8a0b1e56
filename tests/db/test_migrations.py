"""The migrations on a fresh database: up to head, down to base leaving nothing, up again."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.pool import NullPool

from photostore.db.embedded import APP_ROLE, OWNER_ROLE, EmbeddedCluster
from photostore.db.migrate import RetiredSchema, alembic_config, upgrade_to_head
from photostore.db.models import LOGGED_GENERATIONS, TENANT_TABLES, Base, Xid8
from tests.conftest import ScratchDatabase

# Every object of schema ``public`` that no extension owns, named with enough of its
# definition (privileges, policy expressions, function bodies) that two snapshots are
# equal only if the schemas are.
_SCHEMA_OBJECTS = """
    SELECT format('relation %s %s acl=%s rls=%s forced=%s', c.relname, c.relkind, c.relacl,
                  c.relrowsecurity, c.relforcerowsecurity)
    FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
    UNION ALL
    SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL
    SELECT format('index %s', pg_get_indexdef(indexrelid)) FROM pg_index
    WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
    UNION ALL
    SELECT format('policy %s %s %s %s %s', tablename, policyname, roles, qual, with_check)
    FROM pg_policies WHERE schemaname = 'public'
    UNION ALL
    SELECT format('trigger %s', pg_get_triggerdef(oid)) FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL
    SELECT format('function %s %s', p.oid::regprocedure, md5(p.prosrc))
    FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                      AND d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    SELECT format('type %s', t.typname) FROM pg_type t
    WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('d', 'e', 'r', 'm')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                      AND d.objid = t.oid AND d.deptype = 'e')
"""

# What Alembic itself keeps at base: its version table, empty. Revoking the service
# role's read of it (0010) leaves the owner's own rights spelled out, the same rights.
_ALEMBIC_ONLY = {
    "relation alembic_version r acl={photostore_owner=arwdDxtm/photostore_owner} rls=f forced=f",
    "relation alembic_version_pkc i acl= rls=f forced=f",
    "constraint alembic_version alembic_version_pkc PRIMARY KEY (version_num)",
    "constraint alembic_version alembic_version_version_num_not_null NOT NULL version_num",
    "index CREATE UNIQUE INDEX alembic_version_pkc ON public.alembic_version "
    "USING btree (version_num)",
}


def _snapshot(cluster: EmbeddedCluster, database: str) -> set[str]:
    with psycopg.connect(cluster.url("postgres", database, driver=""), autocommit=True) as conn:
        return {row[0] for row in conn.execute(_SCHEMA_OBJECTS).fetchall()}


def _versions(cluster: EmbeddedCluster, database: str) -> list[str]:
    with psycopg.connect(cluster.url("postgres", database, driver=""), autocommit=True) as conn:
        return [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]


def test_downgrade_to_base_removes_everything_and_upgrade_rebuilds_it(
    pg_cluster: EmbeddedCluster, fresh_database: str
) -> None:
    owner_url = pg_cluster.url(OWNER_ROLE, fresh_database)
    config = alembic_config(owner_url)
    head = ScriptDirectory.from_config(config).get_current_head()

    upgrade_to_head(owner_url)
    at_head = _snapshot(pg_cluster, fresh_database)
    relations = {entry.split()[1] for entry in at_head if entry.startswith("relation ")}
    assert {"users", *TENANT_TABLES} <= relations
    for kind in ("function", "trigger", "policy"):
        assert any(entry.startswith(f"{kind} ") for entry in at_head), kind
    assert _versions(pg_cluster, fresh_database) == [head]

    command.downgrade(config, "base")
    assert _snapshot(pg_cluster, fresh_database) == _ALEMBIC_ONLY
    assert _versions(pg_cluster, fresh_database) == []

    upgrade_to_head(owner_url)
    assert _snapshot(pg_cluster, fresh_database) == at_head
    assert _versions(pg_cluster, fresh_database) == [head]


def test_search_words_are_filled_from_the_sources_and_removed_by_the_downgrade(
    pg_cluster: EmbeddedCluster, fresh_database: str
) -> None:
    owner_url = pg_cluster.url(OWNER_ROLE, fresh_database)
    config = alembic_config(owner_url)
    command.upgrade(config, "0001_baseline")
    superuser = pg_cluster.url("postgres", fresh_database, driver="")
    with psycopg.connect(superuser, autocommit=True) as conn:
        # A library as the baseline held it: one image with a tag, a caption, a document.
        conn.execute(
            "INSERT INTO users (id, email, password_hash) VALUES "
            "('00000000-0000-4000-8000-000000000001', 'ada@example.org', 'x')"
        )
        conn.execute(
            "INSERT INTO blobs (owner_id, sha256, byte_size) VALUES "
            "('00000000-0000-4000-8000-000000000001', repeat('a', 64), 1)"
        )
        conn.execute(
            "INSERT INTO images (owner_id, id, sha256, original_filename, content_type, "
            "byte_size, width, height, taken_at, taken_at_source, description) VALUES "
            "('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000aa', "
            "repeat('a', 64), 'IMG_Holiday-2019.jpg', 'image/jpeg', 1, 1, 1, now(), 'upload', "
            "'At the Sea')"
        )
        conn.execute(
            "INSERT INTO image_texts (owner_id, image_id, analyzer, kind, body) VALUES "
            "('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000aa', "
            "'captioner', 'caption', 'A Lighthouse')"
        )
        conn.execute(
            "INSERT INTO search_documents (owner_id, image_id, document) VALUES "
            "('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000aa', "
            "to_tsvector('simple', 'holiday'))"
        )
    command.upgrade(config, "0002_search_words")
    with psycopg.connect(superuser, autocommit=True) as conn:
        words = conn.execute("SELECT words FROM search_documents").fetchall()
        assert words == [("a lighthouse at the sea img_holiday-2019.jpg",)]
    command.downgrade(config, "0001_baseline")
    with psycopg.connect(superuser, autocommit=True) as conn:
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'search_documents' ORDER BY ordinal_position"
        ).fetchall()
        assert columns == [("owner_id",), ("image_id",), ("document",)]
        assert conn.execute("SELECT count(*) FROM search_documents").fetchone() == (1,)


def test_the_baseline_builds_the_change_log_depth_the_cache_reads(
    pg_cluster: EmbeddedCluster, fresh_database: str
) -> None:
    upgrade_to_head(pg_cluster.url(OWNER_ROLE, fresh_database))
    with psycopg.connect(pg_cluster.url("postgres", fresh_database, driver="")) as conn:
        bodies = [row[0] for row in conn.execute("SELECT prosrc FROM pg_proc").fetchall()]
    assert any(f"b.generation - {LOGGED_GENERATIONS}" in body for body in bodies)


@pytest.mark.parametrize(("retired", "advice"), [("0009", "0001_baseline"), ("0004", "recreate")])
def test_a_database_of_the_retired_chain_is_refused_with_what_to_do(
    pg_cluster: EmbeddedCluster, fresh_database: str, retired: str, advice: str
) -> None:
    owner_url = pg_cluster.url(OWNER_ROLE, fresh_database)
    with psycopg.connect(
        pg_cluster.url(OWNER_ROLE, fresh_database, driver=""), autocommit=True
    ) as c:
        c.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        c.execute("INSERT INTO alembic_version VALUES (%s)", (retired,))
    with pytest.raises(RetiredSchema, match=advice):
        upgrade_to_head(owner_url)


_OWNER = "00000000-0000-4000-8000-000000000001"
_ADMIN = "00000000-0000-4000-8000-0000000000ad"


def _insert_two_users(conn: psycopg.Connection, admin_role: str) -> None:
    """``_ADMIN`` (root@example.org, of role ``admin_role``) and ``_OWNER`` (ada@example.org)."""
    conn.execute(
        "INSERT INTO users (id, email, password_hash, role) VALUES "
        f"('{_ADMIN}', 'root@example.org', 'x', %s), ('{_OWNER}', 'ada@example.org', 'x', 'user')",
        (admin_role,),
    )


def _insert_image(conn: psycopg.Connection, n: int) -> None:
    """Image ``...0n`` of ``_OWNER`` (n of one digit) and its blob, of any revision's schema."""
    conn.execute(
        f"INSERT INTO blobs (owner_id, sha256, byte_size) VALUES ('{_OWNER}', repeat('{n}', 64), 1)"
    )
    conn.execute(
        "INSERT INTO images (owner_id, id, sha256, original_filename, content_type, "
        "byte_size, width, height, taken_at, taken_at_source) VALUES "
        f"('{_OWNER}', '00000000-0000-4000-8000-00000000000{n}', repeat('{n}', 64), "
        "'a.jpg', 'image/jpeg', 1, 1, 1, now(), 'upload')"
    )


def _write_two_vectors(superuser: str) -> list[tuple[Any, ...]]:
    """Two images and one statement writing their vectors; the change log's rows after."""
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO users (id, email, password_hash) VALUES ('{_OWNER}', 'a@b.c', 'x')"
        )
        conn.execute(
            f"INSERT INTO embedding_spaces (owner_id, id, name, model, dimension, metric) "
            f"VALUES ('{_OWNER}', '{_OWNER}', 'clip', 'm', 2, 'l2')"
        )
        for n in (1, 2):
            _insert_image(conn, n)
        conn.execute(
            "INSERT INTO embeddings (owner_id, space_id, image_id, dimension, metric, embedding, "
            f"updated_at) SELECT '{_OWNER}', '{_OWNER}', id, 2, 'l2', '[1,2]', now() "
            f"FROM images WHERE owner_id = '{_OWNER}'"
        )
        columns = "generation, " + ("image_ids" if _has_column(conn, "image_ids") else "image_id")
        rows = conn.execute(f"SELECT {columns} FROM embedding_changes ORDER BY 1, 2").fetchall()
        conn.execute("DELETE FROM users")
    return rows


def _has_column(conn: psycopg.Connection, name: str) -> bool:
    found = conn.execute(
        "SELECT 1 FROM information_schema.columns "
        "WHERE table_name = 'embedding_changes' AND column_name = %s",
        (name,),
    ).fetchone()
    return found is not None


def test_the_change_log_holds_a_row_per_statement_and_the_downgrade_restores_a_row_per_image(
    pg_cluster: EmbeddedCluster, fresh_database: str
) -> None:
    owner_url = pg_cluster.url(OWNER_ROLE, fresh_database)
    config = alembic_config(owner_url)
    superuser = pg_cluster.url("postgres", fresh_database, driver="")
    first, second = (f"00000000-0000-4000-8000-00000000000{n}" for n in (1, 2))
    command.upgrade(config, "0002_search_words")
    before = _snapshot(pg_cluster, fresh_database)
    assert [(g, str(i)) for g, i in _write_two_vectors(superuser)] == [(1, first), (1, second)]

    command.upgrade(config, "0003_change_log_arrays")
    rows = _write_two_vectors(superuser)
    assert [(g, sorted(map(str, ids))) for g, ids in rows] == [(1, [first, second])]

    command.downgrade(config, "0002_search_words")
    assert _snapshot(pg_cluster, fresh_database) == before
    assert [(g, str(i)) for g, i in _write_two_vectors(superuser)] == [(1, first), (1, second)]


def test_service_keys_move_to_their_own_table_and_back(
    pg_cluster: EmbeddedCluster, fresh_database: str
) -> None:
    owner_url = pg_cluster.url(OWNER_ROLE, fresh_database)
    config = alembic_config(owner_url)
    superuser = pg_cluster.url("postgres", fresh_database, driver="")
    command.upgrade(config, "0003_change_log_arrays")
    with psycopg.connect(superuser, autocommit=True) as conn:
        _insert_two_users(conn, admin_role="admin")
        for key_id, owner, kind in (("a1", _ADMIN, "service"), ("b2", _OWNER, "user")):
            conn.execute(
                "INSERT INTO api_keys (owner_id, id, name, prefix, secret_sha256, kind, scopes) "
                f"VALUES ('{owner}', '00000000-0000-4000-8000-0000000000{key_id}', '{kind}', "
                f"'psk_x', sha256('s'), '{kind}', '{{images:read}}')"
            )
    before = _snapshot(pg_cluster, fresh_database)

    command.upgrade(config, "0004_service_keys")
    with psycopg.connect(superuser, autocommit=True) as conn:
        moved = conn.execute(
            "SELECT id::text, made_by_admin_id::text, scopes FROM service_keys"
        ).fetchall()
        assert moved == [("00000000-0000-4000-8000-0000000000a1", _ADMIN, ["images:read"])]
        assert conn.execute("SELECT kind FROM api_keys").fetchall() == [("user",)]
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE api_keys SET kind = 'service'")
        # A key the operator made has no owner to return to in the older schema.
        conn.execute(
            "INSERT INTO service_keys (id, name, prefix, secret_sha256) VALUES "
            "('00000000-0000-4000-8000-0000000000c3', 'op', 'psk_y', sha256('t'))"
        )

    command.downgrade(config, "0003_change_log_arrays")
    assert _snapshot(pg_cluster, fresh_database) == before
    with psycopg.connect(superuser, autocommit=True) as conn:
        keys = conn.execute("SELECT owner_id::text, kind FROM api_keys ORDER BY kind").fetchall()
        assert keys == [(_ADMIN, "service"), (_OWNER, "user")]


def test_stored_emails_are_composed_and_a_clash_keeps_the_composed_one(
    pg_cluster: EmbeddedCluster, fresh_database: str
) -> None:
    owner_url = pg_cluster.url(OWNER_ROLE, fresh_database)
    config = alembic_config(owner_url)
    superuser = pg_cluster.url("postgres", fresh_database, driver="")
    command.upgrade(config, "0005_refresh_families")
    decomposed, composed = "e\u0301mile@example.org", "\u00e9mile@example.org"
    accounts = {
        "00000000-0000-4000-8000-000000000001": "zoe\u0301@example.org",  # alone: composed
        "00000000-0000-4000-8000-000000000002": decomposed,  # older, but clashes with
        "00000000-0000-4000-8000-000000000003": composed,  # one stored composed already
        "00000000-0000-4000-8000-000000000004": "ada@example.org",
    }
    with psycopg.connect(superuser, autocommit=True) as conn:
        for n, (user_id, email) in enumerate(accounts.items()):
            conn.execute(
                "INSERT INTO users (id, email, password_hash, created_at) "
                "VALUES (%s, %s, 'x', now() + %s * interval '1 second')",
                (user_id, email, n),
            )
    command.upgrade(config, "0006_nfc_emails")
    with psycopg.connect(superuser, autocommit=True) as conn:
        stored: dict[str, str] = dict(conn.execute("SELECT id::text, email FROM users").fetchall())
    assert stored == {**accounts, "00000000-0000-4000-8000-000000000001": "zo\u00e9@example.org"}
    command.downgrade(config, "0005_refresh_families")


def test_the_migrations_build_the_tables_the_models_declare(
    database: ScratchDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alembic's autogenerate comparison finds nothing between the migrated database and
    ``db.models``: a column, type, index or foreign key added to one and not the other
    fails here."""
    # Reflection knows no xid8 (the change feed's column) unless told.
    monkeypatch.setitem(ischema_names, "xid8", Xid8)
    engine = create_engine(database.owner_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], "\n".join(map(str, differences))


def _embedding_columns(conn: psycopg.Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT column_name, is_nullable FROM information_schema.columns "
        "WHERE table_name = 'embeddings'"
    ).fetchall()
    return dict(rows)


def test_embeddings_lose_the_space_copies_and_the_downgrade_fills_them_from_the_space(
    pg_cluster: EmbeddedCluster, fresh_database: str
) -> None:
    config = alembic_config(pg_cluster.url(OWNER_ROLE, fresh_database))
    superuser = pg_cluster.url("postgres", fresh_database, driver="")
    command.upgrade(config, "0006_nfc_emails")
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO users (id, email, password_hash) VALUES ('{_OWNER}', 'a@b', 'x')"
        )
        for n, (dimension, metric) in enumerate([(2, "l2"), (3, "cosine")], start=1):
            conn.execute(
                "INSERT INTO embedding_spaces (owner_id, id, name, model, dimension, metric) "
                f"VALUES ('{_OWNER}', '00000000-0000-4000-8000-00000000001{n}', 's{n}', 'm', "
                f"{dimension}, '{metric}')"
            )
            _insert_image(conn, n)
            values = ",".join(["1"] * dimension)
            conn.execute(
                "INSERT INTO embeddings (owner_id, space_id, image_id, dimension, metric, "
                f"embedding) VALUES ('{_OWNER}', '00000000-0000-4000-8000-00000000001{n}', "
                f"'00000000-0000-4000-8000-00000000000{n}', {dimension}, '{metric}', "
                f"'[{values}]')"
            )
    read_vectors = "SELECT space_id::text, embedding::text FROM embeddings ORDER BY 1"
    with psycopg.connect(superuser, autocommit=True) as conn:
        vectors = conn.execute(read_vectors).fetchall()
    command.upgrade(config, "0007_embedding_copies")
    with psycopg.connect(superuser, autocommit=True) as conn:
        assert "dimension" not in _embedding_columns(conn)
        assert "metric" not in _embedding_columns(conn)
        assert conn.execute(read_vectors).fetchall() == vectors
        changes = conn.execute("SELECT count(*) FROM embedding_changes").fetchone()

    command.downgrade(config, "0006_nfc_emails")  # as the owner, whom RLS binds too
    with psycopg.connect(superuser, autocommit=True) as conn:
        columns = _embedding_columns(conn)
        assert (columns["dimension"], columns["metric"]) == ("NO", "NO")
        filled = conn.execute(
            "SELECT space_id::text, dimension, metric FROM embeddings ORDER BY 1"
        ).fetchall()
        assert filled == [
            ("00000000-0000-4000-8000-000000000011", 2, "l2"),
            ("00000000-0000-4000-8000-000000000012", 3, "cosine"),
        ]
        assert conn.execute(read_vectors).fetchall() == vectors
        # The fill is not a change of the vectors: the log did not move.
        assert conn.execute("SELECT count(*) FROM embedding_changes").fetchone() == changes
        forced = conn.execute(
            "SELECT relname, relforcerowsecurity FROM pg_class "
            "WHERE relname IN ('embeddings', 'embedding_spaces') ORDER BY 1"
        ).fetchall()
        assert forced == [("embedding_spaces", True), ("embeddings", True)]
        disabled = conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'embeddings'::regclass "
            "AND NOT tgisinternal AND tgenabled = 'D'"
        ).fetchone()
        assert disabled == (0,)
    command.upgrade(config, "head")


def test_master_key_uses_are_counted_from_the_data_keys_and_kept_by_the_trigger(
    pg_cluster: EmbeddedCluster, fresh_database: str
) -> None:
    owner_url = pg_cluster.url(OWNER_ROLE, fresh_database)
    config = alembic_config(owner_url)
    superuser = pg_cluster.url("postgres", fresh_database, driver="")
    command.upgrade(config, "0007_embedding_copies")
    with psycopg.connect(superuser, autocommit=True) as conn:
        _insert_two_users(conn, admin_role="user")
        conn.execute(
            "INSERT INTO user_keys (owner_id, id, wrapped_key, master_key_id) VALUES "
            f"('{_ADMIN}', gen_random_uuid(), 'w', 'old'), "
            f"('{_OWNER}', gen_random_uuid(), 'w', 'old')"
        )
    before = _snapshot(pg_cluster, fresh_database)
    command.upgrade(config, "0008_master_key_uses")

    def counts(conn: psycopg.Connection[Any]) -> list[tuple[str, int]]:
        return conn.execute(
            "SELECT master_key_id, data_keys FROM master_key_uses ORDER BY 1"
        ).fetchall()

    with psycopg.connect(superuser, autocommit=True) as conn:
        assert counts(conn) == [("old", 2)]
    app = pg_cluster.url(APP_ROLE, fresh_database, driver="")
    with psycopg.connect(app) as conn:
        # A rotation in one user's transaction moves that user's count, and leaves the
        # transaction's context as it was.
        conn.execute("SELECT set_config('app.user_id', %s, true)", (_OWNER,))
        conn.execute("UPDATE user_keys SET master_key_id = 'new'")
        assert conn.execute("SELECT current_setting('app.system', true)").fetchone() == ("",)
        conn.commit()
        conn.execute("SELECT set_config('app.system', 'on', true)")
        assert counts(conn) == [("new", 1), ("old", 1)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO master_key_uses VALUES ('forged', 1)")
        conn.rollback()
        assert counts(conn) == [], "outside the system context no row is visible"
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute(f"DELETE FROM users WHERE id = '{_ADMIN}'")  # cascades to its data key
        assert counts(conn) == [("new", 1)]

    command.downgrade(config, "0007_embedding_copies")
    assert _snapshot(pg_cluster, fresh_database) == before

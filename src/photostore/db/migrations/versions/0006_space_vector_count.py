"""The number of vectors of each embedding space, kept by the generation triggers.

The vector planner and the vector cache decide by a space's size (an exact scan for a
small one, the in-memory matrix for a large one). Reading the size with the space's row,
instead of counting its vectors, saves a statement per search. The statement-level
triggers of migration 0005 now move ``vector_count`` by what each statement inserted or
deleted, in the same update that bumps the generation.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rows each statement added (+1) or removed (-1), per space, from its transition tables.
_DELTAS = {
    "INSERT": ("NEW TABLE AS added", "SELECT owner_id, space_id, 1 AS n FROM added"),
    "DELETE": ("OLD TABLE AS removed", "SELECT owner_id, space_id, -1 AS n FROM removed"),
    "UPDATE": (
        "OLD TABLE AS removed NEW TABLE AS added",
        "SELECT owner_id, space_id, 1 AS n FROM added "
        "UNION ALL SELECT owner_id, space_id, -1 AS n FROM removed",
    ),
}


def upgrade() -> None:
    op.execute("ALTER TABLE embedding_spaces ADD COLUMN vector_count bigint NOT NULL DEFAULT 0")
    for event in _DELTAS:
        op.execute(f"DROP TRIGGER embeddings_generation_{event.lower()} ON embeddings")
    op.execute("DROP FUNCTION bump_embedding_space_generation()")
    for event, (transition, rows) in _DELTAS.items():
        name = f"embeddings_changed_{event.lower()}"
        op.execute(
            f"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE embedding_spaces s
                SET generation = s.generation + 1, vector_count = s.vector_count + c.n
                FROM (SELECT owner_id, space_id, sum(n) AS n FROM ({rows}) d
                      GROUP BY owner_id, space_id) c
                WHERE s.owner_id = c.owner_id AND s.id = c.space_id;
                RETURN NULL;
            END
            $$
            """  # noqa: S608 - the names and row queries are the constants above
        )
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON embeddings REFERENCING {transition} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    # The owner runs migrations and row-level security binds it too (FORCE): lift that
    # for the one statement that counts every user's vectors, inside this transaction.
    op.execute("ALTER TABLE embedding_spaces NO FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE embeddings NO FORCE ROW LEVEL SECURITY")
    op.execute(
        "UPDATE embedding_spaces s SET vector_count = (SELECT count(*) FROM embeddings e "
        "WHERE e.owner_id = s.owner_id AND e.space_id = s.id)"
    )
    op.execute("ALTER TABLE embeddings FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE embedding_spaces FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    for event in _DELTAS:
        name = f"embeddings_changed_{event.lower()}"
        op.execute(f"DROP TRIGGER {name} ON embeddings")
        op.execute(f"DROP FUNCTION {name}()")
    op.execute(
        """
        CREATE FUNCTION bump_embedding_space_generation() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE embedding_spaces s SET generation = s.generation + 1
            FROM (SELECT DISTINCT owner_id, space_id FROM changed) c
            WHERE s.owner_id = c.owner_id AND s.id = c.space_id;
            RETURN NULL;
        END
        $$
        """
    )
    for event, old_or_new in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
        op.execute(
            f"CREATE TRIGGER embeddings_generation_{event.lower()} AFTER {event} ON embeddings "
            f"REFERENCING {old_or_new} TABLE AS changed FOR EACH STATEMENT "
            "EXECUTE FUNCTION bump_embedding_space_generation()"
        )
    op.execute("ALTER TABLE embedding_spaces DROP COLUMN vector_count")

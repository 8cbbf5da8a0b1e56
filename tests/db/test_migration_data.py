"""Every migration on a populated database: up one revision at a time from the baseline,
then down one at a time back to it, every row of every table checked at each step.

What each revision does to the rows is declared in ``migration_steps.STEPS``; the walk
itself knows no revision by name, so a new migration is walked the moment it exists and
fails here until its step says what it seeds and what it changes.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import psycopg
from alembic import command
from psycopg import sql

from photostore.db.embedded import OWNER_ROLE, EmbeddedCluster
from photostore.db.migrate import alembic_config, known_revisions
from tests.db.migration_steps import STEPS, Library, Seed, Table

_COLUMNS = """
    SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name <> 'alembic_version'
"""


def _library(superuser: str) -> Library:
    """Every row of every table, read as the superuser (whom row-level security lets
    see all of them), outside the code under test."""
    with psycopg.connect(superuser, autocommit=True) as conn:
        tables: Library = {}
        for table, column in conn.execute(_COLUMNS).fetchall():
            tables.setdefault(table, Table(set(), [])).columns.add(column)
        for name, table in tables.items():
            query = sql.SQL("SELECT to_jsonb(t) FROM {} t").format(sql.Identifier(name))
            table.rows = [row[0] for row in conn.execute(query).fetchall()]
    return tables


def _canonical(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(row, sort_keys=True) for row in rows)


def _differences(found: Library, expected: Library) -> list[str]:
    problems = []
    for name in sorted(found.keys() | expected.keys()):
        if name not in expected:
            if found[name].rows:
                problems.append(f"{name}: {len(found[name].rows)} rows nobody declared")
            continue
        if name not in found:
            problems.append(f"{name}: the table is gone with its {len(expected[name].rows)} rows")
            continue
        have, want = found[name], expected[name]
        if have.columns != want.columns:
            problems.append(
                f"{name}: columns {sorted(have.columns - want.columns)} appeared, "
                f"{sorted(want.columns - have.columns)} went"
            )
        shared = have.columns & want.columns
        rows_found = _canonical([{c: r[c] for c in shared} for r in have.rows])
        rows_expected = _canonical([{c: r[c] for c in shared} for r in want.rows])
        if rows_found != rows_expected:
            lost = [r for r in rows_expected if r not in rows_found]
            new = [r for r in rows_found if r not in rows_expected]
            problems.append(f"{name}: lost {lost}, found instead {new}")
    return problems


def _emptiness(library: Library) -> list[str]:
    """Tables without rows and columns NULL in every row: a migration could lose them
    unnoticed."""
    problems = []
    for name, table in sorted(library.items()):
        if not table.rows:
            problems.append(f"table {name} has no rows")
            continue
        problems += [
            f"column {name}.{column} is NULL in every row"
            for column in sorted(table.columns)
            if all(row[column] is None for row in table.rows)
        ]
    return problems


def _seed(owner: str, seed: Seed) -> None:
    with psycopg.connect(owner) as conn:
        seed(conn)
        conn.commit()


def test_every_migration_keeps_every_row_up_and_down(
    pg_cluster: EmbeddedCluster, fresh_database: str
) -> None:
    config = alembic_config(pg_cluster.url(OWNER_ROLE, fresh_database))
    chain = known_revisions()
    missing = [revision for revision in chain if revision not in STEPS]
    assert not missing, f"add a Step for {missing} to tests/db/migration_steps.py"
    assert set(STEPS) <= set(chain), f"steps of no revision: {sorted(set(STEPS) - set(chain))}"
    superuser = pg_cluster.url("postgres", fresh_database, driver="")
    owner = pg_cluster.url(OWNER_ROLE, fresh_database, driver="")

    library: Library = {}
    for revision in chain:
        expected = copy.deepcopy(library)
        STEPS[revision].up(expected)
        command.upgrade(config, revision)
        library = _library(superuser)
        problems = _differences(library, expected)
        assert not problems, f"upgrade to {revision}:\n" + "\n".join(problems)
        _seed(owner, STEPS[revision].seed)
        library = _library(superuser)
        empty = _emptiness(library)
        assert not empty, (
            f"at {revision}: " + "; ".join(empty) + f"; seed them in STEPS[{revision!r}].seed"
        )

    for revision, below in reversed(list(zip(chain[1:], chain, strict=False))):
        expected = copy.deepcopy(library)
        STEPS[revision].down(expected)
        command.downgrade(config, below)
        library = _library(superuser)
        problems = _differences(library, expected)
        assert not problems, f"downgrade of {revision}:\n" + "\n".join(problems)

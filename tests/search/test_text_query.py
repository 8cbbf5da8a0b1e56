"""A text query always reaches PostgreSQL in a form its web-search parser accepts."""

from __future__ import annotations

import random

import psycopg
import pytest
from psycopg import errors as pg_errors

from photostore.db.errors import database_unavailable, over_a_database_limit
from photostore.search.text import MAX_NEGATIONS, web_query
from tests.conftest import ScratchDatabase

# Characters the query parser treats as operators or skips, and some words.
PIECES = ["-"] * 6 + [" ", '"', "(", ")", "!", "|", "&", "<->", ":", "*", "'", "or", "a", "é"]


def _parses(conn: psycopg.Connection, query: str) -> str:
    row = conn.execute("SELECT websearch_to_tsquery('simple', %s)::text", (query,)).fetchone()
    assert row is not None
    return str(row[0])


def test_many_signs_in_a_row_are_refused_by_postgresql_as_given(
    database: ScratchDatabase,
) -> None:
    with database.superuser_connect() as conn, pytest.raises(pg_errors.InternalError):
        _parses(conn, "-" * 33)


def test_every_query_is_parsed_and_ordinary_ones_unchanged(database: ScratchDatabase) -> None:
    rnd = random.Random(13)
    with database.superuser_connect() as conn:
        for _ in range(2000):
            query = "".join(rnd.choices(PIECES, k=rnd.randint(1, 300)))[:500]
            _parses(conn, web_query(query))
        for query in ['"red car" -truck', "cat or dog", "x -y -z", "--x", "a-b-c", "- " * 4]:
            assert web_query(query) == query
        # Past the bound a run keeps its parity: NOT NOT x is x, NOT NOT NOT x is NOT x.
        signs = MAX_NEGATIONS + 1
        assert _parses(conn, web_query("-" * (signs + 1) + "x")) == "'x'"
        assert _parses(conn, web_query("-" * signs + "x")) == "!'x'"


def test_a_value_over_a_postgresql_limit_is_not_an_outage(database: ScratchDatabase) -> None:
    # psycopg files "program limit exceeded" under OperationalError, as it does a server
    # that went away; retrying the same value can never succeed.
    with database.superuser_connect() as conn, pytest.raises(psycopg.OperationalError) as raised:
        conn.execute(
            "SELECT repeat('ab ', 1) || string_agg(md5(i::text), ' ')::tsvector "
            "FROM generate_series(1, 40000) AS i"
        )
    assert over_a_database_limit(raised.value)
    assert not database_unavailable(raised.value)

"""Apply the Alembic migrations programmatically (``photostore migrate``, and at start),
and say what to do with a schema this photostore cannot serve."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import NullPool, create_engine, inspect, text

from photostore.db.rls import DEFAULT_APP_ROLE

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# From this revision on the service role may read the schema's revision; a service role
# that cannot read it is on an older schema.
READABLE_SINCE = "0010_schema_version_readable"


def alembic_config(owner_url: str, app_role: str = DEFAULT_APP_ROLE) -> Config:
    """An Alembic configuration that connects as the schema owner ``owner_url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's ini parser treats % as interpolation; URLs may contain %-escapes.
    config.set_main_option("sqlalchemy.url", owner_url.replace("%", "%%"))
    config.attributes["app_role"] = app_role
    return config


def known_revisions() -> list[str]:
    """The revisions of this photostore's schema, oldest first."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return [found.revision for found in reversed(list(script.walk_revisions()))]


# The revisions of the development chain the baseline replaced (docs/decisions.md).
RETIRED_REVISIONS = frozenset(f"{n:04d}" for n in range(1, 10))

_UPGRADING = "docs/operations.md, 'Upgrading and downgrading'"


class SchemaRefused(RuntimeError):
    """This photostore cannot migrate the database's schema; the message says what to do."""


class RetiredSchema(SchemaRefused):
    """The database was migrated by the development chain that the baseline replaced."""


class SchemaTooNew(SchemaRefused):
    """The database's schema is at a revision this photostore does not know."""


def retired(found: str) -> str:
    """What to do with a schema at ``found``, a revision of the retired chain."""
    how = (
        "its schema is the baseline's: record it with UPDATE alembic_version SET "
        "version_num = '0001_baseline' (as the owner role), then start again"
        if found == "0009"
        else "migrate it to 0009 with the development build that made it, or recreate it"
    )
    return (
        f"the database is at revision {found} of the development migrations, which the "
        f"first release replaced by one baseline; {how}"
    )


def too_new(found: str, known: list[str]) -> str:
    """What to do with a schema at ``found``, a revision a newer photostore made."""
    head = known[-1]
    return (
        f"the database's schema is at revision {found}, which this photostore does not know "
        f"(its newest is {head}): a newer photostore migrated it. Run that newer photostore; "
        f"or, to come back to this one, run `photostore migrate --to {head}` with the newer "
        f"one first, or restore a backup taken before the upgrade ({_UPGRADING})"
    )


_MIGRATE = (
    "run `photostore migrate` (with an external database, with "
    "PHOTOSTORE_MIGRATION_DATABASE_URL set to the URL of the role that owns the schema), "
    f"then start again ({_UPGRADING})"
)


def too_old(found: str | None, head: str) -> str:
    """What to do with a schema at ``found`` (None: older than :data:`READABLE_SINCE`)."""
    at = f"at revision {found}" if found is not None else f"older than {READABLE_SINCE}"
    return f"the database's schema is {at}, and this photostore needs {head}: {_MIGRATE}"


def no_schema() -> str:
    return f"the database holds no photostore schema: {_MIGRATE}"


def revision_problem(found: str | None, known: list[str]) -> str | None:
    """Why a schema at revision ``found`` (None: none recorded) cannot be served by a
    photostore knowing ``known``, oldest first (None when it is the newest)."""
    if found is None:
        return no_schema()
    if found in RETIRED_REVISIONS:
        return retired(found)
    if found not in known:
        return too_new(found, known)
    return None if found == known[-1] else too_old(found, known[-1])


def schema_revision(owner_url: str) -> str | None:
    """The revision the database's schema is at, read as its owner (None: no schema)."""
    engine = create_engine(owner_url, poolclass=NullPool, hide_parameters=True)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    return None if found is None else str(found)


def refuse_foreign_schema(owner_url: str, known: list[str]) -> str | None:
    """The schema's revision; :class:`RetiredSchema` or :class:`SchemaTooNew` if it is
    not one of ``known``."""
    found = schema_revision(owner_url)
    if found is not None and found in RETIRED_REVISIONS:
        raise RetiredSchema(retired(found))
    if found is not None and found not in known:
        raise SchemaTooNew(too_new(found, known))
    return found


def upgrade_to_head(owner_url: str, app_role: str = DEFAULT_APP_ROLE) -> None:
    """Bring the schema to the newest revision; safe to run from several processes."""
    refuse_foreign_schema(owner_url, known_revisions())
    command.upgrade(alembic_config(owner_url, app_role), "head")


def migrate_to(owner_url: str, revision: str, app_role: str = DEFAULT_APP_ROLE) -> None:
    """Bring the schema up or down to ``revision``, one of :func:`known_revisions`.

    Going down runs the downgrades of the revisions above it, which drop what they added
    (docs/operations.md says what each loses)."""
    known = known_revisions()
    if revision not in known:
        raise ValueError(f"no revision {revision!r}; this photostore knows {', '.join(known)}")
    found = refuse_foreign_schema(owner_url, known)
    config = alembic_config(owner_url, app_role)
    if found is not None and known.index(found) > known.index(revision):
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)

"""Row-level security: the database wall between users.

The service sets ``app.user_id`` for each transaction (``set_config(..., true)``, so the
value dies with the transaction and a pooled connection never carries it over). Every
tenant table is fenced by a policy comparing ``owner_id`` with it; with no user set the
comparison is NULL and no row passes. ``FORCE`` makes the policies bind the table owner
too. The ``users`` table also admits the ``app.system`` context, which only login and
account administration set.
"""

from __future__ import annotations

from typing import Any

CURRENT_USER_SQL = "NULLIF(current_setting('app.user_id', true), '')::uuid"
SYSTEM_CONTEXT_SQL = "coalesce(current_setting('app.system', true), '') = 'on'"
DEFAULT_APP_ROLE = "photostore_app"


def _app_role(op: Any) -> str:
    role = op.get_context().config.attributes.get("app_role", DEFAULT_APP_ROLE)
    return str(role)


def enable_owner_rls(op: Any, table: str) -> None:
    """Fence ``table`` so only rows of the transaction's user are visible or writable."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY owner_isolation ON {table} "
        f"USING (owner_id = {CURRENT_USER_SQL}) WITH CHECK (owner_id = {CURRENT_USER_SQL})"
    )


def enable_users_rls(op: Any) -> None:
    """Fence ``users``: a user sees their own row; the system context sees all."""
    op.execute("ALTER TABLE users ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE users FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY self_or_system ON users "
        f"USING (id = {CURRENT_USER_SQL} OR {SYSTEM_CONTEXT_SQL}) "
        f"WITH CHECK (id = {CURRENT_USER_SQL} OR {SYSTEM_CONTEXT_SQL})"
    )


def grant_app_access(op: Any, table: str) -> None:
    """Let the service role read and write rows of ``table`` (never alter it)."""
    role = _app_role(op)
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")


def enable_owner_or_system_rls(op: Any, table: str) -> None:
    """Fence ``table`` by owner, and also admit the system context.

    For tables read before any user is known (an API key is looked up by its id to learn
    whose it is); only authentication sets the system context.
    """
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY owner_or_system ON {table} "
        f"USING (owner_id = {CURRENT_USER_SQL} OR {SYSTEM_CONTEXT_SQL}) "
        f"WITH CHECK (owner_id = {CURRENT_USER_SQL} OR {SYSTEM_CONTEXT_SQL})"
    )


def grant_app_append_only(op: Any, table: str) -> None:
    """Let the service role read and add rows of ``table``, never change or remove them."""
    op.execute(f"GRANT SELECT, INSERT ON {table} TO {_app_role(op)}")


def enable_system_only_rls(op: Any, table: str) -> None:
    """Fence ``table``, which belongs to no user, so only the system context reaches it.

    For service keys: a presented key is looked up before anyone is known, and admins
    list and revoke them; no user's transaction ever sees one.
    """
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY system_only ON {table} "
        f"USING ({SYSTEM_CONTEXT_SQL}) WITH CHECK ({SYSTEM_CONTEXT_SQL})"
    )


def grant_app_read_only(op: Any, table: str) -> None:
    """Let the service role read rows of ``table``, never write them (its owner's
    triggers, or the migrations, do)."""
    op.execute(f"GRANT SELECT ON {table} TO {_app_role(op)}")


def revoke_app_access(op: Any, table: str) -> None:
    """Take back every right of the service role on ``table``."""
    op.execute(f"REVOKE ALL ON {table} FROM {_app_role(op)}")


def grant_app_no_delete(op: Any, table: str) -> None:
    """Let the service role read, add and change rows of ``table``, never remove them."""
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON {table} TO {_app_role(op)}")

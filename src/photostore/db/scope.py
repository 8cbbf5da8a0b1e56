"""How a transaction says for whom it runs: the statements row-level security reads.

Every transaction of the service sets one of two transaction-local settings before its
first statement (``db.rls`` writes the policies that read them): ``app.user_id``, the
one user whose rows it may see, or ``app.system``, the context of login and account
administration, which sees ``users`` only. ``set_config(..., true)`` ends with the
transaction, so a pooled connection cannot carry a scope to the next one.

Two classes open every transaction and scope it with the statements below: the async
data layer (``db.session.Database``) and, for code in worker threads and commands (the
blob store's data keys, index maintenance), ``db.sync_session.SyncDatabase``. Both send
them without parameters (the simple query protocol; the async one with ``BEGIN`` in the
same round trip), and both replace a dead pooled connection instead of pinging it.
"""

from __future__ import annotations

import uuid
from typing import Final

SYSTEM_SCOPE: Final = "SELECT set_config('app.system', 'on', true)"


def user_scope(user_id: uuid.UUID) -> str:
    """The statement that scopes a transaction to ``user_id``'s rows.

    The only value spliced in is the canonical form of a ``uuid.UUID`` made here, so the
    statement needs no parameter and can open a transaction in the same round trip."""
    return f"SELECT set_config('app.user_id', '{uuid.UUID(str(user_id))}', true)"

"""Emails in Unicode NFC, as sign-up and login now normalize them (``normalize_email``).

Before this revision an email was stored trimmed and lower-cased only, so ``é`` written
as one code point and as ``e`` plus a combining accent made two accounts, and a user
whose email was stored decomposed could no longer log in once login composes it. The
upgrade rewrites every stored email to NFC. When several accounts compose to one
address, the one already stored in that form keeps it, else the oldest; the others keep
their stored form, can no longer log in by email, and are named in a warning for the
operator to settle (export their photos, delete one). The rule is written here, not
imported: a migration is a snapshot.

The downgrade changes nothing: an NFC email is a valid stored email before this
revision too.

Revision ID: 0006_nfc_emails
Revises: 0005_refresh_families
Create Date: 2026-12-02
"""

from __future__ import annotations

import logging
import unicodedata
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_nfc_emails"
down_revision: str | None = "0005_refresh_families"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("photostore.migrations")


def upgrade() -> None:
    bind = op.get_bind()
    # users admits the system context (row-level security binds the owner too); set for
    # this transaction only.
    bind.execute(sa.text("SELECT set_config('app.system', 'on', true)"))
    rows = bind.execute(sa.text("SELECT id, email FROM users ORDER BY created_at, id")).all()
    groups: dict[str, list[tuple[object, str]]] = defaultdict(list)
    for user_id, email in rows:
        groups[unicodedata.normalize("NFC", email)].append((user_id, email))
    for composed, accounts in groups.items():
        already = [a for a in accounts if a[1] == composed]
        keeper = already[0] if already else accounts[0]
        if keeper[1] != composed:
            bind.execute(
                sa.text("UPDATE users SET email = :email WHERE id = :id"),
                {"email": composed, "id": keeper[0]},
            )
        others = [str(user_id) for user_id, _ in accounts if user_id != keeper[0]]
        if others:
            log.warning(
                "accounts %s compose to the email of account %s and keep their stored "
                "form: they can no longer log in by email",
                others,
                keeper[0],
            )
    bind.execute(sa.text("SELECT set_config('app.system', '', true)"))


def downgrade() -> None:
    pass

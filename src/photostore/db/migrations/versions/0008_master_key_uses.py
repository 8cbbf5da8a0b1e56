"""Which master keys the stored data keys are wrapped under, readable at start.

``user_keys`` is fenced per user, so no single query of the service role can ask which
master keys the database needs; a start on a folder whose key file was lost (a restore
without the keys, a copied data folder) used to make a new key and serve 500s on every
image. ``master_key_uses`` counts the data keys under each master key: a row-level
trigger on ``user_keys`` keeps it (as the table owner, SECURITY DEFINER, in the system
context it sets and restores), the service role may only read it, in the system context,
and ``services.master_keys`` refuses a start that lacks one of the keys it names.

The upgrade counts the existing data keys (lifting FORCE on ``user_keys`` inside this
transaction, since row-level security binds the owner too); the downgrade drops the
table, its trigger and its function.

Revision ID: 0008_master_key_uses
Revises: 0007_embedding_copies
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from photostore.db.rls import enable_system_only_rls, grant_app_read_only

revision: str = "0008_master_key_uses"
down_revision: str | None = "0007_embedding_copies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = """
CREATE TABLE master_key_uses (
    master_key_id varchar(64) NOT NULL,
    data_keys bigint NOT NULL,
    CONSTRAINT pk_master_key_uses PRIMARY KEY (master_key_id),
    CONSTRAINT ck_master_key_uses_data_keys CHECK (data_keys >= 0)
)
"""

# set_config(..., true) lasts to the end of the transaction: the previous value of
# app.system is put back before the function returns, so the caller's context is
# unchanged (a SET clause on the function would need a superuser for app.* names).
_FUNCTION = """
CREATE FUNCTION user_keys_count_master_keys() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    previous text := coalesce(current_setting('app.system', true), '');
BEGIN
    PERFORM set_config('app.system', 'on', true);
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE master_key_uses SET data_keys = data_keys - 1
         WHERE master_key_id = OLD.master_key_id;
        DELETE FROM master_key_uses
         WHERE master_key_id = OLD.master_key_id AND data_keys = 0;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO master_key_uses (master_key_id, data_keys)
        VALUES (NEW.master_key_id, 1)
        ON CONFLICT (master_key_id) DO UPDATE
           SET data_keys = master_key_uses.data_keys + 1;
    END IF;
    PERFORM set_config('app.system', previous, true);
    RETURN NULL;
END $$
"""

_TRIGGER = """
CREATE TRIGGER user_keys_count_master_keys
AFTER INSERT OR DELETE OR UPDATE OF master_key_id ON user_keys
FOR EACH ROW EXECUTE FUNCTION user_keys_count_master_keys()
"""

_FILL = """
DO $$ BEGIN
PERFORM set_config('app.system', 'on', true);
INSERT INTO master_key_uses (master_key_id, data_keys)
SELECT master_key_id, count(*) FROM user_keys GROUP BY master_key_id;
PERFORM set_config('app.system', '', true);
END $$
"""


def upgrade() -> None:
    op.execute(_TABLE)
    enable_system_only_rls(op, "master_key_uses")
    grant_app_read_only(op, "master_key_uses")
    op.execute(_FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION user_keys_count_master_keys() FROM PUBLIC")
    op.execute(_TRIGGER)
    op.execute("ALTER TABLE user_keys NO FORCE ROW LEVEL SECURITY")
    op.execute(_FILL)
    op.execute("ALTER TABLE user_keys FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    op.execute("DROP TRIGGER user_keys_count_master_keys ON user_keys")
    op.execute("DROP FUNCTION user_keys_count_master_keys()")
    op.execute("DROP TABLE master_key_uses")

"""The start's check that every master key the database needs is configured.

Without it, a folder restored without its keys (or a data folder copied to a new
machine) made a new master key on start and then answered every original and thumbnail
with 500 ``unreadable-data``. Now the start stops first, naming the missing key ids and
how to bring them back (``photostore keys import``), and makes no key file.
"""

from __future__ import annotations

from photostore.config import Settings
from photostore.crypto.masterkeys import MasterKeyring, NoMasterKey, keyring_for
from photostore.db.repositories.master_key_uses import MasterKeyUseRepository
from photostore.db.session import Database


class MasterKeysMissing(RuntimeError):
    """The database holds data keys under master keys this process does not have."""


async def master_keys_in_use(db: Database) -> dict[str, int]:
    """How many data keys each master key wraps, by master key id."""
    async with db.for_system() as session:
        return await MasterKeyUseRepository(session).counts()


def missing_keys_message(missing: dict[str, int], settings: Settings) -> str:
    """What an operator reads when keys are missing: which ones, and what to do."""
    listed = ", ".join(f"{key_id} ({count} data keys)" for key_id, count in sorted(missing.items()))
    return (
        f"the database holds data keys wrapped under master keys this photostore does not "
        f"have: {listed}. Without them no image can be read. Import them from a key export "
        f"(`photostore keys import --data-dir {settings.data_dir} --from FILE`), or set "
        "PHOTOSTORE_MASTER_KEY / PHOTOSTORE_MASTER_KEY_FILE to the keys this database was "
        f"used with (the key file is looked for at {settings.resolved_master_key_file})."
    )


async def checked_keyring(settings: Settings, db: Database) -> MasterKeyring:
    """The keyring of ``settings``, after checking it holds every key ``db`` needs.

    A new key file is made only for a database that holds no data key yet: a database
    that does needs its own keys, never a fresh one.
    """
    in_use = await master_keys_in_use(db)
    try:
        ring = keyring_for(settings, create=not in_use)
    except NoMasterKey as exc:
        raise MasterKeysMissing(missing_keys_message(in_use, settings)) from exc
    missing = {key_id: n for key_id, n in in_use.items() if key_id not in ring.key_ids}
    if missing:
        raise MasterKeysMissing(missing_keys_message(missing, settings))
    return ring

"""The deletion log: every deleted account, recorded where no database restore reaches.

Deleting an account shreds its data key (``user_keys``) and its rows, but a database
backup taken before, or its archived WAL, still holds the wrapped key and the rows, and
the master key that opens them is unchanged. Restoring such a backup brings the account
back. So before anything of an account is destroyed its id is appended here, in the keys
folder beside the master key file (``<data dir>-keys/deletions.jsonl`` by default): out of
the data folder, the database and the blob store, which are what a backup copies and a
restore replaces. Re-applying the log after a restore (``services.deletions``) destroys
again whatever the backup brought back.

One JSON object per line, ``{"user_id": "...", "deleted_at": "..."}``, appended and
fsynced before the deletion starts, so an account is never gone from the database
without being in the log. The log holds ids (random UUIDs) and times, no personal data.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from photostore.config import Settings
from photostore.private_files import FILE_MODE, private_folder

FILE_NAME = "deletions.jsonl"


def deletion_log_path(settings: Settings) -> Path:
    """The deletion log of ``settings``: beside the master key file, whichever it is."""
    return settings.resolved_master_key_file.parent / FILE_NAME


@dataclass(frozen=True)
class Deletion:
    user_id: uuid.UUID
    deleted_at: datetime


class DeletionLogDamaged(RuntimeError):
    """A line of the deletion log that is not a deletion: the log was edited or damaged."""


def read_deletions(path: Path) -> list[Deletion]:
    """Every deletion in the log, oldest first; none when there is no log yet.

    A last line without its newline is a write a crash cut short: the deletion it began
    never started (the line is fsynced first), so it is skipped. Any other bad line stops
    with :class:`DeletionLogDamaged`: silently skipping it could resurrect an account.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    # The last element is what follows the last newline: empty, or a cut-short write.
    complete = text.split("\n")[:-1]
    deletions = []
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            deletions.append(
                Deletion(
                    user_id=uuid.UUID(entry["user_id"]),
                    deleted_at=datetime.fromisoformat(entry["deleted_at"]),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise DeletionLogDamaged(
                f"line {number} of {path} is not a deletion ({exc}); restore the file from "
                "a copy, or remove the line if it is known to hold no deletion"
            ) from exc
    return deletions


def record_deletion(path: Path, user_id: uuid.UUID, deleted_at: datetime) -> None:
    """Append ``user_id`` to the log, durably, unless it is there already.

    The file is 0600 in a 0700 folder, opened for appending (a line is one ``write``,
    so lines from two processes never interleave), then fsynced, and its folder too the
    first time, so the line survives a power cut before the deletion begins.
    """
    if any(d.user_id == user_id for d in read_deletions(path)):
        return
    private_folder(path.parent)
    created = not path.exists()
    line = json.dumps({"user_id": str(user_id), "deleted_at": deleted_at.isoformat()}) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    try:
        os.write(descriptor, line.encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if created:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def merge_deletions(path: Path, deletions: list[Deletion]) -> int:
    """Append each of ``deletions`` the log at ``path`` lacks; return how many were added.

    For ``photostore keys import``: the deletion log travels with the keys, and a log
    that only grows never brings an account back.
    """
    known = {d.user_id for d in read_deletions(path)}
    added = 0
    for deletion in deletions:
        if deletion.user_id not in known:
            record_deletion(path, deletion.user_id, deletion.deleted_at)
            known.add(deletion.user_id)
            added += 1
    return added

"""A backup target folder and the manifest of each restorable point in it.

::

    TARGET/
      photostore-backup.json        what this folder is (format, version)
      objects/<aa>/<sha256>         blobs as stored (encrypted), by the sha256 of their bytes
      points/<id>/manifest.json     written last: a point without one does not exist
      points/<id>/base/             pg_basebackup (plain, with its own SHA-256 manifest)
      points/<id>/wal/              the WAL from the base backup's start to the restore point,
                                    each segment gzip-compressed under its own name

A blob is copied once into ``objects/`` whatever the number of points that reference it;
the manifest maps each blob key to the object. Points are named by their UTC time.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from photostore.private_files import private_folder, write_private_file

FORMAT = "photostore-backup"
VERSION = 1
_MARKER = "photostore-backup.json"


class BackupRefused(RuntimeError):
    """A backup, restore or drill that cannot go on; the message says why and what to do."""


class TargetBusy(BackupRefused):
    """Another backup or prune holds the target's lock."""


@dataclass(frozen=True)
class StoredBlob:
    """A blob of the point: the sha256 and size of its bytes as stored."""

    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """What one restorable point holds and how to check every byte of it."""

    id: str
    created_at: datetime
    kind: str  # "full" or "incremental"
    chain: list[str]  # the points whose base backups combine into this one, full first
    restore_point: str
    lsn: str
    wal: dict[str, str]  # WAL file name -> sha256
    base_manifest_sha256: str
    row_counts: dict[str, int]
    master_key_ids: list[str]
    blobs: dict[str, StoredBlob] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> bytes:
        body: dict[str, Any] = {"format": FORMAT, "version": VERSION, **asdict(self)}
        body["created_at"] = self.created_at.isoformat()
        return json.dumps(body, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        body = json.loads(data)
        if body.pop("format", None) != FORMAT or body.pop("version", None) != VERSION:
            raise BackupRefused("a manifest of another format or version")
        body["created_at"] = datetime.fromisoformat(body["created_at"])
        body["blobs"] = {key: StoredBlob(**value) for key, value in body["blobs"].items()}
        return cls(**body)

    @property
    def blob_bytes(self) -> int:
        return sum(blob.size for blob in self.blobs.values())


class Target:
    """A backup folder: its points, objects and the lock that keeps backups one at a time."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def create(self) -> Target:
        """Make the folder a backup target (once); refuse a folder that holds other things."""
        marker = self.root / _MARKER
        if not marker.exists():
            if self.root.exists() and any(self.root.iterdir()):
                raise BackupRefused(
                    f"{self.root} is not empty and not a photostore backup: choose a new or "
                    "empty folder"
                )
            private_folder(self.root)
            body = {"format": FORMAT, "version": VERSION, "id": secrets.token_hex(16)}
            write_private_file(marker, json.dumps(body).encode())
        return self.check()

    def identity(self) -> str:
        """The random id written into the folder when it was made a target ("" for a
        folder an older photostore made)."""
        return str(json.loads((self.root / _MARKER).read_text()).get("id", ""))

    def check(self) -> Target:
        """This target, if it is one; :class:`BackupRefused` otherwise."""
        try:
            body = json.loads((self.root / _MARKER).read_text())
        except (OSError, ValueError) as exc:
            raise BackupRefused(f"{self.root} is not a photostore backup target") from exc
        if body.get("format") != FORMAT or body.get("version") != VERSION:
            raise BackupRefused(f"{self.root} holds a backup of another format or version")
        return self

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the target's lock: one backup at a time writes to a target."""
        with (self.root / ".lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise TargetBusy(f"another backup is writing to {self.root}") from exc
            yield

    def point_folder(self, point_id: str) -> Path:
        return self.root / "points" / point_id

    def object_path(self, sha256: str) -> Path:
        return self.root / "objects" / sha256[:2] / sha256

    def points(self) -> list[Manifest]:
        """Every restorable point, oldest first (a folder without its manifest is a
        backup that did not finish, and is not one)."""
        found = []
        for folder in sorted((self.root / "points").glob("*")):
            path = folder / "manifest.json"
            if path.is_file():
                found.append(Manifest.from_json(path.read_bytes()))
        return found

    def newest_point_time(self) -> datetime | None:
        """When the newest restorable point was made, from the folder names alone (a
        manifest can be large: one line per blob)."""
        for folder in sorted((self.root / "points").glob("*"), reverse=True):
            if (folder / "manifest.json").is_file():
                with contextlib.suppress(ValueError):
                    return point_time(folder.name)
        return None

    def point(self, point_id: str | None) -> Manifest:
        """The point ``point_id``, or the newest when None."""
        points = self.points()
        if not points:
            raise BackupRefused(f"{self.root} holds no restorable point yet")
        if point_id is None:
            return points[-1]
        for manifest in points:
            if manifest.id == point_id:
                return manifest
        raise BackupRefused(
            f"{self.root} has no point {point_id}; `photostore backup list` shows them"
        )

    def write_manifest(self, manifest: Manifest) -> None:
        write_private_file(self.point_folder(manifest.id) / "manifest.json", manifest.to_json())


def point_id(now: datetime) -> str:
    """The name of a point made at ``now`` (UTC): its time to the millisecond."""
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"


def point_time(name: str) -> datetime:
    """The inverse of :func:`point_id`; ValueError for another name."""
    return datetime.strptime(name[:-1] + "000", "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()

"""The embedded server's settings, sized from the machine's memory when the cluster is made.

PostgreSQL's defaults (128 MB of shared buffers, 4 MB of work memory, 1 GB of WAL between
checkpoints) suit a laptop shared with many programs; photostore's embedded server is the
database of a photo library that may hold millions of rows and vectors. The values
follow the common rules of thumb (a quarter of memory for shared buffers, half for the
planner's idea of the page cache), with caps, because the API processes of the same
machine need memory too: each holds a vector cache (``PHOTOSTORE_VECTOR_CACHE_MB``)
and decodes images.

They are written once, with ``ALTER SYSTEM``, when photostore creates the cluster, and
never again: an operator who changes them later (``ALTER SYSTEM`` or
``postgresql.auto.conf``) keeps the change. ``docs/operations.md`` has the table.
"""

from __future__ import annotations

from pathlib import Path

import psutil

MIB = 1024 * 1024
GIB = 1024 * MIB

# Where a cgroup v2 container's memory limit is; "max" when there is none.
_CGROUP_MEMORY_MAX = Path("/sys/fs/cgroup/memory.max")


def machine_memory_bytes(cgroup_limit_file: Path = _CGROUP_MEMORY_MAX) -> int:
    """The memory this process may use: the machine's, or its container's limit if lower."""
    total = int(psutil.virtual_memory().total)
    try:
        limit = cgroup_limit_file.read_text().strip()
    except OSError:
        return total
    return min(total, int(limit)) if limit.isdigit() else total


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _mb(value: int) -> str:
    return f"{value // MIB}MB"


def embedded_server_settings(memory_bytes: int) -> dict[str, str]:
    """The settings photostore gives a cluster it creates on a machine of ``memory_bytes``."""
    max_connections = 100 if memory_bytes < 4 * GIB else 200
    shared_buffers = _clamp(memory_bytes // 4, 128 * MIB, 8 * GIB)
    return {
        # Each API process pools up to 2 x PHOTOSTORE_DATABASE_POOL_SIZE connections plus
        # a few for data keys and the vector cache: 200 leaves room for several processes.
        "max_connections": str(max_connections),
        "shared_buffers": _mb(shared_buffers),
        "effective_cache_size": _mb(_clamp(memory_bytes // 2, 512 * MIB, 64 * GIB)),
        # Per sort or hash node of one query: a quarter of memory shared by every
        # connection at once would be the worst case, which never happens all together.
        "work_mem": _mb(_clamp(memory_bytes // 4 // max_connections, 4 * MIB, 64 * MIB)),
        # HNSW builds are several times faster when the graph fits in this memory.
        "maintenance_work_mem": _mb(_clamp(memory_bytes // 16, 64 * MIB, 2 * GIB)),
        # Bulk imports and index builds write a lot of WAL: fewer forced checkpoints.
        "max_wal_size": _mb(_clamp(memory_bytes // 4, 1 * GIB, 8 * GIB)),
        "min_wal_size": "256MB",
        "wal_level": "replica",
        # WAL summaries let pg_basebackup --incremental copy only the changed blocks.
        "summarize_wal": "on",
    }

"""The PostgreSQL client programs of the bundled engine (pg_basebackup, pg_combinebackup,
pg_verifybackup, pg_amcheck), run with their arguments as a list; ``pg_ctl``, run as the
server's OS account; and the hand-over of files they wrote to that account."""

from __future__ import annotations

import os
import pwd
import subprocess
import tempfile
from pathlib import Path

from photostore.db.embedded import bin_folder, server_os_user


class PostgresProgramFailed(RuntimeError):
    """A PostgreSQL client program exited non-zero; the message holds its error output."""


def postgres_program(name: str) -> Path:
    """The path of the bundled PostgreSQL program ``name``."""
    path = bin_folder() / name
    if not path.is_file():
        raise PostgresProgramFailed(f"the bundled PostgreSQL has no program {name}")
    return path


def run_postgres_program(name: str, *args: str) -> str:
    """Run the bundled ``name`` with ``args``; its standard output, or
    :class:`PostgresProgramFailed` with its error output."""
    done = subprocess.run(  # noqa: S603 - a bundled program, arguments as a list
        [str(postgres_program(name)), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise PostgresProgramFailed(
            f"{name} failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
        )
    return done.stdout


def run_pg_ctl(pgdata: Path, *args: str, timeout: float) -> None:
    """Run the bundled ``pg_ctl -D pgdata args`` as the server's OS account (the server
    refuses to run as root), or raise :class:`PostgresProgramFailed` with its error output.

    Its output goes to a file, not a pipe: a server it starts may hold a pipe open for
    as long as it runs (the wheel met ``pg_ctl`` hanging so).
    """
    with tempfile.TemporaryFile("w+") as errors:
        done = subprocess.run(  # noqa: S603 - a bundled program, arguments as a list
            [str(postgres_program("pg_ctl")), "-D", str(pgdata), *args],
            stdout=subprocess.DEVNULL,
            stderr=errors,
            user=server_os_user(),
            timeout=timeout,
            check=False,
        )
        errors.seek(0)
        if done.returncode != 0:
            raise PostgresProgramFailed(
                f"pg_ctl {' '.join(args)} failed (exit {done.returncode}): {errors.read().strip()}"
            )


def hand_to_server(path: Path) -> None:
    """Give ``path`` and everything below it to the server's OS account (when photostore
    runs as root, files it wrote for the server must be the server's)."""
    user = server_os_user()
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for here, folders, files in os.walk(path):
        os.chown(here, entry.pw_uid, entry.pw_gid)
        for name in (*folders, *files):
            os.chown(Path(here) / name, entry.pw_uid, entry.pw_gid, follow_symlinks=False)

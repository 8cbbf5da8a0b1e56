"""Real server processes for the benchmarks: ``photostore serve`` on loopback.

What users see is measured through a real process over loopback HTTP, never through an
in-process ASGI client: the server parses, routes, serializes and logs as it does in a
deployment, and the client's work is not the server's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server_process(
    command: list[str], env: dict[str, str], port: int, log: Path, ready_path: str = "/healthz"
) -> Iterator[str]:
    """Start ``command``, wait until ``ready_path`` answers, yield its base URL, stop it.

    The process's output goes to ``log``; its tail is printed when the block fails.
    """
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{command} exited: {log.read_text()[-2000:]}")
                try:
                    httpx.get(f"{base}{ready_path}", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            try:
                yield base
            except Exception:
                print(f"{log.name}: {log.read_text()[-3000:]}", file=sys.stderr)
                raise
        finally:
            process.terminate()
            process.wait(30)


@contextmanager
def photostore_serve(
    data_dir: Path, settings: dict[str, str] | None = None, database_url: str | None = None
) -> Iterator[str]:
    """``photostore serve`` on a free loopback port; yields its base URL.

    ``database_url`` is the service role's URL of an existing database; None runs the
    embedded default in ``data_dir``. ``settings`` are more ``PHOTOSTORE_*`` variables
    (name without the prefix). Its log is ``<data_dir>/../serve-<port>.log``.
    """
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSTORE_")}
    env["PHOTOSTORE_LOG_LEVEL"] = "WARNING"
    if database_url is not None:
        env["PHOTOSTORE_DATABASE_URL"] = database_url
    env.update({f"PHOTOSTORE_{name.upper()}": value for name, value in (settings or {}).items()})
    command = [
        sys.executable,
        "-m",
        "photostore",
        "serve",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
    ]
    with server_process(command, env, port, data_dir.parent / f"serve-{port}.log") as base:
        yield base

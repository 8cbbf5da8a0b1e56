"""Real server processes for the benchmarks: ``photostore serve`` on loopback.

What users see is measured through a real process over loopback HTTP, never through an
in-process ASGI client: the server parses, routes, serializes and logs as it does in a
deployment, and the client's work is not the server's.
"""

from __future__ import annotations

import io
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
from PIL import Image

COMMAND = [sys.executable, "-m", "photostore"]
_BOUNDARY = "photostore-bench-upload"
UPLOAD_CONTENT_TYPE = f"multipart/form-data; boundary={_BOUNDARY}"


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


def photostore_env(**settings: str) -> dict[str, str]:
    """The environment of a photostore process: ours without PHOTOSTORE_*, plus ``settings``
    (names without the prefix)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSTORE_")}
    env["PHOTOSTORE_LOG_LEVEL"] = "WARNING"
    env.update({f"PHOTOSTORE_{name.upper()}": value for name, value in settings.items()})
    return env


def photostore_cli(*args: str, env: dict[str, str] | None = None) -> str:
    """Run a ``photostore`` command; its standard output, or RuntimeError if it failed."""
    done = subprocess.run(
        [*COMMAND, *args],
        capture_output=True,
        text=True,
        env=env or photostore_env(),
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"photostore {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


class ServeProcess:
    """``photostore serve`` on a free loopback port, ready when the constructor returns."""

    def __init__(self, data_dir: Path, log: Path, env: dict[str, str] | None = None) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        command = [*COMMAND, "serve", "--data-dir", str(data_dir), "--port", str(port)]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, env=env or photostore_env(), stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited: {log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"serve was not ready in 60 s: {log.read_text()[-3000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean anything up."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        """SIGTERM, and the process must exit cleanly."""
        self.process.send_signal(signal.SIGTERM)
        if self.process.wait(30) != 0:
            raise RuntimeError(f"serve exited {self.process.returncode}: {self.log.read_text()}")


def make_photo(rng: random.Random, width: int = 320, height: int = 240) -> bytes:
    """A distinct JPEG of noise, which compresses badly: about a byte a pixel."""
    noise = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=90)
    return out.getvalue()


def multipart_body(photo: bytes) -> bytes:
    """An upload's body (``UPLOAD_CONTENT_TYPE``), sent whole or piece by piece."""
    head = (
        f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + photo + f"\r\n--{_BOUNDARY}--\r\n".encode()

"""Real ``photostore`` processes for tests: the command in a subprocess, and a server on a
free loopback port that is stopped with SIGTERM and must exit cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import psutil
import pytest

from photostore.auth.passwords import MIN_MEMORY_KIB

COMMAND = [sys.executable, "-m", "photostore"]


def cli_env() -> dict[str, str]:
    """The environment of a test's ``photostore`` process: none of the caller's settings,
    quiet logs, and the cheapest password hashes (test runs only), as the in-process
    services of the suite hash (``tests.conftest.service_settings``); a test of hashing
    itself sets the production cost in its own ``env``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSTORE_")}
    env["PHOTOSTORE_LOG_LEVEL"] = "WARNING"
    env["PHOTOSTORE_ENVIRONMENT"] = "test"
    env["PHOTOSTORE_PASSWORD_HASH_MEMORY_KIB"] = str(MIN_MEMORY_KIB)
    env["PHOTOSTORE_PASSWORD_HASH_TIME_COST"] = "1"
    return env


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**cli_env(), **(env or {})},
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(
    data_dir: Path, env: dict[str, str] | None = None, *, quiet: bool = True
) -> Iterator[str]:
    """``photostore serve`` on ``data_dir`` (with ``env`` added to its environment) until
    the block ends; its log is ``serve-<port>.log`` beside the folder. ``quiet=False``
    for a test that makes it warn (a fault it survives)."""
    port = free_port()
    log_path = data_dir.parent / f"serve-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*COMMAND, "serve", "--data-dir", str(data_dir), "--port", str(port)],
            env={**cli_env(), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"serve exited early:\n{log_path.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail("serve did not become ready in 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("serve did not stop within 30 s of SIGTERM")
    output = log_path.read_text()
    assert process.returncode == 0, output
    # A plain start and stop says nothing at WARNING level (no library chatter either).
    assert not quiet or "warning" not in output.lower(), output


def postgres_running_in(pgdata: Path) -> bool:
    """Whether a postgres process of the cluster in ``pgdata`` runs."""
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("name") == "postgres" and any(str(pgdata) in part for part in cmdline):
            return True
    return False


def login(base: str, email: str, password: str) -> dict[str, str]:
    response = httpx.post(f"{base}/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}

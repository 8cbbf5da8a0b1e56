"""Test fixtures: one real embedded PostgreSQL per run, a fresh database per test.

The cluster starts once; a template database is migrated once; every test gets its own
database cloned from the template (about 0.04 s with its drop, in memory), so tests never
share rows and need no cleanup order. Tests that need the same costly rows (thousands of
vectors, an HNSW index) clone a template seeded once per worker (``seeded_template``)
by overriding the ``database_template`` fixture.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import httpx2 as httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from photostore.app import create_app
from photostore.auth.passwords import MIN_MEMORY_KIB
from photostore.config import Settings
from photostore.db.embedded import (
    APP_ROLE,
    OWNER_ROLE,
    EmbeddedCluster,
    ensure_database,
    start_cluster,
)
from photostore.db.migrate import upgrade_to_head
from photostore.services.users import UserService
from tests.media import corpus

TEMPLATE = "photostore_template"

T = TypeVar("T")


def service_settings(data_dir: Path, database_url: str, pool_size: int = 4) -> Settings:
    """Settings of a test service on ``database_url``, with open sign-up.

    Password hashes take the cheapest argon2id the settings allow (test runs only): the
    suite makes hundreds of accounts; tests that measure hashing set the production cost.
    """
    return Settings(
        environment="test",
        data_dir=data_dir,
        database_url=database_url,
        allow_signup=True,
        database_pool_size=pool_size,
        password_hash_memory_kib=MIN_MEMORY_KIB,
        password_hash_time_cost=1,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the modules that hold slow tests first, each in its own order.

    The slow tests start processes and clusters and take seconds each; in path order the
    longest (``tests/test_cli.py``) came last, and one xdist worker sat idle while the
    other finished them. First, they are shared out while hundreds of short tests remain
    to even out the end. Whole modules move, so module fixtures are set up once as before.
    """
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)


@pytest.fixture(scope="session")
def exif_corpus() -> Path:
    """The folder of real camera files; the run fails when it cannot be found."""
    folder = corpus.corpus_dir()
    if not corpus.corpus_exists():
        pytest.fail(
            f"the EXIF corpus is missing: no {corpus.EXPECTED_FILE} in {folder}. Check out "
            f"shared/ beside the repository or set {corpus.CORPUS_ENV} to the "
            "exif-samples folder.",
            pytrace=False,
        )
    return folder


_counter = itertools.count()


# A memory-backed folder (tmpfs) for the clusters of the tests, where the machine has one
# with this much room; else the system's temporary folder.
_MEMORY_FOLDER = Path("/dev/shm")
_MEMORY_FOLDER_MIN_FREE = 4 * 2**30


def _scratch_root() -> Path | None:
    """Where :func:`postgres_folder` makes its folders.

    A cluster's files live for one test or one run. On a disk, making a database (about
    300 files) took 0.10-0.28 s (median 0.15 s, measured on the 2-core test machine) and
    a whole cluster (initdb, its WAL, the backups of it) waits on the disk for every
    fsync, more so while other programs write; in memory a database takes 0.02 s and an
    fsync returns at once. The server runs as it does anywhere else: same settings, same
    files, the same calls to the kernel; only a power cut would tell the difference.
    """
    with contextlib.suppress(OSError):
        if (
            os.access(_MEMORY_FOLDER, os.W_OK | os.X_OK)
            and shutil.disk_usage(_MEMORY_FOLDER).free >= _MEMORY_FOLDER_MIN_FREE
        ):
            return _MEMORY_FOLDER
    return None


@contextlib.contextmanager
def postgres_folder() -> Iterator[Path]:
    """A scratch folder for an embedded cluster, outside pytest's own temp folder
    (in memory where the machine allows, :func:`_scratch_root`).

    PostgreSQL runs as an unprivileged system user when the tests run as root, so every
    folder above its data must stay traversable; pytest resets its temp root to 0700.
    """
    folder = Path(tempfile.mkdtemp(prefix="photostore-test-", dir=_scratch_root()))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _skip_flushes_to_disk(cluster: EmbeddedCluster) -> None:
    """The run's own cluster writes without fsync: it lives for one run in a scratch
    folder, and a test's database is made and dropped hundreds of times (each a flush to
    disk; 0.38 s before, 0.13 s after). Every write still reaches the kernel at commit,
    so a server killed mid-test loses nothing it acknowledged; only a power cut could.
    Clusters that tests start of their own (``serve``, the CLI) keep their defaults."""
    with psycopg.connect(cluster.url("postgres", "postgres", driver=""), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET fsync = off")
        conn.execute("ALTER SYSTEM SET full_page_writes = off")
        conn.execute("SELECT pg_reload_conf()")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[EmbeddedCluster]:
    with postgres_folder() as folder:
        cluster = start_cluster(folder / "pgdata")
        _skip_flushes_to_disk(cluster)
        ensure_database(cluster, TEMPLATE)
        upgrade_to_head(cluster.url(OWNER_ROLE, TEMPLATE))
        yield cluster
        cluster.stop()


@dataclass(frozen=True)
class ScratchDatabase:
    name: str
    cluster: EmbeddedCluster

    @property
    def app_url(self) -> str:
        return self.cluster.url(APP_ROLE, self.name)

    @property
    def owner_url(self) -> str:
        return self.cluster.url(OWNER_ROLE, self.name)

    def superuser_connect(self) -> psycopg.Connection:
        return psycopg.connect(self.cluster.url("postgres", self.name, driver=""), autocommit=True)

    def app_connect(self) -> psycopg.Connection:
        return psycopg.connect(self.cluster.url(APP_ROLE, self.name, driver=""), autocommit=True)


@contextlib.contextmanager
def scratch_database(
    pg_cluster: EmbeddedCluster, name: str, template: str = TEMPLATE
) -> Iterator[ScratchDatabase]:
    """A database ``name`` cloned from ``template`` (the migrated one by default), dropped
    afterwards."""
    admin_url = pg_cluster.url("postgres", "postgres", driver="")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(template), sql.Identifier(OWNER_ROLE)
            )
        )
    try:
        yield ScratchDatabase(name=name, cluster=pg_cluster)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def database_template() -> str:
    """The database a test's own database is cloned from; a module overrides it to start
    from seeded rows."""
    return TEMPLATE


@pytest.fixture
def database(pg_cluster: EmbeddedCluster, database_template: str) -> Iterator[ScratchDatabase]:
    name = f"test_{os.getpid()}_{next(_counter)}"
    with scratch_database(pg_cluster, name, database_template) as database:
        yield database


@dataclass(frozen=True)
class SeededTemplate(Generic[T]):
    """A template database holding seeded rows, and what the seeding returned about them."""

    name: str
    seeded: T


@contextlib.contextmanager
def seeded_template(
    pg_cluster: EmbeddedCluster,
    folder: Path,
    label: str,
    seed: Callable[[Settings, ScratchDatabase], T],
) -> Iterator[SeededTemplate[T]]:
    """A template database ``seed`` fills once, for a session fixture of one worker.

    ``seed`` gets settings for the template (its data folder is ``folder``) and must close
    every connection it opens: PostgreSQL clones only a database nobody is connected to.
    """
    with scratch_database(pg_cluster, f"template_{label}_{os.getpid()}") as template:
        settings = service_settings(folder / "data", template.app_url, pool_size=2)
        yield SeededTemplate(template.name, seed(settings, template))


@pytest.fixture
def settings(tmp_path: Path, database: ScratchDatabase) -> Settings:
    return service_settings(tmp_path / "data", database.app_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@dataclass(frozen=True)
class Account:
    """A user made through the API, with ready-made auth headers."""

    id: uuid.UUID
    email: str
    password: str
    headers: dict[str, str]


def create_account(client: TestClient, email: str, password: str = "correct horse") -> Account:
    """An account made by the service the sign-up route calls, with an access token from
    the app's own codec: a seventh of the cost of three requests. The sign-up, login and
    token routes have tests of their own (``tests/api/test_users.py``, ``tests/security``).
    """
    state = client.app.state  # type: ignore[attr-defined]
    assert client.portal is not None, "the client's app is not running"
    user = client.portal.call(functools.partial(UserService(state.ctx).create, email, password))
    token = state.tokens.issue(user.id, user.token_version, role=user.role)
    headers = {"Authorization": f"Bearer {token}"}
    return Account(id=user.id, email=user.email, password=password, headers=headers)


@pytest.fixture
def make_account(client: TestClient) -> Callable[[str], Account]:
    def make(name: str) -> Account:
        return create_account(client, f"{name}@example.org")

    return make


@pytest.fixture
def alice(make_account: Callable[[str], Account]) -> Account:
    return make_account("alice")


@pytest.fixture
def bob(make_account: Callable[[str], Account]) -> Account:
    return make_account("bob")


def upload(
    client: TestClient,
    account: Account,
    data: bytes,
    filename: str = "photo.jpg",
    content_type: str = "application/octet-stream",
    **fields: str | list[str],
) -> httpx.Response:
    """POST one file to /v1/images as ``account``, with optional text fields."""
    return client.post(
        "/v1/images",
        files={"file": (filename, data, content_type)},
        data=fields,
        headers=account.headers,
    )

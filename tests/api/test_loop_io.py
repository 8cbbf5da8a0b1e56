"""No route touches the disk or a synchronous database connection from the event loop: one
slow disk or query must stall the request that waits for it, never every request of the
process.

File operations raise audit events (PEP 578); a hook records those raised in a thread
that runs an event loop while a test watches. Imports (a lazily imported module opens
its source) are left out. Writes raise no event of their own; the file they write to
was opened where they run, so the open stands for them.

The data layer talks to PostgreSQL through psycopg's ``AsyncConnection``, which yields to
the loop. Synchronous psycopg (``Connection``, ``Cursor``: the data keys' SQLAlchemy
engine, index maintenance) blocks its thread, so it belongs in worker threads: a
recorder wrapped around its connect and statement methods notes every call made on a
thread that runs an event loop, and lets the real call run.

The walk calls every route of the OpenAPI document with a valid request of the caller's
own ids (the isolation matrix's factories and bodies), so a new route is watched the
moment it exists.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from photostore.auth.principal import Role
from photostore.services.users import UserService
from tests import imagegen
from tests.conftest import Account, create_account, upload
from tests.library.factories import make_person
from tests.routes import api_operations
from tests.security.conftest import DATA_SCOPES, bearer, create_key, login, make_service_key
from tests.security.test_default_deny import PUBLIC
from tests.security.test_isolation_matrix import (
    BODIES,
    QUERY_VARIANTS,
    World,
    _params,
    _required_query,
    _url,
)

_FILE_EVENTS = frozenset(
    {"open", "os.remove", "os.rename", "os.replace", "os.mkdir", "os.link", "os.scandir",
     "os.listdir", "os.truncate", "os.chmod", "shutil.rmtree", "shutil.copyfile"}
)  # fmt: skip


class _LoopFileEvents:
    """File events raised on an event loop's thread while ``on`` is set."""

    def __init__(self) -> None:
        self.on = threading.Event()
        self.seen: list[str] = []

    def __call__(self, event: str, args: tuple[object, ...]) -> None:
        if not self.on.is_set() or event not in _FILE_EVENTS:
            return
        if not _on_a_loop_thread():
            return  # a worker thread: where file work belongs
        frames = _stack(sys._getframe(1))
        if any("importlib" in f or "linecache" in f for f in frames):
            return
        self.seen.append(f"{event} {str(args)[:100]}\n  " + "\n  ".join(frames))


def _stack(frame: FrameType | None, depth: int = 12, own_code: bool = False) -> list[str]:
    """The innermost ``depth`` frames from ``frame`` out; with ``own_code``, only those
    outside installed packages (the project's and the tests', which name the culprit)."""
    frames: list[str] = []
    while frame is not None and frame.f_back is not None and len(frames) < depth:
        if not own_code or "-packages" not in frame.f_code.co_filename:
            frames.append(f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
        frame = frame.f_back
    return frames


def _on_a_loop_thread() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


_EVENTS = _LoopFileEvents()
sys.addaudithook(_EVENTS)  # hooks cannot be removed: it records only while a test watches


@pytest.fixture
def loop_file_events() -> Iterator[list[str]]:
    _EVENTS.seen.clear()
    _EVENTS.on.set()
    try:
        yield _EVENTS.seen
    finally:
        _EVENTS.on.clear()


# The blocking entry points of synchronous psycopg. SQLAlchemy's psycopg dialect connects
# through the module's ``psycopg.connect`` (bound to ``Connection.connect`` at import, so
# both are wrapped) and runs every statement, its pool's pre-ping too, through
# ``Cursor.execute``; commit and rollback are round trips of their own. ``AsyncConnection``
# and ``AsyncCursor`` are other classes: these wrappers never see them.
_SYNC_METHODS: tuple[tuple[type[Any], str], ...] = (
    (psycopg.Connection, "connect"),
    (psycopg.Connection, "execute"),
    (psycopg.Connection, "commit"),
    (psycopg.Connection, "rollback"),
    (psycopg.Cursor, "execute"),
    (psycopg.Cursor, "executemany"),
    (psycopg.Cursor, "stream"),
    (psycopg.Cursor, "copy"),
    (psycopg.ServerCursor, "execute"),
)


class _LoopDatabaseCalls:
    """Synchronous psycopg calls made on an event loop's thread (the outermost of nested
    ones: ``Connection.execute`` runs ``Cursor.execute``)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._inside = threading.local()

    def wrap(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(real)
        def recorded(*args: Any, **kwargs: Any) -> Any:
            if getattr(self._inside, "depth", 0) == 0 and _on_a_loop_thread():
                # What ran, never whom it connected as: a conninfo holds a password.
                what = "" if name.endswith("connect") else str(args[1:2])[:100]
                where = "\n  ".join(_stack(sys._getframe(1), own_code=True))
                self.seen.append(f"psycopg {name} {what}\n  {where}")
            self._inside.depth = getattr(self._inside, "depth", 0) + 1
            try:
                return real(*args, **kwargs)
            finally:
                self._inside.depth -= 1

        return recorded


@pytest.fixture
def loop_database_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records synchronous psycopg calls on a loop thread; the real calls still run."""
    calls = _LoopDatabaseCalls()
    for cls, name in _SYNC_METHODS:
        real = cls.__dict__[name]
        if isinstance(real, classmethod):
            wrapped: object = classmethod(calls.wrap(f"{cls.__name__}.{name}", real.__func__))
        else:
            wrapped = calls.wrap(f"{cls.__name__}.{name}", real)
        monkeypatch.setattr(cls, name, wrapped)
    monkeypatch.setattr(psycopg, "connect", psycopg.Connection.connect)
    return calls.seen


def test_uploads_and_reads_do_no_file_work_on_the_event_loop(
    client: TestClient, alice: Account, loop_file_events: list[str]
) -> None:
    data = imagegen.make_jpeg(None, 800, 600, seed=3)
    created = upload(client, alice, data, tags="beach")
    assert created.status_code == 201
    image_id = created.json()["id"]
    assert upload(client, alice, data).status_code == 200  # the same bytes: staged, discarded
    assert upload(client, alice, b"not an image").status_code in (415, 422)
    for path in ("", "/content", "/thumbnail", "/thumbnail?size=preview"):
        assert client.get(f"/v1/images/{image_id}{path}", headers=alice.headers).status_code == 200
    assert client.get("/v1/images", headers=alice.headers).status_code == 200
    changed = client.patch(f"/v1/images/{image_id}", json={"favorite": True}, headers=alice.headers)
    assert changed.status_code == 200
    found = client.post("/v1/search", json={"text": "beach"}, headers=alice.headers)
    assert found.status_code == 200
    purged = client.delete(f"/v1/images/{image_id}?purge=true", headers=alice.headers)
    assert purged.status_code == 204
    first = "\n".join(loop_file_events[:3])
    assert loop_file_events == [], f"file work on the event loop:\n{first}"


# -- every route --------------------------------------------------------------------------

# Bodies the isolation matrix has no use for (routes without a path parameter) or builds
# for another caller (a merge of the caller's own person into itself), from the caller's
# own ids. Every other body is the matrix's (``BODIES``).
OWN_BODIES: dict[tuple[str, str], Callable[[dict[str, str]], Any]] = {
    ("POST", "/v1/albums"): lambda ids: {"name": "Walked"},
    ("POST", "/v1/api-keys"): lambda ids: {"name": "walked", "scopes": ["images:read"]},
    ("POST", "/v1/embedding-spaces"): lambda ids: {
        "name": "walked",
        "model": "test-model",
        "dimension": 3,
        "metric": "cosine",
    },
    ("POST", "/v1/people"): lambda ids: {"name": "Walked", "face_ids": []},
    ("POST", "/v1/people/{person_id}/merge"): lambda ids: {"person_ids": [ids["other_person"]]},
    ("POST", "/v1/search"): lambda ids: {
        "text": "walked",
        "vector": {"space": ids["space"], "values": [0.5] * int(ids["space_dimension"])},
    },
    ("POST", "/v1/tags"): lambda ids: {"name": "walked"},
    ("POST", "/v1/users"): lambda ids: {"email": "walker@example.org", "password": "walker pass"},
    ("POST", "/v1/users/me/password"): lambda ids: {
        "current_password": ids["password"],
        "new_password": "a new password",
    },
}

# Routes that end the caller's session or account: each is walked by an account of its own.
SESSION_ENDING = {
    ("POST", "/v1/auth/logout"),
    ("POST", "/v1/users/me/password"),
    ("DELETE", "/v1/users/me"),
}


class _Walk:
    """Calls every route once per query variant with a valid request of the caller's own
    ids; deletions each get resources of their own, so no call removes what another needs.
    """

    def __init__(
        self,
        client: TestClient,
        owner: Account,
        admin: Account,
        service_key_id: str,
        other_callers: list[dict[str, str]],
    ) -> None:
        self.client = client
        self.owner = owner
        self.admin = admin
        self.service_key_id = service_key_id  # the one the admin route revokes
        self.other_callers = other_callers  # ways in to reads besides the owner's login
        self.shared = World(client, owner)
        self.accounts = 0
        self.calls = 0
        self.failures: list[str] = []
        self.reached: set[tuple[str, str]] = set()

    def _fresh_account(self) -> Account:
        self.accounts += 1
        return create_account(self.client, f"walker{self.accounts}@example.org", "walker pass")

    def _ids(self, world: World, account: Account, path: str) -> dict[str, str]:
        ids = {param: self._fill(world, param) for param in _params(path)}
        ids["image_id"] = world.fill("image_id")
        if path == "/v1/people/{person_id}/merge":
            ids["other_person"] = make_person(self.client, world.account, name="Other")
        if path == "/v1/search":
            world.fill("space")
        return {**world.ids, **ids, "password": account.password}

    def _fill(self, world: World, param: str) -> str:
        return self.service_key_id if param == "service_key_id" else world.fill(param)

    def _prepare(
        self, method: str, path: str, ids: dict[str, str], headers: dict[str, str]
    ) -> None:
        """State a route acts on that a fresh resource lacks."""
        c = self.client
        if (method, path) == ("POST", "/v1/images/{image_id}/restore"):
            assert c.delete(f"/v1/images/{ids['image_id']}", headers=headers).is_success
        by_space = "{space}" in path or path.endswith("/duplicates")
        if "{image_id}" in path and by_space and method != "PUT":  # needs the image's vector
            url = f"/v1/images/{ids['image_id']}/embeddings/{ids['space']}"
            values = [0.5] * int(ids["space_dimension"])
            assert c.put(url, json={"values": values}, headers=headers).is_success

    def _extra(self, path: str, account: Account) -> dict[str, Any]:
        """The non-JSON bodies: the upload, and the login forms."""
        if path == "/v1/images":
            data = imagegen.make_jpeg(None, 64, 48, seed=self.calls)
            return {"files": {"file": ("walked.jpg", data, "image/jpeg")}, "data": {"tags": "a"}}
        if path == "/v1/auth/token":
            return {"data": {"username": account.email, "password": account.password}}
        if path == "/v1/auth/refresh":
            tokens = login(self.client, account.email, account.password)
            return {"data": {"refresh_token": tokens["refresh_token"]}}
        return {}

    def _callers(self, op: tuple[str, str], account: Account) -> list[dict[str, str]]:
        method, path = op
        if path.startswith("/v1/admin/"):
            return [self.admin.headers]
        if op in PUBLIC:
            return [{}]
        account_only = path.startswith(("/v1/users/me", "/v1/api-keys", "/v1/auth/"))
        if method != "GET" or account_only:
            return [account.headers]
        return [account.headers, *self.other_callers]

    def route(self, method: str, path: str) -> None:
        op = (method, path)
        operation = self.client.app.openapi()["paths"][path][method.lower()]  # type: ignore[attr-defined]
        for variant in QUERY_VARIANTS.get(op, [""]):
            account = self._fresh_account() if op in SESSION_ENDING else self.owner
            fresh = method == "DELETE" or account is not self.owner
            world = World(self.client, account) if fresh else self.shared
            callers = self._callers(op, account)
            ids = self._ids(world, account, path)
            self._prepare(method, path, ids, account.headers)
            query = [variant.lstrip("?")] if variant else []
            query += [f"{name}={self._fill(world, name)}" for name in _required_query(operation)]
            url = _url(path, ids) + (f"?{'&'.join(query)}" if query else "")
            kwargs = self._extra(path, account)
            if "requestBody" in operation and not kwargs:
                build = OWN_BODIES.get(op) or BODIES.get(op)
                if build is None:
                    self.failures.append(f"{method} {path}: add a valid body to OWN_BODIES")
                    continue
                kwargs = {"json": build(ids)}
            for headers in callers:
                self.calls += 1
                response = self.client.request(method, url, headers=headers, **kwargs)
                if response.is_success:
                    self.reached.add(op)
                else:
                    code, text = response.status_code, response.text[:200]
                    self.failures.append(f"{method} {url}: {code} {text}")


def test_no_route_does_file_or_database_work_on_the_event_loop(
    client: TestClient,
    alice: Account,
    loop_file_events: list[str],
    loop_database_calls: list[str],
) -> None:
    """Every route, called with a valid request (so each reaches its handler and answers
    2xx), raises no file event and makes no synchronous database call on the loop."""
    email, password = "root@example.org", "admin password"
    users = UserService(client.app.state.ctx)  # type: ignore[attr-defined]
    made = client.portal.call(functools.partial(users.create, email, password, Role.ADMIN))  # type: ignore[union-attr]
    admin = Account(
        made.id, email, password, bearer(login(client, email, password)["access_token"])
    )
    service = bearer(make_service_key(client, DATA_SCOPES, name="walk service"))
    make_service_key(client, ["images:read"], name="walk revoked")
    listed = client.get("/v1/admin/service-keys", headers=admin.headers).json()["items"]
    revoked = next(k["id"] for k in listed if k["name"] == "walk revoked")
    key = bearer(create_key(client, alice, DATA_SCOPES, name="walk key")[1])
    acting = {**service, "X-Photostore-User": str(alice.id)}
    walk = _Walk(client, alice, admin, revoked, [key, acting])

    operations = api_operations(client.app)  # type: ignore[arg-type]
    # Deletions last: they would take away what the other routes act on.
    for method, path in sorted(operations, key=lambda op: (op[0] == "DELETE", op)):
        walk.route(method, path)

    assert walk.failures == [], "routes the walk did not reach:\n" + "\n".join(walk.failures)
    assert walk.reached == set(operations)  # each answered 2xx: its handler ran
    first = "\n".join(loop_file_events[:3])
    assert loop_file_events == [], f"file work on the event loop:\n{first}"
    first = "\n".join(loop_database_calls[:3])
    assert loop_database_calls == [], f"synchronous database calls on the event loop:\n{first}"

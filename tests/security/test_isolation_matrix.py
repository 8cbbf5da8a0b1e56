"""The isolation matrix: every route with a path parameter, called by user B with user A's
ids, answers 404 (or an empty list) and never shows A's data.

The routes come from the application's own route table, so a new route joins the matrix
the moment it exists. A path parameter the matrix cannot fill, or a request body it
cannot build, fails the test and names what is missing: no route is left out silently.
Each route is called twice: by B's own login, and by a service key acting for B.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from photostore.app import create_app
from photostore.config import Settings
from tests.conftest import Account
from tests.routes import api_operations
from tests.security.conftest import create_key

# Where the other suites keep their one-of-each factories, tried in order.
FACTORY_MODULES = ("tests.library.factories", "tests.search.factories", "tests.search.library")

Ids = dict[str, str]
Body = Callable[[Ids], Any]

FACE = {"box": {"x": 0.1, "y": 0.1, "width": 0.2, "height": 0.2}, "score": 0.9, "model": "m"}

# Valid bodies, built from the *caller's own* ids, so a 404 can only mean "the path id is
# not yours", never "bad body".
BODIES: dict[tuple[str, str], Body] = {
    ("PATCH", "/v1/images/{image_id}"): lambda own: {"description": "mine now"},
    ("PUT", "/v1/images/{image_id}/analysis/{analyzer}"): lambda own: {
        "model_version": "2",
        "payload": {"objects": []},
    },
    ("PUT", "/v1/images/{image_id}/embeddings/{space}"): lambda own: {
        "values": [0.5] * int(own.get("space_dimension", "3"))
    },
    ("POST", "/v1/embedding-spaces/{space}/vectors"): lambda own: {
        "items": [
            {"image_id": own["image_id"], "values": [0.5] * int(own.get("space_dimension", "3"))}
        ]
    },
    ("POST", "/v1/images/{image_id}/faces"): lambda own: {"faces": [FACE]},
    ("PATCH", "/v1/faces/{face_id}"): lambda own: {"person_id": None},
    ("PATCH", "/v1/people/{person_id}"): lambda own: {"name": "mine now"},
    ("POST", "/v1/people/{person_id}/merge"): lambda own: {"person_ids": [own["person_id"]]},
    ("PATCH", "/v1/tags/{tag_id}"): lambda own: {"name": "mine-now"},
    ("POST", "/v1/tags/{tag_id}/images"): lambda own: {"image_ids": [own["image_id"]]},
    ("POST", "/v1/tags/{tag_id}/images/remove"): lambda own: {"image_ids": [own["image_id"]]},
    ("PATCH", "/v1/albums/{album_id}"): lambda own: {"name": "mine now"},
    ("POST", "/v1/albums/{album_id}/images"): lambda own: {"image_ids": [own["image_id"]]},
    ("POST", "/v1/images/batch"): lambda own: {
        "items": [{"id": own["image_id"], "favorite": True}]
    },
    ("POST", "/v1/images/trash"): lambda own: {"image_ids": [own["image_id"]]},
    ("POST", "/v1/analysis/batch"): lambda own: {
        "items": [
            {"image_id": own["image_id"], "analyzer": "batch", "model_version": "1", "payload": {}}
        ]
    },
    ("POST", "/v1/faces/batch"): lambda own: {
        "items": [{"image_id": own["image_id"], "faces": [FACE]}]
    },
    ("POST", "/v1/images/restore"): lambda own: {"image_ids": [own["image_id"]]},
    ("POST", "/v1/albums/{album_id}/images/remove"): lambda own: {"image_ids": [own["image_id"]]},
}

# Query strings that reach deeper code paths than the defaults.
QUERY_VARIANTS: dict[tuple[str, str], list[str]] = {
    ("DELETE", "/v1/images/{image_id}"): ["", "?purge=true"],
    ("GET", "/v1/images/{image_id}/thumbnail"): ["?size=small", "?size=preview"],
}

# Path parameters and the factory that makes one (function name in FACTORY_MODULES).
FACTORY_FOR_PARAM = {
    "image_id": "make_image",
    "face_id": "make_face",
    "person_id": "make_person",
    "tag_id": "make_tag",
    "album_id": "make_album",
    "analyzer": "make_analysis",
    "space": "make_space",
    "name": "make_space",
}


def _routes() -> list[tuple[str, str]]:
    app = create_app(Settings(environment="test", database_url="postgresql+psycopg://x@/y"))
    # Admin routes hold no user's data (service keys belong to no account) and answer 403
    # to every non-admin before an id is read (test_default_deny covers them).
    return [(m, p) for m, p in api_operations(app) if "{" in p and not p.startswith("/v1/admin/")]


ROUTES = _routes()


def _factory(name: str) -> Callable[..., Any] | None:
    for module_name in FACTORY_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        found: object = getattr(module, name, None)
        if callable(found):
            return found
    return None


def _params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


class World:
    """One of each resource of one account, made on demand through the API."""

    def __init__(self, client: TestClient, account: Account) -> None:
        self.client = client
        self.account = account
        self.ids: Ids = {}

    def fill(self, param: str) -> str:
        if param in self.ids:
            return self.ids[param]
        c, a = self.client, self.account
        if param == "key_id":
            self.ids[param] = str(create_key(c, a, ["images:read"])[0])
            return self.ids[param]
        factory_name = FACTORY_FOR_PARAM.get(param)
        factory = _factory(factory_name) if factory_name else None
        if factory is None:
            raise Missing(
                f"cannot fill the parameter {{{param}}}: add "
                f"{factory_name or 'a factory'}(client, account) to one of {FACTORY_MODULES} "
                "(and map it in FACTORY_FOR_PARAM)"
            )
        if param == "analyzer":
            factory(c, a, image_id=self.fill("image_id"), analyzer="detector")
            self.ids[param] = "detector"
        elif param == "face_id":
            self.ids[param] = str(factory(c, a, image_id=self.fill("image_id")))
        elif param in {"space", "name"}:
            made = factory(c, a)
            name, dimension = made if isinstance(made, tuple) else (made, 3)
            self.ids["space"] = self.ids["name"] = str(name)
            self.ids["space_dimension"] = str(dimension)
        else:
            self.ids[param] = str(factory(c, a))
        return self.ids[param]


def _url(path: str, ids: Ids) -> str:
    for param in _params(path):
        path = path.replace(f"{{{param}}}", ids[param])
    return path


def _leaks(response_text: str, foreign: Ids) -> list[str]:
    """A's ids that appear in a response body (outside the echoed request path)."""
    try:
        body = json.loads(response_text)
    except ValueError:
        body = response_text
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in {"instance"}}
    text = json.dumps(body)
    # Names (an analyzer, a space) are chosen by the caller and echoed in messages alike
    # whether or not another user has one of that name; ids are what must never show.
    names = {"analyzer", "space", "name", "space_dimension"}
    return [v for k, v in foreign.items() if k not in names and v in text]


def _required_query(operation: dict[str, Any]) -> list[str]:
    return [
        p["name"]
        for p in operation.get("parameters", [])
        if p.get("in") == "query" and p.get("required")
    ]


def _check_route(
    client: TestClient,
    method: str,
    path: str,
    a: World,
    b: World,
    callers: dict[str, dict[str, str]],
) -> list[str]:
    """The failures of one route (an empty list when it holds)."""
    operation = client.app.openapi()["paths"][path][method.lower()]  # type: ignore[attr-defined]
    foreign = {param: a.fill(param) for param in _params(path)}
    query_params = {name: a.fill(name) for name in _required_query(operation)}
    body: Any = None
    if "requestBody" in operation:
        build = BODIES.get((method, path))
        if build is None:
            raise Missing(
                f"{method} {path} takes a body: add a valid one to BODIES in {__name__}, "
                "so a 404 can only mean 'not yours'"
            )
        own_ids = {"image_id": b.fill("image_id")}
        if "person_id" in path:
            own_ids["person_id"] = b.fill("person_id")
        own_ids["space_dimension"] = a.ids.get("space_dimension", "3")
        body = build(own_ids)
    failures = []
    base_query = "&".join(f"{k}={v}" for k, v in query_params.items())
    for variant in QUERY_VARIANTS.get((method, path), [""]):
        query = "&".join(q for q in (variant.lstrip("?"), base_query) if q)
        url = _url(path, foreign) + (f"?{query}" if query else "")
        for who, headers in callers.items():
            response = client.request(method, url, headers=headers, json=body)
            case = f"{method} {url} as {who}"
            code = response.status_code
            problem = response.json() if code >= 400 else {}
            if code == 404 and problem["type"].endswith("/not-found"):
                pass
            elif code == 403 and who != "bob" and problem["type"].endswith("/forbidden"):
                pass  # account routes are closed to service keys before any id is read
            elif (
                code == 200
                and isinstance(response.json(), dict)
                and (response.json().get("items") == [])
            ):
                pass
            else:
                failures.append(f"{case}: {code} {response.text[:200]}")
            if _leaks(response.text, {**foreign, **query_params}):
                failures.append(f"{case}: leaked A's ids")
    return failures


class Missing(Exception):
    """The matrix cannot build a call of a route (a factory or a body is missing)."""


def test_another_users_ids_are_never_served(
    client: TestClient,
    alice: Account,
    bob: Account,
    service_headers: Callable[[Account], dict[str, str]],
) -> None:
    a, b = World(client, alice), World(client, bob)
    callers = {"bob": bob.headers, "service acting for bob": service_headers(bob)}
    failures: list[str] = []
    for method, path in ROUTES:
        try:
            failures.extend(_check_route(client, method, path, a, b, callers))
        except Missing as exc:
            failures.append(f"{method} {path}: {exc}")
    # A still has every resource, unchanged where we can read it back.
    mine = client.get(f"/v1/images/{a.fill('image_id')}", headers=alice.headers)
    assert mine.status_code == 200
    assert mine.json()["description"] != "mine now"
    assert mine.json()["trashed"] is False
    assert failures == [], "\n".join(failures)


def test_the_matrix_covers_every_route_with_a_path_parameter() -> None:
    cases = sum(len(QUERY_VARIANTS.get(r, [""])) * 2 for r in ROUTES)
    print(f"\nisolation matrix: {len(ROUTES)} routes x 2 callers = {cases} cases")
    assert ROUTES, "no routes with path parameters found"
    unknown = sorted(
        {p for _, path in ROUTES for p in _params(path)} - {*FACTORY_FOR_PARAM, "key_id"}
    )
    assert unknown == [], f"path parameters the matrix has no factory for: {unknown}"

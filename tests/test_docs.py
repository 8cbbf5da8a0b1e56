"""The documentation keeps up with the code: a setting, route or table without docs fails.

These tests build the application without starting it (the lifespan, which connects to
the database, does not run), so they need no PostgreSQL.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute

from photostore.app import create_app
from photostore.config import Settings
from photostore.db.models import Base

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", "TRACE"})


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _app() -> FastAPI:
    return create_app(Settings(environment="test", database_url="postgresql+psycopg://x@/y"))


def _routes(app: FastAPI) -> set[str]:
    """Every route of ``app`` as ``"METHOD /path"``, HEAD left out.

    Recent FastAPI versions keep included routers in ``app.routes`` as wrapper objects
    rather than as their ``APIRoute``s, so the OpenAPI document (which lists every
    operation, whatever the version) is read as well.
    """
    routes: set[str] = set()
    for route in app.routes:
        if isinstance(route, APIRoute):
            routes.update(
                f"{method} {route.path}" for method in (route.methods or set()) - {"HEAD"}
            )
    for path, operations in app.openapi()["paths"].items():
        routes.update(
            f"{method.upper()} {path}" for method in operations if method.upper() in HTTP_METHODS
        )
    return routes


def test_every_setting_is_documented_as_an_environment_variable() -> None:
    text = _read(DOCS / "configuration.md")
    missing = [
        f"PHOTOSTORE_{name.upper()}"
        for name in Settings.model_fields
        if not re.search(rf"\bPHOTOSTORE_{name.upper()}\b", text)
    ]
    assert missing == [], f"docs/configuration.md does not document {missing}"


def test_documented_boolean_and_number_defaults_are_the_code_s() -> None:
    # "| `PHOTOSTORE_NAME` | type | `default` ... |": only defaults written as one value.
    documented = dict(
        re.findall(
            r"^\| `PHOTOSTORE_(\w+)` \| [^|]+ \| `([^`]+)`", _read(DOCS / "configuration.md"), re.M
        )
    )
    checked, wrong = 0, []
    for name, field in Settings.model_fields.items():
        default, doc = field.default, documented.get(name.upper())
        if doc is None or not isinstance(default, bool | int | float):
            continue
        checked += 1
        same = doc == str(default).lower() if isinstance(default, bool) else float(doc) == default
        if not same:
            wrong.append(f"PHOTOSTORE_{name.upper()}: docs say {doc}, the code {default!r}")
    assert checked > 10  # the pattern still finds the table
    assert wrong == [], wrong


def test_every_route_is_documented_with_its_method_and_path() -> None:
    routes = _routes(_app())
    # Guard against a silent pass should route discovery ever find nothing.
    assert {"POST /v1/images", "GET /v1/images/{image_id}", "GET /healthz"} <= routes
    text = _read(DOCS / "api.md")
    missing = sorted(route for route in routes if f"`{route}`" not in text)
    assert missing == [], f"docs/api.md has no `METHOD /path` entry for {missing}"
    rows = {" ".join(m.groups()) for m in re.finditer(r"^\| (\w+) \| (/\S*) \|", text, re.M)}
    assert sorted(routes - rows) == [], "docs/api.md's table of routes lacks these"


def test_readme_names_the_serve_and_test_scripts() -> None:
    text = _read(ROOT / "README.md")
    assert "scripts/serve" in text
    assert "scripts/test" in text


def test_schema_doc_mentions_every_table() -> None:
    text = _read(DOCS / "schema.md")
    tables = Base.metadata.tables
    assert tables, "no tables found in photostore.db.models"
    missing = sorted(name for name in tables if not re.search(rf"\b{re.escape(name)}\b", text))
    assert missing == [], f"docs/schema.md does not mention the tables {missing}"

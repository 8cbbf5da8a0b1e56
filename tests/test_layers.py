"""The layers' import rules (docs/architecture.md): SQL lives in ``db/``, services take
and return domain types, and the API knows no database module.

A module still written the old way is named below until its aggregate moves behind a
repository; the lists may only shrink: a named module that obeys the rule fails the test
too, so the list always says what is left.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "photostore"

# Services that still write their statements themselves (to move behind db/repositories).
SERVICES_WITH_SQL = frozenset(
    {"embeddings",
     "search"}
)  # fmt: skip

_DATABASE_PACKAGES = ("sqlalchemy", "psycopg")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> dict[str, Path]:
    root = SOURCE / package
    return {
        path.relative_to(root).with_suffix("").as_posix(): path
        for path in sorted(root.rglob("*.py"))
        if path.name != "__init__.py"
    }


def _reaches(imports: set[str], packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for name in imports for p in packages)


@pytest.mark.parametrize("name", sorted(_modules("services")))
def test_services_write_no_sql(name: str) -> None:
    imports = _imports(_modules("services")[name])
    writes_sql = _reaches(imports, _DATABASE_PACKAGES) or "photostore.db.models" in imports
    if name in SERVICES_WITH_SQL:
        assert writes_sql, f"services/{name} is behind repositories now: strike it off the list"
    else:
        assert not writes_sql, f"services/{name} imports a database library or ORM models"


@pytest.mark.parametrize("name", sorted(_modules("api")))
def test_api_imports_no_database_module(name: str) -> None:
    reaches_db = _reaches(_imports(_modules("api")[name]), ("photostore.db", *_DATABASE_PACKAGES))
    assert not reaches_db, f"api/{name} imports a database module"


@pytest.mark.parametrize("name", [f"{p}/{m}" for p in ("crypto", "auth") for m in _modules(p)])
def test_keys_and_credentials_write_no_sql(name: str) -> None:
    # Data keys are read and made through db/repositories/data_keys.py like any other rows.
    package, module = name.split("/", 1)
    imports = _imports(_modules(package)[module])
    assert not _reaches(imports, _DATABASE_PACKAGES), f"{name} imports a database library"
    assert "photostore.db.models" not in imports, f"{name} imports ORM models"


def test_domain_types_hold_no_database_type() -> None:
    for name, path in _modules("domain").items():
        imports = _imports(path)
        assert not _reaches(imports, ("photostore.db", *_DATABASE_PACKAGES)), name

"""The layers' import rules (docs/architecture.md): SQL lives in ``db/``, services take
and return domain types, the search policies write no SQL, and the API knows no database
module.

Every module obeys them: no list of exceptions is kept.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "photostore"

_DATABASE_PACKAGES = ("sqlalchemy", "psycopg")
# The statement builders of the database libraries: pgvector's SQLAlchemy types included.
_STATEMENT_PACKAGES = (*_DATABASE_PACKAGES, "pgvector")
# The start of a statement in a string: a keyword in capitals and what it works on.
_SQL_TEXT = re.compile(
    r"\b(SELECT\s+\S|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|COPY\s*\(|"
    r"CREATE\s+INDEX|DROP\s+INDEX|WITH\s+\w+\s+AS|SET\s+\w+\s*=|set_config\()"
)


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


def _sql_strings(path: Path) -> list[str]:
    """The string constants of a module that read as SQL statements (docstrings aside)."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and _SQL_TEXT.search(node.value)
    ]


@pytest.mark.parametrize(
    "name", [f"{p}/{m}" for p in ("services", "transfer") for m in _modules(p)]
)
def test_services_write_no_sql(name: str) -> None:
    """The rules, and import and export (which are rules of their own), ask repositories."""
    package, module = name.split("/", 1)
    imports = _imports(_modules(package)[module])
    writes_sql = _reaches(imports, _DATABASE_PACKAGES) or "photostore.db.models" in imports
    assert not writes_sql, f"{name} imports a database library or ORM models"


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


@pytest.mark.parametrize("name", sorted(_modules("search")))
def test_search_policies_write_no_sql(name: str) -> None:
    """The planner, the cache, fusion and the rest choose; ``db/search`` holds their
    statements."""
    path = _modules("search")[name]
    assert not _reaches(_imports(path), _STATEMENT_PACKAGES), f"search/{name} builds statements"
    assert not _sql_strings(path), f"search/{name} writes SQL text"


def test_the_sql_text_check_finds_statements() -> None:
    """The check above would see the statements ``db/search`` holds."""
    found = [name for name, path in _modules("db/search").items() if _sql_strings(path)]
    assert {"reads", "indexes", "maintenance", "vectors"} <= set(found)


@pytest.mark.parametrize("name", sorted(_modules("db")))
def test_the_data_layer_knows_nothing_above_it(name: str) -> None:
    """``db/`` serves the layers above; importing one of them would make a cycle."""
    above = ("photostore.search", "photostore.services", "photostore.api")
    assert not _reaches(_imports(_modules("db")[name]), above), f"db/{name} imports a layer above"


@pytest.mark.parametrize("name", sorted(_modules("client")))
def test_the_client_imports_nothing_of_the_server(name: str) -> None:
    """``photostore.client`` runs in other services' processes: httpx2 and itself only."""
    imports = _imports(_modules("client")[name])
    server = sorted(n for n in imports if n.split(".")[0] in ("photostore", "fastapi", "pyvips"))
    assert [n for n in server if not n.startswith("photostore.client")] == [], name


def test_domain_types_hold_no_database_type() -> None:
    for name, path in _modules("domain").items():
        imports = _imports(path)
        assert not _reaches(imports, ("photostore.db", *_DATABASE_PACKAGES)), name

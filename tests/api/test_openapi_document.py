"""The OpenAPI document says what the server really answers, by construction for every
route: unique operation ids and schema names, errors as the problem document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from photostore.app import create_app
from photostore.config import Settings

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _document(tmp_path: Path) -> dict[str, Any]:
    settings = Settings(environment="test", data_dir=tmp_path, database_url="postgresql://")
    return create_app(settings).openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_operation_ids_are_route_names_and_unique(tmp_path: Path) -> None:
    ids = [op["operationId"] for _, _, op in _operations(_document(tmp_path))]
    assert len(ids) == len(set(ids)) > 50
    assert "upload_image" in ids and "search" in ids
    assert all(name.isidentifier() and "_v1_" not in name for name in ids)


def test_no_schema_name_is_a_module_path_and_fastapis_422_shape_is_gone(tmp_path: Path) -> None:
    schemas = _document(tmp_path)["components"]["schemas"]
    assert not [name for name in schemas if "__" in name]
    assert "HTTPValidationError" not in schemas and "Problem" in schemas
    assert {"type", "title", "status", "detail", "instance", "request_id"} <= set(
        schemas["Problem"]["required"]
    )


def test_every_error_answer_is_a_problem_document(tmp_path: Path) -> None:
    document = _document(tmp_path)
    for method, path, operation in _operations(document):
        answers = operation["responses"]
        assert "400" in answers and "503" in answers, (method, path)
        assert "Retry-After" in answers["503"]["headers"]
        for status, answer in answers.items():
            if int(status) >= 400:
                content = answer["content"]
                assert content == {"application/problem+json": {"schema": PROBLEM}}, (
                    method,
                    path,
                    status,
                )
        if "{" in path:
            assert "404" in answers, (method, path)
        if operation.get("security"):
            assert "401" in answers, (method, path)


def test_the_required_permission_is_declared(tmp_path: Path) -> None:
    upload = _document(tmp_path)["paths"]["/v1/images"]["post"]
    assert upload["x-required-permission"] == "images:write"
    assert "403" in upload["responses"] and "507" in upload["responses"]
    assert upload["description"].endswith("Requires the `images:write` permission.")

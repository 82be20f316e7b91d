"""The operation registry: the real documents load; anything ambiguous or invalid stops start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.admin.errors import OperationNotAllowed
from service.admin.operations import OPERATOR_ONLY, InvalidOperationDocument, OperationRegistry
from service.paths import ADMIN_OPERATIONS_DIR

JOB = "query Job($id: ID!) {\n  job(id: $id) {\n    id\n    done\n  }\n}\n"


def write(directory: Path, name: str, document: str) -> Path:
    path = directory / f"{name}.graphql"
    path.write_text(document, encoding="utf-8")
    return path


def test_registry_loads_every_real_operation_document_but_the_operators() -> None:
    registry = OperationRegistry.load()

    expected = {path.stem for path in ADMIN_OPERATIONS_DIR.glob("*.graphql")} - OPERATOR_ONLY
    assert registry.names == expected
    assert "OrderLookup" in registry.names


def test_registry_marks_mutations() -> None:
    registry = OperationRegistry.load()

    assert registry.get("OrderCancel").is_mutation
    assert not registry.get("OrderLookup").is_mutation


def test_operation_document_is_the_file_text() -> None:
    registry = OperationRegistry.load()

    expected = (ADMIN_OPERATIONS_DIR / "Job.graphql").read_text(encoding="utf-8")
    assert registry.get("Job").document == expected


def test_unknown_operation_name_is_not_allowed() -> None:
    registry = OperationRegistry.load()

    with pytest.raises(OperationNotAllowed):
        registry.get("productDelete")


def test_registry_accepts_a_valid_directory(tmp_path: Path) -> None:
    write(tmp_path, "Job", JOB)

    assert OperationRegistry.load(tmp_path).names == {"Job"}


def test_document_that_does_not_parse_is_rejected(tmp_path: Path) -> None:
    write(tmp_path, "Job", "query Job($id: ID!) { job(id: $id) { id ")

    with pytest.raises(InvalidOperationDocument, match=r"Job\.graphql"):
        OperationRegistry.load(tmp_path)


def test_document_with_a_field_outside_the_slice_is_rejected(tmp_path: Path) -> None:
    write(tmp_path, "Job", "query Job($id: ID!) { job(id: $id) { id query } }")

    with pytest.raises(InvalidOperationDocument, match=r"Job\.graphql"):
        OperationRegistry.load(tmp_path)


def test_two_operations_in_one_file_are_rejected(tmp_path: Path) -> None:
    write(tmp_path, "Job", JOB + "query Other($id: ID!) { job(id: $id) { done } }\n")

    with pytest.raises(InvalidOperationDocument, match="exactly one"):
        OperationRegistry.load(tmp_path)


def test_operation_named_unlike_its_file_is_rejected(tmp_path: Path) -> None:
    write(tmp_path, "JobStatus", JOB)

    with pytest.raises(InvalidOperationDocument, match="must be named JobStatus"):
        OperationRegistry.load(tmp_path)


def test_anonymous_operation_is_rejected(tmp_path: Path) -> None:
    write(tmp_path, "Job", "query ($id: ID!) { job(id: $id) { id } }")

    with pytest.raises(InvalidOperationDocument, match="must be named Job"):
        OperationRegistry.load(tmp_path)


def test_empty_directory_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidOperationDocument, match="no operation documents"):
        OperationRegistry.load(tmp_path)

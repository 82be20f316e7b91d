"""Every Admin document we send is judged by Shopify's real schema, not only by our slice."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import graphql
import pytest
from graphql import GraphQLSchema

from service.admin.operations import OPERATOR_ONLY, OperationRegistry
from service.paths import ADMIN_OPERATIONS_DIR, ADMIN_SLICE
from tests.conftest import REAL_ADMIN_SCHEMA

DOCUMENTS = sorted(ADMIN_OPERATIONS_DIR.glob("*.graphql"))
ALLOWED_MUTATIONS = {"orderCancel", "tagsAdd", "metafieldsSet", "fulfillmentOrderHold"}
# CONTRACT §3: from the operator's CLI only, so never in the registry the service runs with.
OPERATOR_MUTATIONS = {"webhookSubscriptionCreate"}


@cache
def real_schema() -> GraphQLSchema:
    assert REAL_ADMIN_SCHEMA.is_file(), f"Shopify's schema is expected at {REAL_ADMIN_SCHEMA}"
    document = json.loads(REAL_ADMIN_SCHEMA.read_text(encoding="utf-8"))
    return graphql.build_client_schema(document["data"], assume_valid=True)


@cache
def slice_schema() -> GraphQLSchema:
    return graphql.build_schema(ADMIN_SLICE.read_text(encoding="utf-8"))


def operations(path: Path) -> list[graphql.OperationDefinitionNode]:
    document = graphql.parse(path.read_text(encoding="utf-8"))
    return [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]


def test_there_are_admin_documents() -> None:
    assert {path.stem for path in DOCUMENTS} >= {
        "OrderLookup",
        "OrderLookupWithoutProductTags",
        "OrderCancel",
        "Job",
        "WebhookSubscriptionCreate",
        "WebhookSubscriptions",
    }


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.stem)
def test_document_holds_one_operation_named_like_its_file(path: Path) -> None:
    found = operations(path)
    assert len(found) == 1
    assert found[0].name is not None
    assert found[0].name.value == path.stem


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.stem)
def test_document_validates_against_the_slice(path: Path) -> None:
    errors = graphql.validate(slice_schema(), graphql.parse(path.read_text(encoding="utf-8")))
    assert errors == []


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.stem)
def test_document_validates_against_shopifys_real_schema(path: Path) -> None:
    errors = graphql.validate(real_schema(), graphql.parse(path.read_text(encoding="utf-8")))
    assert errors == []


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.stem)
def test_mutations_are_only_the_allowed_effects(path: Path) -> None:
    (operation,) = operations(path)
    if operation.operation is not graphql.OperationType.MUTATION:
        return
    fields = {
        selection.name.value
        for selection in operation.selection_set.selections
        if isinstance(selection, graphql.FieldNode)
    }
    if path.stem in OPERATOR_ONLY:
        assert fields <= OPERATOR_MUTATIONS
    else:
        assert fields <= ALLOWED_MUTATIONS


def test_operator_mutations_are_left_out_of_the_services_registry() -> None:
    service = OperationRegistry.load()
    for path in DOCUMENTS:
        (operation,) = operations(path)
        fields = {
            selection.name.value
            for selection in operation.selection_set.selections
            if isinstance(selection, graphql.FieldNode)
        }
        if fields & OPERATOR_MUTATIONS:
            assert path.stem in OPERATOR_ONLY
            assert path.stem not in service.names


def _type_fields(named: graphql.GraphQLNamedType) -> dict[str, str]:
    if isinstance(named, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
        return {
            f"{name}({', '.join(f'{a}: {arg.type}' for a, arg in field.args.items())})": str(
                field.type
            )
            for name, field in named.fields.items()
        }
    if isinstance(named, graphql.GraphQLInputObjectType):
        return {name: str(field.type) for name, field in named.fields.items()}
    if isinstance(named, graphql.GraphQLEnumType):
        return dict.fromkeys(named.values, "")
    return {}


def test_every_slice_member_exists_in_the_real_schema_with_the_same_type() -> None:
    real = real_schema()
    for name, named in slice_schema().type_map.items():
        if name.startswith("__"):
            continue
        assert name in real.type_map, f"{name} is not in Shopify's schema"
        real_members = _type_fields(real.type_map[name])
        for member, member_type in _type_fields(named).items():
            assert real_members.get(member) == member_type, f"{name}.{member} differs"


def test_slice_roots_are_shopifys_roots() -> None:
    schema = slice_schema()
    assert schema.query_type is not None
    assert schema.query_type.name == real_schema().query_type.name  # type: ignore[union-attr]
    assert schema.mutation_type is not None
    assert schema.mutation_type.name == real_schema().mutation_type.name  # type: ignore[union-attr]

"""The order lookup's requested cost may shrink, never grow: every point of it is reserved from
the shop's Admin budget (100 points a second on Shopify's standard plan) on every cache miss."""

from __future__ import annotations

import graphql

from service.paths import ADMIN_OPERATIONS_DIR, ADMIN_SLICE
from service.sandbox.cost import CostCalculator

# Today's requested cost of OrderLookup.graphql, computed as the sandbox (and Shopify's
# documented rules) compute it. When a change lowers it, lower this number with it so the
# saving is kept. Raise it only on purpose, in the commit that makes the document dearer,
# saying why the extra points are worth it.
ORDER_LOOKUP_REQUESTED_COST = 126
# The same without the line items' product tags, for a policy that names no non-cancellable
# tags (issue 15).
ORDER_LOOKUP_WITHOUT_PRODUCT_TAGS_REQUESTED_COST = 76


def requested_cost(operation: str, variables: dict[str, object]) -> int:
    """The requested cost of a stored Admin operation document."""
    schema = graphql.build_schema(ADMIN_SLICE.read_text(encoding="utf-8"))
    document = graphql.parse((ADMIN_OPERATIONS_DIR / f"{operation}.graphql").read_text("utf-8"))
    (definition,) = document.definitions
    assert isinstance(definition, graphql.OperationDefinitionNode)
    coerced = graphql.execution.values.get_variable_values(
        schema, definition.variable_definitions or (), variables
    )
    assert not isinstance(coerced, list), coerced
    assert schema.query_type is not None
    calculator = CostCalculator(
        operation=definition, root=schema.query_type, fragments={}, variables=coerced
    )
    return calculator.requested()


def test_order_lookup_requested_cost_does_not_grow() -> None:
    cost = requested_cost("OrderLookup", {"query": "name:'#1001'"})

    assert cost <= ORDER_LOOKUP_REQUESTED_COST, (
        f"OrderLookup now requests {cost} points, more than {ORDER_LOOKUP_REQUESTED_COST}"
    )


def test_order_lookup_without_product_tags_requested_cost_does_not_grow() -> None:
    cost = requested_cost("OrderLookupWithoutProductTags", {"query": "name:'#1001'"})

    assert cost <= ORDER_LOOKUP_WITHOUT_PRODUCT_TAGS_REQUESTED_COST, (
        f"OrderLookupWithoutProductTags now requests {cost} points, "
        f"more than {ORDER_LOOKUP_WITHOUT_PRODUCT_TAGS_REQUESTED_COST}"
    )


def test_leaving_product_tags_out_saves_a_point_per_line_item() -> None:
    full = requested_cost("OrderLookup", {"query": "name:'#1001'"})
    lean = requested_cost("OrderLookupWithoutProductTags", {"query": "name:'#1001'"})

    assert full - lean == 50  # the product of each of fifty line items
